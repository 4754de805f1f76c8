"""The band burned into every preview frame that says what the video is, in the page's language."""

from __future__ import annotations

import functools
import logging
import shutil
import subprocess
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from ..core.text import Text
from .children import child_env

__all__ = ["band_height", "cjk_font", "draw_banner", "PREVIEW_LABEL"]

log = logging.getLogger(__name__)

#: The container's title, and the band's words on an English page.
PREVIEW_LABEL = "OFFLINE PREVIEW - not a Kling render"
# Where Debian, Fedora, Arch and macOS keep fonts that cover Chinese, looked at when fontconfig is absent.
_FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "/Library/Fonts", "/System/Library/Fonts")
_CJK_NAMES = ("wqy-zenhei", "wqy-microhei", "NotoSansCJK", "NotoSansSC", "SourceHanSans", "DroidSansFallback",
              "PingFang", "Hiragino Sans GB", "STHeiti")


@functools.cache
def cjk_font() -> Path | None:
    """A font file that draws Chinese: fontconfig's first for the language, else a known one on disk; None if none."""
    if shutil.which("fc-list"):
        try:
            listed = subprocess.run(["fc-list", ":lang=zh", "-f", "%{file}\n"], capture_output=True, text=True,
                                    timeout=10, check=False, env=child_env()).stdout
        except (OSError, subprocess.SubprocessError):
            listed = ""
        files = sorted({Path(line.strip()) for line in listed.splitlines() if line.strip()})
        # Prefer a font made for Chinese over a large pan-language one that merely covers it.
        for name in _CJK_NAMES:
            for file in files:
                if name.lower() in file.name.lower() and file.is_file():
                    return file
        if files and files[0].is_file():
            return files[0]
    for folder in map(Path, _FONT_DIRS):
        if not folder.is_dir():
            continue
        for name in _CJK_NAMES:
            for file in sorted(folder.rglob(f"{name}*")):
                if file.suffix.lower() in (".ttc", ".ttf", ".otf") and file.is_file():
                    return file
    return None


def _font(size: int, cjk: bool) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    if cjk:
        path = cjk_font()
        if path is not None:
            try:
                return ImageFont.truetype(str(path), size)
            except OSError:
                log.warning("cannot load the Chinese font %s; the banner is drawn in English", path)
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow built without FreeType
        return ImageFont.load_default()


def band_height(height: int) -> int:
    """The band's height in a frame *height* pixels high."""
    return max(16, height // 14)


def draw_banner(frame: Image.Image, language: str = "en") -> None:
    """Darken the top band of *frame* and write on it, in *language*, that this is an offline preview."""
    w, h = frame.size
    band = band_height(h)
    words = Text("preview.banner").render(language)
    cjk = any(ord(ch) > 0x2E80 for ch in words)
    if cjk and cjk_font() is None:
        # Without a font that has the glyphs, Chinese would show as boxes: English says it plainly.
        log.warning("no font with Chinese glyphs found (install fonts-wqy-zenhei); the banner is drawn in English")
        words, cjk = PREVIEW_LABEL, False
    draw = ImageDraw.Draw(frame, "RGBA")
    draw.rectangle((0, 0, w, band), fill=(0, 0, 0, 170))
    size = max(12, h // 24)
    font = _font(size, cjk)
    # Narrow portraits: shrink the words until they fit across the band.
    while size > 10 and draw.textlength(words, font=font) > 0.96 * w:
        size -= 2
        font = _font(size, cjk)
    draw.text((w / 2, band / 2), words, fill=(255, 255, 255, 255), font=font, anchor="mm")
