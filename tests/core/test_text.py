"""The catalogs and Text: both languages have every key with the same placeholders, and every key used exists."""

from __future__ import annotations

import pickle
import re
import string
from pathlib import Path

import pytest

from avatar_demo.core.locales import CATALOGS
from avatar_demo.core.status import Status
from avatar_demo.core.text import Text, dumps, render, text_from_data, text_to_data

ROOT = Path(__file__).resolve().parents[2]


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_english_and_chinese_have_the_same_keys() -> None:
    en, zh = set(CATALOGS["en"]), set(CATALOGS["zh"])
    assert sorted(en - zh) == [] and sorted(zh - en) == []


@pytest.mark.parametrize("key", sorted(CATALOGS["en"]))
def test_both_languages_take_the_same_values(key: str) -> None:
    """A placeholder one language forgets would drop a number or a file name from the message."""
    assert _fields(CATALOGS["en"][key]) == _fields(CATALOGS["zh"][key]), key


def test_every_key_the_code_names_is_in_the_catalog() -> None:
    """Text("…") with a literal key anywhere in the app, and the keys built from a status or a code."""
    used = set()
    for path in (ROOT / "avatar_demo").rglob("*.py"):
        used |= set(re.findall(r"""Text\(\s*["']([a-z][a-z0-9_.]+)["']""", path.read_text()))
        used |= set(re.findall(r"""\bt\(\s*["']([a-z][a-z0-9_.]+)["']""", path.read_text()))
    used |= {f"status.{s.name.lower()}" for s in Status}
    used |= {f"face.where.{row}.{col}" for row in ("upper", "middle", "lower") for col in ("left", "centre", "right")}
    assert len(used) > 200
    assert sorted(used - set(CATALOGS["en"])) == []


def test_a_text_is_its_english_and_renders_in_chinese() -> None:
    text = Text("photo.too_large.sized", name="bomb.png", w=10000, h=10000, mp=100, limit=64)
    assert isinstance(text, str) and text.startswith("The photo bomb.png is too large")
    assert "bomb.png" in text.render("zh") and "百万像素" in text.render("zh")
    assert render(text, "fr") == str(text)  # a language we do not speak falls back to English


def test_values_are_rendered_in_the_same_language_and_lists_are_joined() -> None:
    nested = Text("change.photo", change=Text("face.found", w=10, h=12, where=Text("face.where.middle.centre")))
    assert nested == "Photo: face found: 10×12 px, centred"
    assert nested.render("zh") == "照片：找到人脸：10×12 像素，居中"
    listed = Text("tts.needs_provider", providers=["Kling", "CometAPI"])
    assert "Kling, CometAPI" in listed and "Kling、CometAPI" in listed.render("zh")


def test_a_text_survives_storage_and_pickling() -> None:
    text = Text("job.task_failed", provider=Text("provider.kling"), task="88", reason=Text.verbatim("blocked"))
    assert text_from_data(text_to_data(text)) == text
    assert text_from_data(text_to_data(text)).render("zh") == text.render("zh")
    assert pickle.loads(pickle.dumps(text)).render("zh") == text.render("zh")
    assert text_from_data("plain words of an earlier version") == "plain words of an earlier version"
    assert dumps([text]).startswith('[{"k": "job.task_failed"')


def test_words_we_did_not_write_are_shown_as_they_are() -> None:
    verbatim = Text.verbatim("Voice id not found")
    assert verbatim.render("zh") == "Voice id not found"
    assert Text.verbatim(verbatim) is verbatim


@pytest.mark.parametrize("language", sorted(CATALOGS))
def test_no_markdown_is_left_as_text(language: str) -> None:
    """Bold made with ** must close where CommonMark lets it: next to Chinese punctuation it often cannot, and the
    page would show the asterisks (the page's Markdown follows the same flanking rules as markdown-it)."""
    from markdown_it import MarkdownIt

    markdown = MarkdownIt("commonmark")
    left = {key: value for key, value in CATALOGS[language].items() if "**" in markdown.render(value)}
    assert left == {}, left
