"""The app as an MCP tool: one tool that makes a talking-avatar video, behaving exactly like /generate.

Gradio's MCP server turns every public endpoint into a tool; this app offers exactly one, so after
launch the server's tool list is narrowed to it (`expose_only`).
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from .. import providers
from ..core.text import Text
from ..jobs import Failed, Succeeded, Unresolved
from ..jobs.plan import JobInput
from .components import PhotoInput
from .context import UIContext, as_refusal, refusal, scrub

__all__ = ["TOOL", "McpTool", "expose_only"]

#: The tool's name, and the API name of the endpoint behind it.
TOOL = "make_avatar_video"


class McpTool:
    """Hidden components and a hidden trigger give the tool real file inputs (URLs or files) and a video output."""

    def __init__(self, ui: UIContext) -> None:
        self.ui = ui

    def register(self) -> None:
        """Add the tool's endpoint to the Blocks being built."""
        with gr.Group(visible=False):
            image = PhotoInput(type="filepath", image_mode=None, label="image")
            audio = gr.Audio(type="filepath", label="audio")
            prompt = gr.Textbox("", label="prompt")
            mode = gr.Textbox("std", label="mode")
            provider = gr.Textbox("", label="provider")
            api_key = gr.Textbox("", label="api_key", type="password")
            allow_no_face = gr.Checkbox(False, label="allow_no_face")
            video = gr.Video(label="video")
            trigger = gr.Button()
        trigger.click(self.make_avatar_video, [image, audio, prompt, mode, provider, api_key, allow_no_face], video,
                      api_name=TOOL, concurrency_limit=None)

    async def make_avatar_video(self, image: str, audio: str, prompt: str = "", mode: str = "std",
                                provider: str = "", api_key: str = "", allow_no_face: bool = False,
                                request: gr.Request = None) -> str:  # type: ignore[assignment]
        """Make a talking-avatar video: a portrait photo speaks a voice clip, animated by the Kling Avatar model.

        Args:
            image: The portrait photo (JPEG, PNG, WebP, HEIC…), as an http(s) URL or a file.
            audio: The voice clip (mp3, wav, m4a, ogg…), as an http(s) URL or a file; up to 60 s of it is used.
            prompt: Optional directions: actions, emotions, camera.
            mode: "std" (720p) or "pro" (1080p, about twice the price).
            provider: The gateway to use, one of: {providers}; empty for the app's default.
            api_key: Your own key for that gateway (optional; used for this call only, never stored).
            allow_no_face: Send to a paid gateway even when no face, or several faces, are found on the photo
                (cartoon or animal faces are often missed); by default such a photo is refused before anything is paid.
        Returns:
            The talking-avatar video (MP4).
        """
        key = (api_key or "").strip() or None
        try:
            started = await self.ui.generations.start(
                self.ui.visitor(request), provider or self.ui.settings.default_provider,
                JobInput(image=image, audio=audio, prompt=prompt or "", mode=mode or "std",
                         allow_no_face=bool(allow_no_face)), user_key=key)
        except Exception as exc:  # noqa: BLE001 - nothing was sent: our refusal, or a bug told in words
            raise refusal(as_refusal(exc, key), key) from None
        async for event in self.ui.services.runs.watch(started.row):
            if isinstance(event, Succeeded):
                return str(event.video_path)
            if isinstance(event, (Failed, Unresolved)):
                raise refusal(scrub(str(event.reason), key), title="ui.title.no_video")
        raise refusal(Text("mcp.no_result"), title="ui.title.no_video")


# The registry knows the providers; the tool's description lists them for the agent that calls it.
McpTool.make_avatar_video.__doc__ = (McpTool.make_avatar_video.__doc__ or "").replace(
    "{providers}", ", ".join(providers.names()))


def expose_only(demo: gr.Blocks, tool: str = TOOL) -> None:
    """Narrow Gradio's MCP server to the one tool (it would list /generate and /lab as tools too)."""
    server: Any = getattr(demo, "mcp_server_obj", None)
    if server is None:
        return
    server.tool_to_endpoint = {name: endpoint for name, endpoint in server.tool_to_endpoint.items()
                               if endpoint.lstrip("/") == tool}
