"""Turn any photo Pillow opens into an upright RGB JPEG inside the gateways' size and aspect limits."""

from __future__ import annotations

import io
import math
import os
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageOps, ImageStat, UnidentifiedImageError

from ..errors import InputError

__all__ = [
    "MAX_IMAGE_BYTES",
    "MAX_PIXELS",
    "MAX_SIDE",
    "MIN_SIDE",
    "PreparedImage",
    "prepare_image",
]

MAX_IMAGE_BYTES = 10_000_000
MIN_SIDE = 300
#: Large enough for any face detail the model uses; smaller uploads and base64 bodies.
MAX_SIDE = 2048
MAX_ASPECT = 2.5
#: Refuse anything larger before decoding it (decompression bombs).
MAX_PIXELS = 64_000_000
_JPEG_QUALITIES = (92, 85, 75, 60)


@dataclass(frozen=True)
class PreparedImage:
    """A prepared portrait and what was done to it."""

    path: Path
    width: int
    height: int
    bytes: int
    changes: list[str] = field(default_factory=list)


def _open(src: Path) -> Image.Image:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(src)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise InputError(
                f"{src.name} is too large to open safely (over {MAX_PIXELS // 1_000_000} megapixels)"
            ) from None
        except UnidentifiedImageError:
            raise InputError(
                f"{src.name} is not an image this app can read (use JPEG, PNG, WebP, GIF, BMP or TIFF)"
            ) from None
    width, height = img.size
    if width * height > MAX_PIXELS:
        img.close()
        raise InputError(
            f"{src.name} is too large to open safely: {width}×{height} is "
            f"{width * height / 1e6:.0f} megapixels, the limit is {MAX_PIXELS // 1_000_000}"
        )
    return img


def _flatten(img: Image.Image, changes: list[str]) -> Image.Image:
    has_alpha = img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)
    if has_alpha:
        rgba = img.convert("RGBA")
        if rgba.getextrema()[3][0] < 255:
            changes.append("flattened transparency onto white")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if img.mode != "RGB":
        if img.mode in ("CMYK", "YCbCr", "LAB", "HSV"):
            changes.append(f"converted {img.mode} colours to RGB")
        return img.convert("RGB")
    return img


def _edge_colour(img: Image.Image) -> tuple[int, int, int]:
    # Padding in the photo's own border colour reads as background, not a frame.
    w, h = img.size
    strips = [img.crop((0, 0, w, 1)), img.crop((0, h - 1, w, h)), img.crop((0, 0, 1, h)), img.crop((w - 1, 0, w, h))]
    means = [ImageStat.Stat(s).mean for s in strips]
    return tuple(round(sum(m[i] for m in means) / len(means)) for i in range(3))  # type: ignore[return-value]


def _pad_aspect(img: Image.Image, changes: list[str]) -> Image.Image:
    w, h = img.size
    if w / h > MAX_ASPECT:
        new_w, new_h, label = w, math.ceil(w / MAX_ASPECT), "2.5:1"
    elif h / w > MAX_ASPECT:
        new_w, new_h, label = math.ceil(h / MAX_ASPECT), h, "1:2.5"
    else:
        return img
    canvas = Image.new("RGB", (new_w, new_h), _edge_colour(img))
    canvas.paste(img, ((new_w - w) // 2, (new_h - h) // 2))
    changes.append(f"padded {w}×{h} to {new_w}×{new_h} ({label}; the gateways accept 1:2.5 to 2.5:1)")
    return canvas


def _fit_size(
    img: Image.Image, changes: list[str], source_size: tuple[int, int] | None = None
) -> Image.Image:
    w, h = img.size
    if max(w, h) > MAX_SIDE:
        scale = MAX_SIDE / max(w, h)
        # Round the short side up so the aspect ratio never drifts past 2.5:1.
        new = (MAX_SIDE, math.ceil(h * scale)) if w >= h else (math.ceil(w * scale), MAX_SIDE)
        # A JPEG decoded in draft mode is already smaller than the file; report the file's size.
        sw, sh = source_size or (w, h)
        changes.append(f"resized {sw}×{sh} to {new[0]}×{new[1]}")
        return img.resize(new, Image.Resampling.LANCZOS, reducing_gap=3.0)
    if min(w, h) < MIN_SIDE:
        scale = MIN_SIDE / min(w, h)
        # Round the long side down so the aspect ratio never drifts past 2.5:1.
        new = (max(MIN_SIDE, math.floor(w * scale)), MIN_SIDE) if w >= h else (MIN_SIDE, max(MIN_SIDE, math.floor(h * scale)))
        changes.append(f"upscaled {w}×{h} to {new[0]}×{new[1]} (sides must be at least {MIN_SIDE} px)")
        return img.resize(new, Image.Resampling.LANCZOS)
    return img


def _encode_jpeg(img: Image.Image) -> bytes:
    for quality in _JPEG_QUALITIES:
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=quality, optimize=False)
        if buf.tell() <= MAX_IMAGE_BYTES:
            return buf.getvalue()
    raise InputError("The photo could not be compressed under the gateways' 10 MB limit")


def prepare_image(
    src: str | os.PathLike[str], out_dir: str | os.PathLike[str], *, name: str = "portrait.jpg"
) -> PreparedImage:
    """Open *src*, fix orientation, colours, size and aspect, and write a JPEG into *out_dir*.

    Raises InputError for missing, empty, non-image, truncated or oversized input; writes
    nothing in that case.
    """
    src = Path(src)
    if not src.is_file():
        raise InputError(f"Photo {src.name!r} does not exist")
    if src.stat().st_size == 0:
        raise InputError(f"The photo {src.name} is empty (0 bytes)")
    changes: list[str] = []
    with _open(src) as opened:
        if getattr(opened, "n_frames", 1) > 1:
            changes.append("used the first frame of the animation")
        source_size = opened.size
        w, h = source_size
        if opened.format == "JPEG" and max(w, h) / min(w, h) <= MAX_ASPECT:
            # Decode at a reduced scale when the photo will be shrunk anyway: 4-8× faster.
            opened.draft("RGB", (MAX_SIDE, MAX_SIDE))
        try:
            opened.load()
        except (OSError, SyntaxError, ValueError) as exc:
            raise InputError(f"{src.name} is truncated or damaged and cannot be read ({exc})") from None
        drafted = opened.size != (w, h)
        orientation = opened.getexif().get(0x0112, 1)
        img = ImageOps.exif_transpose(opened)
        if orientation not in (1, None):
            changes.append("rotated upright using the photo's EXIF orientation")
            if orientation in (5, 6, 7, 8):
                source_size = (h, w)
        img = _flatten(img, changes)
    img = _pad_aspect(img, changes)
    img = _fit_size(img, changes, source_size if drafted else None)
    data = _encode_jpeg(img)

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    dest = out_dir / name
    fd, tmp_name = tempfile.mkstemp(prefix=".portrait-", suffix=".jpg", dir=out_dir)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp_name, dest)
    return PreparedImage(path=dest, width=img.width, height=img.height, bytes=len(data), changes=changes)
