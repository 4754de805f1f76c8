"""OpenCV on first use only, and the Haar cascades its wheel ships (nothing is downloaded)."""

from __future__ import annotations

import functools
import threading
from pathlib import Path
from typing import Any

from ..core.errors import ConfigError
from .children import environment_edits

__all__ = ["cascade", "cv2"]


def cv2() -> Any:
    """The cv2 module, imported on the first call (by one thread; the others wait for it).

    Importing it costs ~0.1 s and ~40 MB; only the face check and the offline preview need it, so app start-up
    and the gateways never pay for it.

    cv2's package sets itself up in several steps and swaps itself in sys.modules: a second thread importing it
    meanwhile gets a half-made module (seen with 60 preparations at once: "module 'cv2' has no attribute 'data'").
    It also sets LD_LIBRARY_PATH as it loads, so it loads under the environment lock (children.py).
    """
    with environment_edits():
        return _cv2()


@functools.cache
def _cv2() -> Any:
    try:
        import cv2 as module
    except ImportError as exc:
        raise ConfigError("Face finding needs OpenCV: pip install 'opencv-python-headless>=4.8,<5'") from exc
    if not hasattr(module, "CascadeClassifier"):
        # OpenCV 5 dropped the cascade detector; requirements.txt pins <5 for this.
        raise ConfigError(f"OpenCV {module.__version__} has no CascadeClassifier; install opencv-python-headless<5")
    return module


# A classifier keeps the image it is scanning inside itself, so two threads must not share one;
# loading costs only a few milliseconds, so each thread gets its own.
_local = threading.local()


def cascade(name: str) -> Any:
    """The shipped cascade `haarcascade_<name>.xml`, loaded once per thread."""
    loaded: dict[str, Any] = _local.__dict__.setdefault("cascades", {})
    if name not in loaded:
        module = cv2()
        path = Path(module.data.haarcascades) / f"haarcascade_{name}.xml"
        classifier = module.CascadeClassifier(str(path))
        if classifier.empty():
            raise ConfigError(f"OpenCV's cascade {path} is missing or unreadable; reinstall opencv-python-headless")
        loaded[name] = classifier
    return loaded[name]
