"""Measuring helpers for media tests and benchmarks: loudness by ffmpeg's ebur128, peak memory in a fresh process."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from avatar_demo.media.ffmpeg import run_ffmpeg

__all__ = ["Loudness", "loudness", "prepare_image_peak_mb"]

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Loudness:
    """ffmpeg's ebur128 verdict on a whole file."""

    integrated_lufs: float
    true_peak_dbtp: float


def loudness(path: Path) -> Loudness:
    """Integrated loudness and true peak of *path*, measured by ffmpeg's ebur128 filter (peak=true).

    Written apart from the app's own ebur128 parsing, so a mistake there cannot hide here.
    """
    proc = run_ffmpeg(["-nostats", "-i", str(path), "-af", "ebur128=peak=true:framelog=quiet", "-f", "null", "-"])
    summary = proc.stderr.decode("utf-8", "replace").rpartition("Summary:")[2]
    integrated = re.search(r"I:\s+(-?[\d.]+|-inf) LUFS", summary)
    peak = re.search(r"True peak:\s+Peak:\s+(-?[\d.]+|-inf) dBFS", summary)
    assert integrated and peak, summary
    return Loudness(float(integrated.group(1)), float(peak.group(1)))


_PEAK_MEMORY_SCRIPT = """
import sys, tempfile
from PIL import Image
from avatar_demo.media.image import prepare_image

def status(field):
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith(field + ":"))

out = tempfile.mkdtemp()
# Warm up on a small photo of the same kind so libraries loaded on first use are not counted.
Image.new("RGB", (64, 64), (10, 20, 30)).save(out + "/warm.png")
prepare_image(out + "/warm.png", out, name="warm.jpg")
if len(sys.argv) > 2:
    prepare_image(sys.argv[2], out, name="warm2.jpg")
# ru_maxrss would carry the parent's peak across fork and exec; VmHWM, reset here, is this
# process's own high-water mark from now on.
with open("/proc/self/clear_refs", "w") as fh:
    fh.write("5")
before = status("VmRSS")
prepare_image(sys.argv[1], out)
print((status("VmHWM") - before) / 1024)
"""


def prepare_image_peak_mb(path: Path, warm_up: Path | None = None) -> float:
    """Extra peak memory (MB, Linux's VmHWM) that prepare_image(*path*) adds to a fresh, warmed-up process.

    *warm_up* is a small file of the same format, so loading its decoder library is not counted.
    """
    args = [sys.executable, "-c", _PEAK_MEMORY_SCRIPT, str(path), *([str(warm_up)] if warm_up else [])]
    proc = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, timeout=300, check=False,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    return float(proc.stdout.strip().splitlines()[-1])
