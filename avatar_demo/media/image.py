"""Turn any photo we can read into an upright sRGB JPEG inside the gateways' size and aspect limits."""

from __future__ import annotations

import io
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from ..core.errors import InputError
from ..core.text import Text
from .colour import edge_colour, flat_colour_warning, flatten_onto_white
from .decode import decode_photo
from .geometry import MAX_ASPECT, MAX_SIDE, MIN_SIDE, Layout, plan_layout
from .photo_header import MAX_PIXELS, read_photo_header

__all__ = [
    "MAX_ASPECT",
    "MAX_IMAGE_BYTES",
    "MAX_PIXELS",
    "MAX_SIDE",
    "MIN_SIDE",
    "PreparedImage",
    "prepare_image",
]

MAX_IMAGE_BYTES = 10_000_000
_JPEG_QUALITIES = (92, 85, 75, 60)


@dataclass(frozen=True)
class PreparedImage:
    """A prepared portrait, what was done to it, and anything worth checking before paying."""

    path: Path
    width: int
    height: int
    bytes: int
    changes: list[str] = field(default_factory=list)
    #: Plain-language doubts about the photo (it is still usable); the UI shows them before a submit.
    warnings: list[str] = field(default_factory=list)
    source_width: int | None = None
    source_height: int | None = None
    source_format: str | None = None


def _compose(photo: Image.Image, layout: Layout) -> Image.Image:
    if photo.size == layout.canvas:
        return photo
    canvas = Image.new("RGB", layout.canvas, edge_colour(photo))
    canvas.paste(photo, layout.offset)
    return canvas


def _encode_jpeg(img: Image.Image) -> bytes:
    for quality in _JPEG_QUALITIES:
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=quality, optimize=False)
        if buf.tell() <= MAX_IMAGE_BYTES:
            return buf.getvalue()
    raise InputError(Text("photo.too_big_to_compress"))


def prepare_image(
    src: str | os.PathLike[str], out_dir: str | os.PathLike[str], *, name: str = "portrait.jpg"
) -> PreparedImage:
    """Open *src*, fix orientation, colours, size and aspect, and write a JPEG into *out_dir*.

    Raises InputError for missing, empty, non-image, damaged or oversized input; writes nothing
    in that case. Large photos are decoded straight to their final size, so memory stays bounded.
    """
    src = Path(src)
    if not src.is_file():
        raise InputError(Text("photo.missing", name=src.name))
    if src.stat().st_size == 0:
        raise InputError(Text("photo.empty", name=src.name))
    header = read_photo_header(src)
    changes: list[Text] = []
    if header.animated:
        changes.append(Text("photo.first_frame"))
    if header.orientation != 1:
        changes.append(Text("photo.rotated"))
    layout = plan_layout(*header.size)
    photo = decode_photo(src, header, layout.photo, changes)
    photo = flatten_onto_white(photo, changes)
    warning = flat_colour_warning(photo)
    img = _compose(photo, layout)
    # A plain JPEG that needs nothing is sent as it came: re-encoding would only lose detail, and a re-run of a kept
    # input stays byte-identical (so it is kept once). Metadata (a camera's GPS position) is always stripped.
    untouched = (header.format == "JPEG" and header.mode == "RGB" and not header.metadata and not changes
                 and not layout.changes and img.size == header.size and src.stat().st_size <= MAX_IMAGE_BYTES)
    data = src.read_bytes() if untouched else _encode_jpeg(img)

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    dest = out_dir / name
    fd, tmp_name = tempfile.mkstemp(prefix=".portrait-", suffix=".jpg", dir=out_dir)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp_name, dest)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return PreparedImage(
        path=dest,
        width=img.width,
        height=img.height,
        bytes=len(data),
        changes=[*changes, *layout.changes],
        warnings=[warning] if warning else [],
        source_width=header.size[0],
        source_height=header.size[1],
        source_format=header.format,
    )
