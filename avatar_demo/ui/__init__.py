"""The Gradio app: the page, its handlers, the MCP tool, and how it is launched."""

from ..errors import ConfigError
from ..media.ffmpeg import expose_ffmpeg_on_path

try:
    # Before Gradio is imported: it looks for a program called `ffmpeg` on PATH, and the wheel's
    # binary has a versioned name. Without any ffmpeg, preparing media says so in its own words.
    expose_ffmpeg_on_path()
except ConfigError:
    pass

from .launch import launch, launch_options, main  # noqa: E402
from .layout import build_demo  # noqa: E402

__all__ = ["build_demo", "launch", "launch_options", "main"]
