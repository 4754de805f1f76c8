"""Read a photo's header with Pillow (HEIC through pillow-heif) and refuse what must not be decoded."""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from ..core.errors import InputError
from ..core.text import Text

__all__ = ["MAX_PIXELS", "UPRIGHT", "PhotoHeader", "damaged", "read_photo_header"]

#: Refuse anything larger before decoding it (decompression bombs).
MAX_PIXELS = 64_000_000
_ROTATED = (5, 6, 7, 8)
#: What each EXIF orientation needs to be shown upright (what Pillow's ImageOps.exif_transpose does), for the
#: callers that turn a small decoded copy rather than the full-size photo.
UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

#: What Pillow and its plugins raise for files they cannot parse.
_DECODER_ERRORS = (OSError, SyntaxError, ValueError, EOFError, RuntimeError)


@dataclass(frozen=True)
class PhotoHeader:
    """What the file says about itself; nothing here needed decoding pixels."""

    name: str
    format: str
    mode: str
    stored_size: tuple[int, int]
    orientation: int
    animated: bool
    #: Progressive JPEG or interlaced PNG: the decoder has to hold the whole picture at once.
    interlaced: bool
    icc_profile: bytes | None
    #: 16 for 16-bit PNG and TIFF data (Pillow may still call the mode "RGB"), else 8.
    bits_per_sample: int = 8
    #: EXIF, XMP, comments or Photoshop blocks: a camera's location and serial number may be among them.
    metadata: bool = False

    @property
    def size(self) -> tuple[int, int]:
        """Width and height once upright."""
        w, h = self.stored_size
        return (h, w) if self.orientation in _ROTATED else (w, h)


@functools.cache
def _register_heif() -> None:
    # Imported on first use, not with the package: it loads libheif, which start-up does not need.
    try:
        import pillow_heif
    except ImportError:  # without it HEIC is simply "not an image this app can read"
        return
    pillow_heif.register_heif_opener()


def damaged(name: str, detail: Exception | str) -> InputError:
    """The one refusal for a file whose decoder gave up, with the decoder's reason on the same line."""
    text = str(detail).strip()
    reason = text.splitlines()[0][:160] if text else type(detail).__name__
    return InputError(Text("photo.damaged", name=name, reason=reason))


def _too_large(name: str, width: int | None = None, height: int | None = None) -> InputError:
    limit = MAX_PIXELS // 1_000_000
    if width is None or height is None:
        return InputError(Text("photo.too_large", name=name, limit=limit))
    return InputError(Text("photo.too_large.sized", name=name, w=width, h=height, mp=round(width * height / 1e6),
                           limit=limit))


def _orientation(img: Image.Image) -> int:
    try:
        if img.format == "PNG":
            # Pillow's PNG getexif() decodes the whole picture to look for an eXIf chunk after the
            # pixels; only a chunk already seen in the header is read.
            raw = img.info.get("exif")
            exif = Image.Exif()
            if raw:
                exif.load(raw)
        else:
            exif = img.getexif()
        value = exif.get(0x0112, 1)
    except Exception:  # noqa: BLE001 - a broken EXIF block must not stop an otherwise readable photo
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _stored_size(img: Image.Image) -> tuple[int, int]:
    # Pillow reports a TIFF with orientation 5-8 at its upright size already; every other format,
    # and libvips, report the size the pixels are stored at.
    tags = getattr(img, "tag_v2", None)
    if img.format == "TIFF" and tags is not None and isinstance(tags.get(256), int) and isinstance(tags.get(257), int):
        return tags[256], tags[257]
    return img.size


def _bits_per_sample(img: Image.Image) -> int:
    if img.mode.startswith("I;16"):
        return 16
    # Pillow reads 16-bit colour PNG and TIFF as 8-bit "RGB"; the raw mode of its decoder says
    # what the file holds.
    try:
        args = img.tile[0][3] if img.tile else ""
        rawmode = args[0] if isinstance(args, tuple) and args else args
    except (IndexError, TypeError):
        return 8
    return 16 if isinstance(rawmode, str) and "16" in rawmode else 8


def read_photo_header(src: Path) -> PhotoHeader:
    """Identify *src* from its header; InputError for non-images, damaged headers and bombs."""
    _register_heif()
    with warnings.catch_warnings():
        # Pillow only warns between its own limit and twice that; the size check below refuses
        # those (and more) with the actual figures, so the warning would only be noise.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            img = Image.open(src)
        except Image.DecompressionBombError:
            raise _too_large(src.name) from None
        except UnidentifiedImageError:
            raise InputError(Text("photo.not_an_image", name=src.name)) from None
        except _DECODER_ERRORS as exc:
            raise damaged(src.name, exc) from None
    with img:
        width, height = _stored_size(img)
        if width * height > MAX_PIXELS:
            raise _too_large(src.name, width, height)
        if width < 1 or height < 1:
            raise damaged(src.name, Text("photo.no_pixels"))
        try:
            # An MPO (some cameras' JPEG) holds a second, preview picture, not an animation.
            animated = img.format != "MPO" and bool(getattr(img, "is_animated", False))
        except _DECODER_ERRORS as exc:  # counting frames reads past the first one
            raise damaged(src.name, exc) from None
        info = img.info
        return PhotoHeader(
            name=src.name,
            format=img.format or "unknown",
            mode=img.mode,
            stored_size=(width, height),
            orientation=_orientation(img),
            animated=animated,
            interlaced=bool(info.get("progressive") or info.get("progression") or info.get("interlace")),
            icc_profile=info.get("icc_profile") or None,
            bits_per_sample=_bits_per_sample(img),
            metadata=any(info.get(k) for k in ("exif", "xmp", "XML:com.adobe.xmp", "comment", "photoshop")),
        )
