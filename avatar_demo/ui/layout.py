"""The page: components and their wiring, nothing else."""

from __future__ import annotations

import gradio as gr
from gradio import media as bundled

from ..config import Settings, load_settings
from .handlers import Handlers
from .present import keys_note, provider_choices
from .service import AppService

__all__ = ["build_demo", "launch_options"]

CSS = """
.history table { width: 100%; border-collapse: collapse; }
.history td, .history th { padding: 4px 8px; border-bottom: 1px solid var(--border-color-primary); vertical-align: top; }
"""
#: Official TTS voices for the Kling family (any other id can be typed).
VOICES = ["oversea_male1", "genshin_vindi2", "genshin_klee2", "genshin_kirara", "chinese_female1"]


def build_demo(settings: Settings | None = None) -> gr.Blocks:
    """Build the Blocks app; the AppService is kept on `demo.service`."""
    settings = settings or load_settings()
    service = AppService(settings)
    on = Handlers(service)
    max_s = settings.max_audio_s

    with gr.Blocks(title="Avatar Demo · Kling Avatar", delete_cache=(3600, 24 * 3600)) as demo:
        owner = gr.BrowserState("", storage_key="avatar-demo-owner", secret=service.state_secret)
        current = gr.State(None)
        gr.Markdown("# Avatar Demo\nA portrait photo and a voice clip in, a **Kling Avatar** talking video out.")
        note = keys_note(settings)
        gr.Markdown(note, visible=bool(note), elem_id="keys-note")

        with gr.Tab("Generate"):
            with gr.Row():
                with gr.Column():
                    image = gr.Image(elem_id="portrait", label="Portrait photo (jpg, png, webp…; fixed up automatically)", type="filepath",
                                     sources=["upload", "webcam", "clipboard"], height=320)
                    audio = gr.Audio(elem_id="voice", label="Voice clip (upload or record)", sources=["upload", "microphone"], type="filepath")
                    with gr.Row():
                        start = gr.Number(0, label="Start at (s)", minimum=0, precision=1)
                        length = gr.Slider(2, max_s, value=max_s, step=0.5, label="Length (s)")
                    window = gr.Markdown(on.window(None, 0, max_s, settings.default_provider, "std"), elem_id="window")
                    with gr.Accordion("…or text to speech (Kling, CometAPI, KKIAI)", open=False):
                        tts_text = gr.Textbox(label="Text to speak", lines=2, max_length=1000)
                        with gr.Row():
                            voice = gr.Dropdown(VOICES, value=VOICES[0], label="Voice id", allow_custom_value=True)
                            language = gr.Radio(["en", "zh"], value="en", label="Language")
                            speed = gr.Slider(0.8, 2.0, value=1.0, step=0.1, label="Speed")
                        tts_button = gr.Button("Make speech")
                        audio_id = gr.Textbox("", label="Audio id (used instead of the clip when set)")
                        tts_note = gr.Markdown()
                    prompt = gr.Textbox("", label="Prompt (optional): actions, emotions, camera", lines=3, max_length=2500)
                    count = gr.Markdown(on.prompt_count(""), elem_id="prompt-count")
                    with gr.Row():
                        mode = gr.Radio(["std", "pro"], value="std", label="Mode (pro: 1080p, twice the price)")
                        provider = gr.Dropdown(provider_choices(settings), value=settings.default_provider, label="Provider")
                    with gr.Accordion("Your own API key", open=False):
                        api_key = gr.Textbox("", label="API key", type="password", placeholder="used for this request only",
                                             info="Never stored or logged. For Kling JWT auth enter ACCESS_KEY:SECRET_KEY.")
                    with gr.Accordion("Advanced", open=False):
                        watermark = gr.Checkbox(False, label="Also make a watermarked copy (Kling)")
                        callback_url = gr.Textbox("", label="Callback URL (gateway notifies it on every status change)")
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

        # -- wiring ---------------------------------------------------------------------------------
        hidden = {"api_visibility": "private", "show_progress": "hidden"}
        prompt.change(on.prompt_count, prompt, count, queue=False, **hidden)
        for trigger in (audio.change, start.change, length.change, provider.change, mode.change):
            trigger(on.window, [audio, start, length, provider, mode], window, concurrency_limit=None, **hidden)
        for trigger in (prompts.change, modes.change, provider.change, audio.change):
            trigger(on.lab_summary, [prompts, modes, provider, audio, start, length], plan,
                    concurrency_limit=None, **hidden)
        tts_button.click(on.tts, [tts_text, voice, language, speed, provider, api_key], [audio_id, tts_note],
                         api_visibility="private")
        run = go.click(
            on.generate,
            [image, audio, prompt, mode, provider, start, length, audio_id, api_key, watermark, callback_url,
             external_task_id, owner],
            [status, changes, video, history, current],
            api_name="generate", concurrency_limit=settings.concurrency, concurrency_id="generate",
            show_progress_on=[video],
        )
        stop.click(on.cancel, current, status, cancels=[run], queue=False, api_visibility="private")
        lab_go.click(on.lab, [image, audio, prompts, modes, provider, start, length, api_key, owner],
                     [lab_status, gallery], api_name="lab", concurrency_limit=settings.concurrency,
                     concurrency_id="generate")
        refresh.click(on.history, owner, history, queue=False, **hidden)
        demo.load(on.load, owner, [owner, history], queue=False, **hidden).then(
            on.resume, owner, history, concurrency_limit=None, **hidden)

    demo.queue(max_size=settings.queue_size)
    demo.service = service  # type: ignore[attr-defined]
    return demo


def launch_options(demo: gr.Blocks) -> dict:
    """Keyword arguments for demo.launch(): styling, served folders, limits, no run history, the callback route."""
    service: AppService = demo.service  # type: ignore[attr-defined]
    return {
        "theme": gr.themes.Soft(),
        "css": CSS,
        "allowed_paths": service.served_dirs,
        "max_file_size": "50mb",
        # Run history would store every input of a public event, including a pasted key.
        "run_history": False,
        # Gradio runs at most max_threads jobs at once across all events (default 40), whatever the
        # per-event limits say; leave room above AVATAR_CONCURRENCY for resumes and small events.
        "max_threads": max(40, 2 * service.settings.concurrency),
        # Gateways' status callbacks land here and wake the runner following that task.
        "app_kwargs": {"routes": [service.callbacks.route()]},
    }
