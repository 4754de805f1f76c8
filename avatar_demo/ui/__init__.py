"""The Gradio app: layout, handlers and the service behind them."""

from .layout import build_demo, launch_options

__all__ = ["build_demo", "launch_options"]
