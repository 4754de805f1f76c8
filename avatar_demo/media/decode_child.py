"""The child process of isolated.py: decode one photo under a memory cap and report what changed as one JSON line."""

from __future__ import annotations

import json
import resource
import sys
from collections.abc import Sequence
from pathlib import Path

from ..core.errors import InputError
from ..core.text import Text, text_to_data
from .decode import decode_stored
from .isolated import CHILD_MEMORY_BYTES
from .photo_header import read_photo_header

__all__ = ["main"]


def main(argv: Sequence[str]) -> int:
    """In the child: decode, shrink and write a PNG; report the changes (or the refusal) as one JSON line."""
    resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY_BYTES, CHILD_MEMORY_BYTES))
    src, width, height, out = Path(argv[0]), int(argv[1]), int(argv[2]), Path(argv[3])
    changes: list[str] = []
    try:
        image = decode_stored(src, read_photo_header(src), (width, height), changes)
        image.save(out, "PNG", compress_level=1)
    except InputError as exc:
        print(json.dumps({"error": text_to_data(exc.text)}))
        return 2
    except MemoryError:
        print(json.dumps({"error": text_to_data(Text("photo.memory", name=src.name))}))
        return 3
    print(json.dumps({"changes": text_to_data(changes)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
