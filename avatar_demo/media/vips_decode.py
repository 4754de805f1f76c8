"""Decode a photo straight to its final size with libvips, which streams rows so memory stays small."""

from __future__ import annotations

import functools
from pathlib import Path
from types import ModuleType

from PIL import Image

from ..core.errors import InputError
from ..core.text import Text
from .children import environment_edits
from .photo_header import damaged

__all__ = ["VIPS_FORMATS", "decode_with_vips", "load_vips"]

#: Pillow's format names whose libvips loaders stream (shrink-on-load for JPEG and WebP, row by
#: row for PNG and TIFF); GIF is here for its palette handling, and is charged as a whole decode.
VIPS_FORMATS = frozenset({"JPEG", "MPO", "PNG", "TIFF", "WEBP", "GIF"})
_LOADERS = ("jpegload", "pngload", "tiffload", "webpload", "gifload")


@functools.cache
def load_vips() -> ModuleType:
    """The pyvips module, libvips loaded and set up on the first call."""
    # Imported on first use: loading libvips is not something start-up should pay for. Its init sets VIPSHOME in
    # the process environment, so it loads under the environment lock (children.py).
    with environment_edits():
        import pyvips

    # Every upload is a new file: a cache of decoded images would only hold memory.
    pyvips.cache_set_max(0)
    # Loaders libvips itself marks as unfit for untrusted input (SVG, PDF, Matlab…) stay off.
    pyvips.block_untrusted_set(True)
    return pyvips


def _reason(exc: Exception) -> str:
    # libvips lists every failing layer ("unable to call thumbnail", then the codec's words); the
    # codec's first line is the one that means something to a person.
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    detail = [line for line in lines if not line.startswith("unable to")]
    return (detail or lines or ["unknown error"])[0]


def decode_with_vips(src: Path, size: tuple[int, int], *, convert_profile: bool) -> Image.Image:
    """*src* as stored (not rotated) at exactly *size*, as 8-bit sRGB "RGB" or "RGBA".

    Rotation is left to the caller, which read the orientation from the header and planned
    *size* with it; libvips finding an orientation the header reader did not would squash the photo.

    `thumbnail` picks the decoder's own reduced scale (JPEG DCT scaling, WebP scaled decode) and
    streams PNG and TIFF rows, so a 64-megapixel file never exists at full size in memory.
    """
    vips = load_vips()
    options = {"export_profile": "srgb"} if convert_profile else {}
    try:
        image = vips.Image.thumbnail(
            str(src), size[0], height=size[1], size="force", no_rotate=True, fail_on="truncated", **options
        )
        loader = image.get("vips-loader") if image.get_typeof("vips-loader") else ""
        if loader not in _LOADERS:
            raise InputError(Text("photo.not_an_image", name=src.name))
        # colourspace scales 16-bit and float data into 0-255 and maps CMYK (with the file's profile,
        # or libvips' built-in one) and greyscale to sRGB; alpha rides along.
        if image.interpretation != "srgb" or image.format != "uchar":
            image = image.colourspace("srgb")
        if image.format != "uchar":
            image = image.cast("uchar")
        if image.bands > 4:
            image = image.extract_band(0, n=4)
        data = image.write_to_memory()
    except vips.Error as exc:
        raise damaged(src.name, _reason(exc)) from None
    mode = {3: "RGB", 4: "RGBA"}.get(image.bands)
    if mode is None:
        raise InputError(Text("photo.bands", name=src.name, bands=image.bands))
    return Image.frombytes(mode, (image.width, image.height), data)
