"""The Gradio app: the page, its handlers, the MCP tool, and how it is launched.

It owns the components and their wiring (layout), one handler class per tab (generate, lab, account),
what the page says (present), per-request helpers and readable refusals (context), the MCP tool (mcp)
and launching (launch). It may import `app` and everything below it; it is the only package that
imports Gradio, and it never talks to a gateway itself.
"""

from .launch import launch, launch_options, main
from .layout import build_demo

__all__ = ["build_demo", "launch", "launch_options", "main"]
