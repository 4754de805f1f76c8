"""The page: components and their wiring, nothing else."""

from __future__ import annotations

import gradio as gr
from gradio import media as bundled

from ..app.config import Settings, load_settings
from ..app.services import Services
from .account import AccountHandlers
from .components import PhotoInput
from .context import UIContext
from .generate import GenerateHandlers
from .lab import LabHandlers
from .mcp import McpTool
from .present import keys_note, provider_choices

__all__ = ["build_demo"]

#: Official TTS voices for the Kling family (any other id can be typed).
VOICES = ["oversea_male1", "genshin_vindi2", "genshin_klee2", "genshin_kirara", "chinese_female1"]
EPHEMERAL_NOTE = ("**This Space has no storage bucket at /data, so history and videos are lost when it restarts.** "
                  "Its owner can mount one (`python -m avatar_demo deploy OWNER/NAME --volume BUCKET:/data`).")


def build_demo(settings: Settings | None = None, *, services: Services | None = None) -> gr.Blocks:
    """Build the Blocks app; its Services are kept on `demo.services`."""
    services = services or Services(settings or load_settings())
    settings = services.settings
    ui = UIContext(services)
    max_s = min(settings.max_audio_s, 300.0)

    with gr.Blocks(title="Avatar Demo · Kling Avatar", delete_cache=(3600, 24 * 3600)) as demo:
        owner = gr.BrowserState("", storage_key="avatar-demo-owner", secret=services.keys.state_secret)
        current = gr.State(None)
        with gr.Row():
            gr.Markdown("# Avatar Demo\nA portrait photo and a voice clip in, a **Kling Avatar** talking video out.")
            if settings.oauth:
                gr.LoginButton()
        allowance = gr.Markdown(elem_id="allowance", visible=settings.public)
        note = keys_note(settings)
        gr.Markdown(note, visible=bool(note), elem_id="keys-note")
        gr.Markdown(EPHEMERAL_NOTE, visible=settings.ephemeral, elem_id="storage-note")

        with gr.Tab("Generate"):
            with gr.Row():
                with gr.Column():
                    image = PhotoInput(elem_id="portrait", label="Portrait photo (jpg, png, heic, webp…; fixed up "
                                       "automatically)", type="filepath", image_mode=None,
                                       sources=["upload", "webcam", "clipboard"], height=320)
                    audio = gr.Audio(elem_id="voice", label="Voice clip (upload or record)",
                                     sources=["upload", "microphone"], type="filepath")
                    with gr.Row():
                        start = gr.Number(0, label="Start at (s)", minimum=0, precision=1)
                        length = gr.Slider(2, max_s, value=max_s, step=0.5, label="Length (s)")
                    window = gr.Markdown(elem_id="window")
                    with gr.Accordion("…or text to speech (Kling, CometAPI, KKIAI)", open=False):
                        tts_text = gr.Textbox(label="Text to speak", lines=2, max_length=1000)
                        with gr.Row():
                            voice = gr.Dropdown(VOICES, value=VOICES[0], label="Voice id", allow_custom_value=True)
                            language = gr.Radio(["en", "zh"], value="en", label="Language")
                            speed = gr.Slider(0.8, 2.0, value=1.0, step=0.1, label="Speed")
                        tts_button = gr.Button("Make speech")
                        audio_id = gr.Textbox("", label="Audio id (used instead of the clip when set)")
                        tts_note = gr.Markdown()
                    prompt = gr.Textbox("", label="Prompt (optional): actions, emotions, camera", lines=3,
                                        max_length=2500)
                    count = gr.Markdown(GenerateHandlers.prompt_count(""), elem_id="prompt-count")
                    with gr.Row():
                        mode = gr.Radio(["std", "pro"], value="std", label="Mode (pro: 1080p, twice the price)")
                        provider = gr.Dropdown(provider_choices(settings), value=settings.default_provider,
                                               label="Provider")
                    with gr.Accordion("Your own API key", open=False):
                        api_key = gr.Textbox("", label="API key", type="password", placeholder="used for this request only",
                                             info="Never stored or logged. For Kling JWT auth enter ACCESS_KEY:SECRET_KEY.")
                    with gr.Accordion("Advanced", open=False):
                        watermark = gr.Checkbox(False, label="Also make a watermarked copy (Kling)")
                        callback_url = gr.Textbox("", label="Callback URL (the gateway calls it on every status change)")
                        external_task_id = gr.Textbox("", label="External task id (unique per account; one is made for you)")
                    with gr.Row():
                        go = gr.Button("Generate", variant="primary")
                        stop = gr.Button("Cancel", variant="stop")
                with gr.Column():
                    status = gr.Markdown("Ready.", elem_id="status")
                    changes = gr.Markdown(elem_id="changes")
                    video = gr.Video(label="Result", buttons=["download"], elem_id="result")
            gr.Examples(
                examples=[[bundled.get_image("groot.jpeg"), bundled.get_audio("cate_blanch.mp3"),
                           "Speaking warmly, a slow nod, camera slowly pushes in"],
                          [bundled.get_image("cheetah1.jpg"), bundled.get_audio("audio_sample.wav"),
                           "A short greeting with a smile"]],
                inputs=[image, audio, prompt], cache_examples=False,
                example_labels=["Portrait and speech", "Small photo and 1 s clip (fixed automatically)"],
            )

        with gr.Tab("Prompt lab"):
            gr.Markdown("Runs several prompts (one per line) and/or both modes on the **photo and voice of the Generate "
                        "tab**, prepared once. The total estimate is shown before anything is sent.")
            prompts = gr.Textbox("", label="Prompts, one per line", lines=4)
            modes = gr.CheckboxGroup(["std", "pro"], value=["std"], label="Modes")
            plan = gr.Markdown(elem_id="lab-plan")
            lab_go = gr.Button("Run all", variant="primary")
            lab_status = gr.Markdown(elem_id="lab-status")
            gallery = gr.Gallery(label="Results", columns=3, height="auto")

        with gr.Tab("History"):
            refresh = gr.Button("Refresh")
            history = gr.HTML(elem_classes=["history"], elem_id="history")

        on = GenerateHandlers(ui, status=status, changes=changes, video=video, history=history, current=current)
        lab = LabHandlers(ui, on, status=lab_status, gallery=gallery)
        account = AccountHandlers(ui)
        hidden = {"api_visibility": "private", "show_progress": "hidden"}

        prompt.change(on.prompt_count, prompt, count, queue=False, **hidden)
        for trigger in (audio.change, start.change, length.change, provider.change, mode.change, api_key.change):
            trigger(on.window, [audio, start, length, provider, mode, api_key], window, concurrency_limit=None,
                    **hidden)
        for trigger in (prompts.change, modes.change, provider.change, audio.change):
            trigger(lab.summary, [prompts, modes, provider, audio, start, length, api_key], plan,
                    concurrency_limit=None, **hidden)
        image.upload(on.check_photo, image, status, concurrency_limit=None, **hidden)
        tts_button.click(account.speak, [tts_text, voice, language, speed, provider, api_key], [audio_id, tts_note],
                         api_visibility="private").then(account.allowance, None, allowance, **hidden)
        # Waiting on a gateway holds no slot: only preparation is bounded (AVATAR_CONCURRENCY, by the cores).
        run = go.click(
            on.generate,
            [image, audio, prompt, mode, provider, start, length, audio_id, api_key, watermark, callback_url,
             external_task_id, owner],
            on.outputs, api_name="generate", concurrency_limit=None, show_progress_on=[video],
        )
        run.then(account.allowance, None, allowance, **hidden)
        stop.click(on.cancel, current, status, cancels=[run], queue=False, api_visibility="private")
        lab_go.click(lab.lab, [image, audio, prompts, modes, provider, start, length, api_key, owner],
                     [lab_status, gallery], api_name="lab", concurrency_limit=None,
                     ).then(account.allowance, None, allowance, **hidden)
        refresh.click(account.history, owner, history, queue=False, **hidden)
        demo.load(account.load, owner, [owner, history], queue=False, **hidden).then(
            account.allowance, None, allowance, **hidden).then(
            account.resume, owner, history, concurrency_limit=None, **hidden).then(
            on.window, [audio, start, length, provider, mode, api_key], window, **hidden)
        if settings.mcp:
            McpTool(ui).register()

    demo.queue(max_size=settings.queue_size, api_open=False)
    demo.services = services  # type: ignore[attr-defined]
    return demo
