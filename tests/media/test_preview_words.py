"""The prompt words the offline preview follows, in English and Chinese, and how it reports them."""

from __future__ import annotations

import pytest

from avatar_demo.core.text import render
from avatar_demo.media.preview_words import WORDS, understood, understood_text


@pytest.mark.parametrize(
    ("prompt", "words"),
    [
        ("", ()),
        ("A warm voice, looks surprised", ()),
        ("A slow nod", ("nod",)),
        ("She nods twice", ("nod",)),
        ("Shaking his head", ("shake",)),
        ("Tilts her head", ("tilt",)),
        ("Looks to the left", ("look_left",)),
        ("looking right at the end", ("look_right",)),
        ("A warm smile", ("smile",)),
        ("Zoom in slowly", ("zoom_in",)),
        ("Zoom-out at the end", ("zoom_out",)),
        ("Zoom in, then zoom out", ("zoom_in",)),
        ("Stays still, smiling", ("smile", "still")),
        ("Still, but nodding", ("still",)),
        ("A SLOW NOD, ZOOM IN", ("nod", "zoom_in")),
        ("缓缓点头", ("nod",)),
        ("摇头", ("shake",)),
        ("歪头微笑", ("tilt", "smile")),
        ("向左看", ("look_left",)),
        ("看右边", ("look_right",)),
        ("镜头推近", ("zoom_in",)),
        ("镜头拉远", ("zoom_out",)),
        ("保持静止", ("still",)),
        ("snodgrass", ()),
    ],
)
def test_words_are_understood_in_english_and_chinese(prompt: str, words: tuple[str, ...]) -> None:
    """Word starts in English (any case, any ending), the words as written in Chinese; "still" stops the head."""
    assert understood(prompt) == words


def test_every_word_has_a_name_in_both_languages() -> None:
    """Each motion is reported by its own catalog text, in English and Chinese."""
    for name in WORDS:
        text = understood_text((name,))
        assert render(text, "en") != render(text, "zh")
        assert "preview.word" not in render(text, "en") + render(text, "zh")


def test_the_report_lists_the_words_or_says_there_were_none() -> None:
    assert understood_text(("nod", "zoom_in")) == "preview: nod, zoom in"
    assert render(understood_text(("nod", "zoom_in")), "zh") == "预览：点头、推近"
    assert understood_text(()) == "preview: no motion words understood, gentle sway"
