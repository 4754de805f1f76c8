"""Children are started with an environment of their own, and the libraries that edit the environment load alone.

Both run in a fresh interpreter: nothing may be loaded yet, and the second one would abort the test run itself.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.helpers import make_image, make_tone

ROOT = Path(__file__).resolve().parents[2]

#: Records, from audit events, every child started (with or without an environment of its own) and every load of
#: a library that edits the environment, each with whether the environment lock was held at that moment.
_RECORDER = """
import json, sys
from avatar_demo.media import children
seen = {"spawns": [], "loads": []}
def hook(event, args):
    if event == "subprocess.Popen":
        seen["spawns"].append([str(args[0]), args[3] is None, children.editing()])
    elif event == "import" and args[0] in ("pyvips", "cv2"):
        seen["loads"].append([args[0], children.editing()])
sys.addaudithook(hook)
"""

#: At every posix_spawn whose environment nobody else is editing, an edit happens now: the C environ array is
#: replaced, as libvips' init or OpenCV's import do when they add a variable. CPython 3.13 aborts when that
#: happens to a spawn handed no environment (python/cpython#149509).
_HOSTILE = """
import ctypes, os, sys
from avatar_demo.media import children
environ = ctypes.c_void_p.in_dll(ctypes.CDLL(None), "environ")
kept, edits = [], [0]
def hook(event, args):
    if event == "os.posix_spawn" and not children.editing():
        entries = [f"{k}={v}".encode() for k, v in os.environ.items()]
        array = (ctypes.c_char_p * (len(entries) + 1))(*entries, None)
        kept.append(array)
        environ.value = ctypes.addressof(array)
        edits[0] += 1
sys.addaudithook(hook)
"""


def _fresh(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300,
                          check=False)


def _work(tmp_path: Path) -> str:
    """Everything in media that starts a child or loads such a library: prepare (libvips, ffmpeg, OpenCV), a photo
    decoded in a child process, a rendered preview (ffmpeg fed by a pipe) and the font lookup."""
    photo = make_image(tmp_path / "p.jpg", (400, 500))
    progressive = make_image(tmp_path / "progressive.jpg", (300, 300), progressive=True)
    voice = make_tone(tmp_path / "v.wav", 2.5)
    return f"""
import asyncio
from pathlib import Path
from avatar_demo.media import prepare_media
from avatar_demo.media.banner import cjk_font
from avatar_demo.media.isolated import decode_isolated
from avatar_demo.media.preview import render_preview
media = asyncio.run(prepare_media({str(photo)!r}, {str(voice)!r}, {str(tmp_path / 'out')!r}))
decode_isolated(Path({str(progressive)!r}), (150, 150), [])
render_preview(media.image.path, media.audio.path, {str(tmp_path / 'preview.mp4')!r}, duration_s=media.audio.duration_s)
cjk_font()
"""


def test_every_child_gets_its_own_environment_and_edits_happen_under_the_lock(tmp_path: Path) -> None:
    """ffmpeg (run and piped), the decoding child and fc-list are each handed an environment; the one child started
    with the inherited one (imageio-ffmpeg checking its binary) and the loads of libvips and OpenCV hold the lock."""
    proc = _fresh(_RECORDER + _work(tmp_path) + "print(json.dumps(seen))\n")
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    inherited = [(exe, locked) for exe, no_env, locked in seen["spawns"] if no_env]
    handed = [exe for exe, no_env, _ in seen["spawns"] if not no_env]
    assert all(locked for _, locked in inherited), inherited
    assert len(inherited) <= 1  # imageio-ffmpeg's check, once per process
    assert any("ffmpeg" in exe for exe in handed) and any(exe == sys.executable for exe in handed), handed
    assert {name for name, _ in seen["loads"]} == {"cv2", "pyvips"}
    assert all(locked for _, locked in seen["loads"]), seen["loads"]


def test_a_child_started_while_the_environment_changes_does_not_abort_the_process(tmp_path: Path) -> None:
    """The environment is edited at the very moment each child is spawned; every child still starts and the work
    ends (on Python 3.13 a spawn handed no environment aborted here: "munmap_chunk(): invalid pointer")."""
    proc = _fresh(_HOSTILE + _work(tmp_path) + "print(edits[0])\n")
    assert proc.returncode == 0, proc.stderr[-2000:]
    edits = int(proc.stdout.strip().splitlines()[-1])
    if sys.version_info >= (3, 13):  # earlier Pythons start these children without posix_spawn
        assert edits >= 2
