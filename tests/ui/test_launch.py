"""Launching: one clear line when the app cannot start; share links and passwords; MCP and a password conflict."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from avatar_demo.app.config import load_settings
from avatar_demo.core.errors import ConfigError
from avatar_demo.ui import build_demo, launch, launch_options

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("where", ["under-a-file", "proc"])
def test_an_unusable_data_dir_is_one_line_naming_the_variable(tmp_path: Path, where: str) -> None:
    """As root, permissions stop nothing: a folder under a regular file, or in /proc, cannot be made at all."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    data = blocker / "data" if where == "under-a-file" else Path("/proc/avatar-demo-data")
    proc = subprocess.run([sys.executable, "app.py"], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "AVATAR_DATA_DIR": str(data), "GRADIO_ANALYTICS_ENABLED": "False"})
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "AVATAR_DATA_DIR" in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_a_share_link_is_public_and_can_have_a_password(tmp_path: Path) -> None:
    settings = load_settings({"AVATAR_DATA_DIR": str(tmp_path), "AVATAR_AUTH": "friends:a-long-password"}, share=True)
    assert settings.share and settings.public
    options = launch_options(build_demo(settings))
    assert options["share"] is True and options["auth"] == ("friends", "a-long-password")
    assert load_settings({"AVATAR_DATA_DIR": str(tmp_path)}).public is False, "a plain local run is not public"


def test_mcp_and_a_password_cannot_be_combined(tmp_path: Path) -> None:
    """Gradio's MCP endpoint is outside the password, so its calls would fail: refused at launch, in one line."""
    demo = build_demo(load_settings({"AVATAR_DATA_DIR": str(tmp_path), "AVATAR_AUTH": "u:p", "AVATAR_MCP": "1"}))
    with pytest.raises(ConfigError, match="AVATAR_AUTH and AVATAR_MCP"):
        launch(demo, prevent_thread_lock=True)


def test_the_queue_is_bounded_and_closed_to_direct_calls(tmp_path: Path) -> None:
    """AVATAR_QUEUE_SIZE bounds Gradio's queue, and events cannot skip it (the settings demo.queue() would set)."""
    from avatar_demo.app.config import load_settings
    from avatar_demo.ui import build_demo

    demo = build_demo(load_settings({"AVATAR_DATA_DIR": str(tmp_path / "data"), "AVATAR_QUEUE_SIZE": "7"}))
    assert demo._queue.max_size == 7 and demo.api_open is False


def test_the_launch_message_names_the_apps_own_share_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The console tells a person how this app makes a public link (`--share`), not how Gradio's launch() does."""
    from avatar_demo.web.serving import free_port

    demo = build_demo(load_settings({"AVATAR_DATA_DIR": str(tmp_path / "data")}))
    try:
        launch(demo, prevent_thread_lock=True, server_port=free_port())
    finally:
        demo.close()
    printed = capsys.readouterr().out
    assert "Running on local URL" in printed and "`python app.py --share`" in printed
    assert "share=True" not in printed, printed


@pytest.mark.parametrize("share", [True, False], ids=["share link", "local"])
def test_a_share_link_loads_the_libraries_that_edit_the_environment_before_gradio_starts(tmp_path: Path,
                                                                                          share: bool) -> None:
    """Gradio starts its share tunnel with the inherited environment (media/children.py): with a share link libvips
    and OpenCV are loaded before Gradio's launch; a local run still loads them only when a photo needs them."""
    code = f"""
import json, os, sys
import gradio as gr
from avatar_demo.app.config import load_settings
from avatar_demo.ui import build_demo, launch
def launched(self, **options):
    print(json.dumps([options.get("share"), "pyvips" in sys.modules, "cv2" in sys.modules]), flush=True)
    os._exit(0)
gr.Blocks.launch = launched
launch(build_demo(load_settings({{"AVATAR_DATA_DIR": {str(tmp_path / 'data')!r}}}, share={share})), prevent_thread_lock=True)
"""
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == [share, share, share]
