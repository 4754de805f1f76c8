"""Choose how to decode a photo so that it never costs more than the memory budget, and decode it."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from ..core.text import Text
from .isolated import decode_isolated
from .photo_header import UPRIGHT, PhotoHeader
from .pillow_decode import decode_with_pillow
from .vips_decode import VIPS_FORMATS, decode_with_vips

__all__ = ["DECODE_BUDGET_BYTES", "decode_cost", "decode_photo", "decode_stored"]

#: Memory a photo may take while it is decoded in the app's own process. The rest of preparation
#: (a 2048 px canvas, its JPEG) adds ~30 MB, so every photo stays within ~150 MB of extra peak
#: memory; a photo whose decoder needs more is decoded in a child process (isolated.py).
DECODE_BUDGET_BYTES = 115_000_000
#: Peak bytes per source pixel of decoders that hold the whole picture, measured as peak RSS
#: on 12-64 megapixel files: libheif+libde265 and libavif+dav1d (~8-9), libnsgif (6.1), libjpeg's
#: progressive coefficient buffer (4.7), libpng's Adam7 passes (3.5 for 8-bit RGB).
_HEIF_AVIF = 9.0
_GIF_OR_ANIMATION = 6.5
_PROGRESSIVE_JPEG = 5.0
_INTERLACED_PNG_8BIT = 4.8
#: Pillow holds most modes at 4 bytes a pixel, and its resize needs a third more on top (5.25
#: measured for a 38-megapixel BMP).
_PILLOW_OVERHEAD = 1.35
_PILLOW_ONE_BYTE = frozenset({"1", "L", "P"})
_PILLOW_TWO_BYTES = frozenset({"I;16", "I;16L", "I;16B", "I;16N"})


def _pillow_pixel_bytes(mode: str) -> int:
    base = 1 if mode in _PILLOW_ONE_BYTE else 2 if mode in _PILLOW_TWO_BYTES else 4
    # Palette and 1-bit pictures are expanded to RGBA before they can be resized.
    return base + (4 if mode in ("1", "P", "PA") else 0)


def decode_cost(header: PhotoHeader) -> int:
    """Estimated peak bytes to decode *header*'s photo; 0 when the decoder streams it."""
    w, h = header.stored_size
    fmt = header.format
    if fmt in VIPS_FORMATS:
        if fmt == "GIF" or (fmt == "WEBP" and header.animated):
            per_pixel = _GIF_OR_ANIMATION
        elif fmt in ("JPEG", "MPO") and header.interlaced:
            per_pixel = _PROGRESSIVE_JPEG
        elif fmt == "PNG" and header.interlaced:
            per_pixel = _INTERLACED_PNG_8BIT * header.bits_per_sample / 8
        else:
            return 0
    elif fmt in ("HEIF", "AVIF"):
        per_pixel = _HEIF_AVIF
    else:
        per_pixel = _pillow_pixel_bytes(header.mode) * _PILLOW_OVERHEAD
    return int(w * h * per_pixel)


def decode_stored(src: Path, header: PhotoHeader, stored: tuple[int, int], changes: list[str]) -> Image.Image:
    """*src* as stored (not rotated) at exactly *stored* size, 8-bit sRGB "RGB" or "RGBA", in this process."""
    if header.format in VIPS_FORMATS:
        _describe_vips_colour(header, changes)
        return decode_with_vips(src, stored, convert_profile=_needs_profile_conversion(header))
    return decode_with_pillow(src, header, stored, changes)


def decode_photo(src: Path, header: PhotoHeader, size: tuple[int, int], changes: list[str]) -> Image.Image:
    """*src* upright (EXIF orientation applied) at exactly *size*, 8-bit sRGB "RGB" or "RGBA".

    A photo whose decoder would need more than the budget is decoded in a child process instead.
    """
    stored = (size[1], size[0]) if header.size != header.stored_size else size
    if decode_cost(header) > DECODE_BUDGET_BYTES:
        image = decode_isolated(src, stored, changes)
    else:
        image = decode_stored(src, header, stored, changes)
    transpose = UPRIGHT.get(header.orientation)
    return image.transpose(transpose) if transpose is not None else image


def _needs_profile_conversion(header: PhotoHeader) -> bool:
    if not header.icc_profile:
        return False
    from PIL import ImageCms

    try:
        description = ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(header.icc_profile)))
    except (ImageCms.PyCMSError, OSError, ValueError):
        return False  # libvips would refuse the same broken profile; keep the pixels as they are
    return "srgb" not in (description or "").lower().replace(" ", "")


def _describe_vips_colour(header: PhotoHeader, changes: list[str]) -> None:
    # libvips converts silently; the person should still hear what happened to their photo.
    if header.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        changes.append(Text("photo.grey16"))
    if header.mode == "CMYK":
        changes.append(Text("photo.cmyk"))
    elif _needs_profile_conversion(header):
        changes.append(Text("photo.profile"))
