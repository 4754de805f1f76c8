"""The Gradio app: the page, its handlers, the MCP tool, and how it is launched."""

from .launch import launch, launch_options, main
from .layout import build_demo

__all__ = ["build_demo", "launch", "launch_options", "main"]
