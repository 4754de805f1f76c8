"""Decode photos libvips cannot read (HEIC, AVIF, BMP and Pillow's other formats) whole, then shrink them at once."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from .colour import to_rgb8
from .photo_header import PhotoHeader, damaged

__all__ = ["decode_with_pillow"]

#: Modes Pillow resizes as they are; others (palette, 1-bit, 16-bit) are converted first.
_RESIZABLE = frozenset({"L", "LA", "RGB", "RGBA", "RGBX", "CMYK", "YCbCr", "LAB", "HSV", "I", "F"})
_FAILURES = (OSError, SyntaxError, ValueError, EOFError, RuntimeError)


def _load(src: Path, header: PhotoHeader) -> Image.Image:
    if header.format == "HEIF":
        import pillow_heif

        # pillow-heif's decoded buffer is wrapped, not copied: a 12-megapixel HEIC then costs one
        # RGB buffer instead of two. libheif applies the container's rotation itself.
        heif = pillow_heif.open_heif(src, convert_hdr_to_8bit=True)
        image = Image.frombuffer(heif.mode, heif.size, heif.data, "raw", heif.mode, heif.stride, 1)
        image.info.update(heif.info)
        return image
    with Image.open(src) as opened:
        opened.load()
        # Pillow keeps multi-frame files open for seeking; a copy of the first frame lets it go.
        return opened if not getattr(opened, "is_animated", False) else opened.copy()


def _shrink(src: Path, header: PhotoHeader, size: tuple[int, int], changes: list[str]) -> Image.Image:
    image = _load(src, header)
    icc = image.info.get("icc_profile") or header.icc_profile
    if image.mode not in _RESIZABLE:
        image = to_rgb8(image, changes, icc)
        icc = None
    if image.size != size:
        image = image.resize(size, Image.Resampling.LANCZOS, reducing_gap=2.0)
    # Colour work happens after the resize, on a picture of at most 2048 px a side.
    if image.mode not in ("RGB", "RGBA") or icc:
        image = to_rgb8(image, changes, icc)
    return image


def decode_with_pillow(src: Path, header: PhotoHeader, size: tuple[int, int], changes: list[str]) -> Image.Image:
    """*src* as stored (not rotated) at exactly *size* as 8-bit sRGB "RGB" or "RGBA"; appends colour changes."""
    try:
        return _shrink(src, header, size, changes)
    except _FAILURES as exc:
        raise damaged(src.name, exc) from None
