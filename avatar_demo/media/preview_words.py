"""The prompt words the offline preview understands, in English and Chinese, and what it says it understood."""

from __future__ import annotations

import re

from ..core.text import Text

__all__ = ["WORDS", "understood", "understood_text"]

#: Each motion the preview can imitate, and the English and Chinese ways of asking for it. Order is
#: the order they are reported in. English is matched on word starts, case-insensitively
#: ("nods", "nodding", "Zoom-in"); Chinese as written.
WORDS: dict[str, tuple[str, ...]] = {
    "nod": (r"\bnod", "点头", "點頭"),
    "shake": (r"\bshak(?:e|es|ing)\b", r"\bshook\b", "摇头", "搖頭"),
    "tilt": (r"\btilt", "歪头", "歪頭", "侧头", "偏头"),
    "look_left": (r"\blook(?:s|ing)?\s+(?:to\s+(?:the\s+)?)?left", "向左看", "看向左", "往左看", "看左边"),
    "look_right": (r"\blook(?:s|ing)?\s+(?:to\s+(?:the\s+)?)?right", "向右看", "看向右", "往右看", "看右边"),
    "smile": (r"\bsmil", r"\bgrin", "微笑", "笑"),
    "zoom_in": (r"\bzoom(?:s|ing)?[\s-]*in\b", r"\bpush(?:es|ing)?[\s-]*in\b", "推近", "拉近", "放大", "镜头推"),
    "zoom_out": (r"\bzoom(?:s|ing)?[\s-]*out\b", r"\bpull(?:s|ing)?[\s-]*(?:out|back)\b", "拉远", "缩小", "镜头拉"),
    "still": (r"\bstill\b", r"\bmotionless\b", r"\bno head (?:motion|movement)", "静止", "不动", "一动不动"),
}

_PATTERNS = {name: re.compile("|".join(ways), re.IGNORECASE) for name, ways in WORDS.items()}


def understood(prompt: str) -> tuple[str, ...]:
    """The motions *prompt* asks for, in WORDS' order; "still" wins over every head motion, and of
    "zoom in" and "zoom out" only the first written counts."""
    found = [name for name, pattern in _PATTERNS.items() if pattern.search(prompt or "")]
    if "zoom_in" in found and "zoom_out" in found:
        first_in = _PATTERNS["zoom_in"].search(prompt).start()  # type: ignore[union-attr]
        first_out = _PATTERNS["zoom_out"].search(prompt).start()  # type: ignore[union-attr]
        found.remove("zoom_out" if first_in < first_out else "zoom_in")
    if "still" in found:
        found = [name for name in found if name in ("still", "smile", "zoom_in", "zoom_out")]
    return tuple(found)


def understood_text(words: tuple[str, ...]) -> Text:
    """What the preview says it understood: "preview: nod, zoom in", or that it heard none of its words."""
    if not words:
        return Text("preview.words.none")
    return Text("preview.words", words=[Text(f"preview.word.{name}") for name in words])
