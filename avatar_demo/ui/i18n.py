"""The page's languages: Gradio's I18n translates the static words in the browser, the visitor's Accept-Language
chooses the language of everything said at run time (statuses, refusals, tables)."""

from __future__ import annotations

from typing import Any

import gradio as gr

from ..core.locales import CATALOGS, DEFAULT_LANGUAGE
from ..core.text import LANGUAGES, render

__all__ = ["I18N", "language_of", "say", "t"]

#: Every catalog, for the frontend; a Chinese browser reports zh-CN (or zh-TW, zh-HK) and falls back to zh.
I18N = gr.I18n(**CATALOGS)


def t(key: str) -> Any:
    """A static word of the page, translated by the browser."""
    return I18N(key)


def language_of(request: gr.Request | None) -> str:
    """The language the request prefers among ours (by Accept-Language and its q-values), else English.

    API callers send no Accept-Language and read English; a caller who wants Chinese asks for it.
    """
    header = ""
    if request is not None:
        headers = getattr(request, "headers", None) or {}
        header = headers.get("accept-language", "") if hasattr(headers, "get") else ""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and quality > 0:
            ranked.append((-quality, position, primary))
    return min(ranked)[2] if ranked else DEFAULT_LANGUAGE


def say(value: Any, request: gr.Request | None) -> str:
    """*value* (a Text, a list of them, plain words) in the request's language."""
    return render(value, language_of(request))


