"""Start child processes safely beside native libraries that edit the process environment as they load.

Python 3.13's subprocess starts a child with posix_spawn and, when it is given no `env`, hands over
the C `environ` array itself. If another thread edits the environment meanwhile (libvips' init sets
VIPSHOME, OpenCV's package sets LD_LIBRARY_PATH; both grow the array, which moves it), CPython frees
the array it borrowed and the whole process aborts ("munmap_chunk(): invalid pointer";
python/cpython#149509, open). A first photo decoded while a voice was being converted did exactly
that: 11 of 600 runs of the command line's prepare aborted on 3.13.

So every child we start is handed a copy of the environment, and the libraries that edit it load
under one lock, which a library's own child (imageio-ffmpeg's one check of its binary) also holds.
numpy's import edits it too (OPENBLAS_MAIN_FREE); Gradio and the face finder import it at module
level, before any thread starts, and OpenCV's import of it holds the lock.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator

__all__ = ["child_env", "editing", "environment_edits"]

_EDITING = threading.Lock()
_holder: int | None = None


def child_env() -> dict[str, str]:
    """The environment to hand a child explicitly: a copy, which no other thread can change under it."""
    return os.environ.copy()


@contextlib.contextmanager
def environment_edits() -> Iterator[None]:
    """Held while a library loads that edits the process environment, or starts a child we cannot hand a copy."""
    global _holder
    with _EDITING:
        _holder = threading.get_ident()
        try:
            yield
        finally:
            _holder = None


def editing() -> bool:
    """Whether the calling thread is inside environment_edits() (tests check the loads happen there)."""
    return _holder == threading.get_ident()
