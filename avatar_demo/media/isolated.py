"""Decode a photo that must be decoded whole in a short-lived child process, so its memory never lands in the app.

HEIC and AVIF (and GIF, progressive JPEG, interlaced PNG) cannot be decoded a piece at a time: a
24-megapixel iPhone HEIC needs about 200 MB at its peak. In a child process that memory is returned
to the system the moment the decode ends, the app's own peak stays within its budget, and a
malicious file can exhaust only the child (its address space is capped).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image

from ..core.errors import InputError
from ..core.text import Text, text_from_data
from .children import child_env

__all__ = ["CHILD_MEMORY_BYTES", "CHILD_MODULE", "decode_isolated"]

#: The child's address-space cap: the largest accepted photo (64 megapixels at ~9 bytes each) fits.
CHILD_MEMORY_BYTES = 3 * 1024**3
_PACKAGE_ROOT = Path(__file__).resolve().parents[2]
#: The module the child runs: it decodes with the same code as the app (decode.decode_stored).
CHILD_MODULE = f"{__package__}.decode_child"


def decode_isolated(src: Path, size: tuple[int, int], changes: list[str]) -> Image.Image:
    """*src* as stored (not rotated) at exactly *size*, decoded by a child process; appends colour changes."""
    with tempfile.TemporaryDirectory(prefix="avatar-decode-") as folder:
        out = Path(folder) / "decoded.png"
        proc = subprocess.run(  # noqa: S603 - our own interpreter and module, arguments are ours
            [sys.executable, "-m", CHILD_MODULE, str(src), str(size[0]), str(size[1]), str(out)],
            capture_output=True, timeout=300, check=False, cwd=_PACKAGE_ROOT, env=child_env())
        try:
            report = json.loads(proc.stdout.decode("utf-8", "replace").strip().splitlines()[-1])
        except (IndexError, ValueError):
            report = {}
        if proc.returncode != 0 or "changes" not in report:
            raise InputError(text_from_data(report.get("error")) or Text("photo.child_failed", name=src.name))
        changes.extend(text_from_data(report["changes"]))
        with Image.open(out) as decoded:
            decoded.load()
            return decoded
