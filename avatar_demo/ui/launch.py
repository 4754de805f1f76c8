"""Launching the app: its arguments, Gradio's launch options, and one clear line when it cannot start."""

from __future__ import annotations

import argparse
import functools
import logging
import signal
import os
import sys
from collections.abc import Sequence
from typing import Any

import gradio as gr
import stamina
from starlette.middleware import Middleware

from ..app.config import load_settings
from ..core.errors import ConfigError
from ..media import settle_environment
from ..policy import UploadLimiter
from ..web.replica import ReplicaHeader
from .examples import EXAMPLE_FILES
from .i18n import I18N
from .layout import build_demo
from .mcp import expose_only
from .style import CSS

__all__ = ["launch", "launch_options", "main"]

log = logging.getLogger(__name__)

#: The largest upload, and in public mode the largest body of any request to Gradio's API.
MAX_UPLOAD_MB = 50

def launch_options(demo: gr.Blocks) -> dict[str, Any]:
    """Keyword arguments for demo.launch(): styling, limits, the app's own routes and background work."""
    services = demo.services  # type: ignore[attr-defined]
    settings = services.settings
    return {
        "theme": gr.themes.Soft(),
        # The page's own words in the browser's language (English, Chinese); run-time words follow Accept-Language.
        "i18n": I18N,
        "css": CSS,
        # Gradio copies a returned file into its cache only from places it may read; nothing else is served.
        "allowed_paths": [str(services.storage.videos.resolve()), str(services.storage.exports.resolve()),
                          *EXAMPLE_FILES],
        "max_file_size": f"{MAX_UPLOAD_MB}mb",
        # Run history would keep every input of a public event in the browser, a pasted key included.
        "run_history": False,
        # Gradio runs at most max_threads jobs at once across all events; jobs that only wait must not queue.
        "max_threads": max(64, settings.queue_size),
        "auth": settings.auth,
        "share": settings.share,
        "mcp_server": settings.mcp,
        "app_kwargs": {
            "routes": services.routes(),
            "lifespan": services.lifespan,
            "middleware": [Middleware(UploadLimiter, mb_per_hour=settings.house.upload_mb_per_hour,
                                      hops=settings.house.proxy_hops, max_body=MAX_UPLOAD_MB * 1024 * 1024,
                                      enabled=settings.public),
                           Middleware(ReplicaHeader, replica=settings.replica_id)],
        },
    }


def launch(demo: gr.Blocks, **overrides: Any) -> None:
    """Launch *demo* with the app's options (*overrides* win), e.g. prevent_thread_lock and server_port in tests."""
    settings = demo.services.settings  # type: ignore[attr-defined]
    if settings.auth and settings.mcp:
        raise ConfigError("AVATAR_AUTH and AVATAR_MCP cannot be combined: Gradio's MCP endpoint is outside the "
                          "password, so its tool calls would fail. Turn one of them off")
    # uvicorn would believe X-Forwarded-For from any local peer (a share tunnel, any process on this host);
    # the app reads that header itself, counting only the hops of proxies it trusts (AVATAR_PROXY_HOPS).
    os.environ.setdefault("FORWARDED_ALLOW_IPS", "none")
    if settings.share:
        # Gradio starts its tunnel's binary with the inherited environment, which a library loading in another
        # thread may be editing (a visitor's first photo): on Python 3.13 that aborts the process (media/children).
        settle_environment()
    blocking = not overrides.pop("prevent_thread_lock", False)
    # Gradio's own hint for a public link names its launch(share=True); this app's way is its --share flag.
    ours = not settings.share and "quiet" not in overrides
    quiet = {"quiet": True} if ours else {}
    demo.launch(**{**launch_options(demo), **overrides, "prevent_thread_lock": True, **quiet})
    if ours:
        print(f"* Running on local URL:  {demo.local_url}")
        print("* To create a public link, run `python app.py --share` (or set GRADIO_SHARE=True).")
    expose_only(demo)
    if blocking:
        signal.signal(signal.SIGTERM, functools.partial(_stop, demo))
        demo.block_thread()


def _stop(demo: gr.Blocks, *_: object) -> None:
    """SIGTERM (a redeploy, `docker stop`, Kubernetes): the runs go to another replica at once, then the server
    closes once its pages have watched their runs to the end."""
    log.info("stopping: handing this replica's runs on")
    demo.services.hand_over()  # type: ignore[attr-defined]
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """`python app.py [--share] [--mcp]`: build and serve the app; a setting that cannot work is one line, exit 2."""
    parser = argparse.ArgumentParser(prog="python app.py", description="Avatar Demo: the Kling Avatar app")
    parser.add_argument("--share", action="store_true", help="make a public share link (public mode: house rules apply)")
    parser.add_argument("--mcp", action="store_true", help="also serve the app as an MCP server (AVATAR_MCP=1)")
    args = parser.parse_args(argv)
    # The app's own news (refusals, resumes, retention) is one line each at INFO; libraries speak at WARNING,
    # and a read retried on the way to "gateway unreachable" is not worth a line each.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("avatar_demo").setLevel(logging.INFO)
    stamina.instrumentation.set_on_retry_hooks([])
    try:
        demo = build_demo(load_settings(share=args.share or None, mcp=args.mcp or None))
        launch(demo)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
