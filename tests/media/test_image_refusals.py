"""Photos that cannot or must not be decoded get their own one-line InputError, and nothing is written."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from avatar_demo.core.errors import InputError
from avatar_demo.media.image import prepare_image
from tests.helpers import make_image


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _palette_bomb(path: Path) -> Path:
    """A valid 20000×20000 palette PNG of a few hundred KB, written without ever holding 400 MB."""
    width = height = 20000
    row = b"\x00" + bytes(width)
    packer = zlib.compressobj(9)
    body = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 3, 0, 0, 0)
    palette = bytes([40, 80, 160]) + bytes(765)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"PLTE", palette)
                     + _chunk(b"IDAT", body) + _chunk(b"IEND", b""))
    return path


def _written(data: bytes):  # type: ignore[no-untyped-def]
    def make(path: Path) -> Path:
        path.write_bytes(data)
        return path

    return make


def _cut(size: int | None):  # type: ignore[no-untyped-def]
    def make(path: Path) -> Path:
        full = make_image(path.with_name("full.jpg"), (800, 800), quality=95).read_bytes()
        path.write_bytes(full[: size if size is not None else len(full) // 2])
        return path

    return make


def _small_bomb(path: Path) -> Path:
    # 100 megapixels of 1-bit PNG in a few KB: over our 64-megapixel limit but under Pillow's error.
    Image.new("1", (10000, 10000)).save(path, optimize=True)
    return path


@pytest.mark.parametrize(
    ("name", "make", "message"),
    [
        ("empty.png", _written(b""), ("is empty (0 bytes)", "choose the file again")),
        ("notes.jpg", _written(b"not a picture, just some text\n" * 20),
         ("is not a photo this app can read", "upload a JPEG, PNG")),
        ("drawing.svg", _written(b'<svg xmlns="http://www.w3.org/2000/svg" width="900" height="900"/>'),
         ("is not a photo this app can read", "upload a JPEG, PNG")),
        ("cut600.jpg", _cut(600), ("is truncated or damaged and cannot be read", "take or export it again")),
        ("half.jpg", _cut(None), ("is truncated or damaged and cannot be read", "take or export it again")),
        ("bomb.png", _palette_bomb, ("is too large to open safely", "4000 px on the long side")),
        ("bomb1bit.png", _small_bomb, ("is too large to open safely: 10000×10000 is 100 megapixels, the limit is 64",
                                       "export it at a smaller size")),
    ],
    ids=["empty", "not-an-image", "svg", "truncated-600-bytes", "truncated-half", "palette-bomb", "1bit-bomb"],
)
def test_bad_photos_are_refused_with_one_clear_line(tmp_path: Path, name, make, message) -> None:
    """Never a raw PIL, libvips or OS error: an InputError naming the file and the reason."""
    src = make(tmp_path / name)
    out_dir = tmp_path / "out"
    with pytest.raises(InputError) as caught:
        prepare_image(src, out_dir)
    text = str(caught.value)
    what, what_to_do = message
    assert what in text and what_to_do in text
    assert src.name in text
    assert "\n" not in text
    assert not out_dir.exists()


def test_missing_photo_is_refused(tmp_path: Path) -> None:
    """A path that is not there says so."""
    with pytest.raises(InputError, match="is not on the server .*upload it again"):
        prepare_image(tmp_path / "nope.jpg", tmp_path / "out")


def test_a_damaged_photo_decoded_in_a_child_is_refused_clearly(tmp_path: Path) -> None:
    """A large HEIC is decoded in a child process; when that decode fails, the refusal is still one clear line."""
    import pillow_heif

    whole = tmp_path / "big.heic"
    pillow_heif.from_pillow(Image.new("RGB", (5712, 4284), (90, 120, 150))).save(whole, quality=60)
    cut = tmp_path / "cut.heic"
    data = whole.read_bytes()
    cut.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(InputError) as caught:
        prepare_image(cut, tmp_path / "out")
    assert "cut.heic" in str(caught.value) and "\n" not in str(caught.value)
