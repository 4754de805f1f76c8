"""Changes to a person's photo and voice in plain words first, the figures behind a details toggle."""

from __future__ import annotations

import re

from avatar_demo.core.text import Text
from avatar_demo.ui.changes import _PLAIN, changes_markdown, plain_line


def test_changes_are_said_in_plain_words_first_with_the_figures_behind_details() -> None:
    changes = [Text("change.photo", change=Text("photo.rotated")),
               Text("change.photo", change=Text("photo.resized", w=4000, h=3000, new_w=1200, new_h=900)),
               Text("change.voice", change=Text("voice.silence_start", seconds=1.2)),
               Text("change.voice", change=Text("voice.fade_in", ms=20)),
               Text("change.voice", change=Text("voice.fade_out", ms=20)),
               Text("change.voice", change=Text("voice.gain", gain="+6.3", lufs="−16.2")),
               Text("change.voice", change=Text("voice.gain", gain="−2.0", lufs="−16.0"))]
    shown = changes_markdown(changes)
    first, _, behind = shown.partition("<details")
    assert first.strip() == ("**Changes made to your inputs:** photo: turned upright, resized; voice: silence at the "
                             "start trimmed, the cut smoothed, made louder to a standard level, made quieter to a "
                             "standard level")
    assert not re.search(r"\d", first), "no figure before the toggle"
    assert "4000×3000" in behind and "+6.3 dB to −16.2 LUFS" in behind
    zh = changes_markdown(changes, lang="zh").partition("<details")[0]
    assert "照片：已转正" in zh and "；语音：" in zh


def test_a_note_without_figures_needs_no_toggle() -> None:
    assert plain_line([Text("face.not_found")], "en") == "no face found"
    line = plain_line([Text("ui.photo_ready", w=512, h=512), Text("face.found", w=95, h=95, where="centred")], "en")
    assert line.startswith("Photo ready · a face was found") and "95×95" in line.partition("<details")[2]


def test_every_plain_word_is_in_both_catalogs() -> None:
    from avatar_demo.core.locales import CATALOGS

    keys = {v for v in _PLAIN.values() if isinstance(v, str)} | {"plain.voice.louder", "plain.voice.quieter"}
    assert all(k in CATALOGS["en"] and k in CATALOGS["zh"] for k in keys), keys - set(CATALOGS["zh"])
