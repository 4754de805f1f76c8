"""A details toggle the page's Markdown can carry: a summary to click, and lines of Markdown behind it."""

from __future__ import annotations

import html
from collections.abc import Sequence

__all__ = ["details"]


def details(summary: str, lines: Sequence[str], *, css: str = "more") -> str:
    """A closed toggle: *summary* to click, then *lines* as a Markdown list.

    The blank lines around the list let Markdown work inside the HTML block, so a line such as
    "**Task id:** `…`" is shown as formatted text (and stays the same text for API callers).
    """
    if not lines:
        return ""
    items = "\n".join(f"- {line}" for line in lines)
    return f'\n\n<details class="{css}"><summary>{html.escape(summary)}</summary>\n\n{items}\n\n</details>'
