"""Bring any Pillow image mode to 8-bit sRGB faithfully, flatten transparency, and judge flatness."""

from __future__ import annotations

import io

from PIL import Image, ImageStat

from ..core.text import Text

__all__ = ["edge_colour", "flat_colour_warning", "flatten_onto_white", "to_rgb8"]

#: A photo whose colours vary less than this (standard deviation, 0-255 scale) is one flat colour
#: to the eye; a real portrait against a plain wall still varies by 20 or more.
FLAT_STDDEV = 6.0
_SIXTEEN_BIT = ("I;16", "I;16L", "I;16B", "I;16N")
_WITH_ALPHA = ("RGBA", "LA", "PA", "La", "RGBa")


def _has_alpha(img: Image.Image) -> bool:
    return img.mode in _WITH_ALPHA or (img.mode in ("P", "L", "RGB") and "transparency" in img.info)


def _scale_to_8bit(img: Image.Image, changes: list[str]) -> Image.Image:
    """16- and 32-bit greyscale scaled into 0-255; converting directly would clip everything above 255 to white."""
    if img.mode in _SIXTEEN_BIT:
        top = 65535.0
    else:
        low, high = img.getextrema()
        if img.mode == "F":
            # Float images are 0-1 by convention; anything larger is scaled by its own maximum.
            top = 1.0 if high <= 1.0 else max(float(high), 255.0)
        else:  # "I": Pillow's mode for 16-bit PGM/TIFF data, or genuinely 32-bit values
            top = 65535.0 if high <= 65535 else float(high)
    changes.append(Text("photo.grey16" if top == 65535.0 else "photo.grey_high"))
    if img.mode == "F":
        return img.point(lambda v: v * (255.0 / top)).convert("L")
    if img.mode not in ("I", "F"):
        img = img.convert("I")
    return img.point(lambda v: v * (255.0 / top), "L")


def _profile_to_srgb(img: Image.Image, icc: bytes, changes: list[str]) -> Image.Image:
    from PIL import ImageCms

    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if "srgb" in (ImageCms.getProfileDescription(source) or "").lower().replace(" ", ""):
            return img
        out_mode = "RGBA" if img.mode == "RGBA" else "RGB"
        converted = ImageCms.profileToProfile(img, source, ImageCms.createProfile("sRGB"), outputMode=out_mode)
    except (ImageCms.PyCMSError, OSError, ValueError):
        # A broken or unsupported profile: the pixels are still usable as they are.
        return img
    if converted is None:
        return img
    changes.append(Text("photo.profile"))
    return converted


def to_rgb8(img: Image.Image, changes: list[str], icc: bytes | None = None) -> Image.Image:
    """*img* as 8-bit "RGB" or "RGBA" in sRGB, whatever its mode; appends what changed to *changes*."""
    if img.mode in _SIXTEEN_BIT or img.mode in ("I", "F"):
        img = _scale_to_8bit(img, changes)
    if img.mode == "CMYK":
        changes.append(Text("photo.cmyk"))
        # With the file's own profile the press colours map to screen colours properly; without
        # one, Pillow's plain inversion is the best guess.
        converted = _profile_to_srgb(img, icc, []) if icc else img
        return converted if converted.mode == "RGB" else img.convert("RGB")
    if img.mode == "LAB":
        from PIL import ImageCms

        changes.append(Text("photo.lab"))
        return ImageCms.applyTransform(img, ImageCms.buildTransform(
            ImageCms.createProfile("LAB"), ImageCms.createProfile("sRGB"), "LAB", "RGB"))
    if img.mode in ("YCbCr", "HSV"):
        changes.append(Text("photo.mode", mode=img.mode))
        return img.convert("RGB")
    img = img.convert("RGBA" if _has_alpha(img) else "RGB")
    return _profile_to_srgb(img, icc, changes) if icc else img


def flatten_onto_white(img: Image.Image, changes: list[str]) -> Image.Image:
    """An "RGB" image: transparent parts become white, as on the page the photo came from."""
    if img.mode != "RGBA":
        return img.convert("RGB") if img.mode != "RGB" else img
    alpha = img.getchannel("A")
    if alpha.getextrema()[0] < 255:
        changes.append(Text("photo.flattened"))
    background = Image.new("RGB", img.size, (255, 255, 255))
    background.paste(img.convert("RGB"), mask=alpha)
    return background


def edge_colour(img: Image.Image) -> tuple[int, int, int]:
    """Mean colour of the outermost pixels; padding in it reads as background, not a frame."""
    w, h = img.size
    strips = [img.crop((0, 0, w, 1)), img.crop((0, h - 1, w, h)), img.crop((0, 0, 1, h)), img.crop((w - 1, 0, w, h))]
    means = [ImageStat.Stat(s).mean for s in strips]
    return tuple(round(sum(m[i] for m in means) / len(means)) for i in range(3))  # type: ignore[return-value]


def flat_colour_warning(img: Image.Image) -> Text | None:
    """A plain-language warning when an "RGB" photo is almost one colour (no face can be in it)."""
    small = img.resize((64, 64), Image.Resampling.BILINEAR) if max(img.size) > 64 else img
    spread = max(ImageStat.Stat(small).stddev)
    if spread >= FLAT_STDDEV:
        return None
    r, g, b = (round(v) for v in ImageStat.Stat(small).mean)
    return Text("photo.flat", r=r, g=g, b=b)
