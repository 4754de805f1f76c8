"""What was done to a person's photo and voice, in plain words first and the figures behind a details toggle."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..core.text import Text, render
from .markup import details

__all__ = ["changes_markdown", "plain", "plain_line"]


def _gain(change: Text) -> str:
    # The figure is written with its sign ("+6.3", "−2.0"): a cut makes the voice quieter.
    cut = str(change.params.get("gain", "")).startswith(("−", "-"))
    return "plain.voice.quieter" if cut else "plain.voice.louder"


#: The plain words for a change, by the key of the change the media code reported. A change without an entry is
#: said in its own words (they are plain already, or too important to shorten).
_PLAIN: dict[str, str | Callable[[Text], str]] = {
    "voice.gain": _gain,
    "voice.limited": "plain.voice.limited",
    "voice.silence_start": "plain.voice.silence_start",
    "voice.silence_end": "plain.voice.silence_end",
    "voice.trimmed": "plain.voice.trimmed",
    "voice.trimmed_to": "plain.voice.trimmed",
    "voice.started_at": "plain.voice.started_at",
    "voice.mixed_stereo": "plain.voice.mono",
    "voice.mixed_channels": "plain.voice.mono",
    "voice.fade_in": "plain.voice.faded",
    "voice.fade_out": "plain.voice.faded",
    "voice.padded": "plain.voice.padded",
    "photo.resized": "plain.photo.resized",
    "photo.upscaled": "plain.photo.upscaled",
    "photo.padded": "plain.photo.padded",
    "photo.rotated": "plain.photo.rotated",
    "photo.profile": "plain.photo.colours",
    "photo.cmyk": "plain.photo.colours",
    "photo.lab": "plain.photo.colours",
    "photo.mode": "plain.photo.colours",
    "photo.grey16": "plain.photo.colours",
    "photo.grey_high": "plain.photo.colours",
    "photo.flattened": "plain.photo.flattened",
    "face.found": "plain.face.found",
    "ui.photo_ready": "plain.photo.ready",
}
#: The wrappers the run plan puts around a change ("Photo: …", "Voice: …"), and the word each group is shown under.
_GROUPS = {"change.photo": "plain.group.photo", "change.voice": "plain.group.voice"}


def plain(change: Any) -> Any:
    """One change in plain words ("made louder to a standard level"); its own words when it has no plain form."""
    if not isinstance(change, Text):
        return change
    found = _PLAIN.get(change.key)
    if found is None:
        return change
    return Text(found(change) if callable(found) else found)


def _grouped(changes: Sequence[Any], lang: str) -> list[str]:
    groups: dict[str, list[str]] = {}
    for change in changes:
        inner = change.params.get("change") if isinstance(change, Text) and change.key in _GROUPS else change
        group = _GROUPS.get(change.key, "") if isinstance(change, Text) else ""
        words = render(plain(inner), lang)
        shown = groups.setdefault(group, [])
        if words not in shown:  # a fade in and a fade out are one "smoothed the cut"
            shown.append(words)
    separator = render(Text("list.separator"), lang)
    return [render(Text("plain.group", group=Text(group), what=separator.join(words)), lang) if group
            else separator.join(words) for group, words in groups.items()]


def plain_line(notes: Sequence[Any], lang: str) -> str:
    """Notes joined on one line in plain words, their figures behind a details toggle (the photo check's line)."""
    shown = " · ".join(dict.fromkeys(render(plain(n), lang) for n in notes))
    exact = [render(n, lang) for n in notes]
    if exact == [render(plain(n), lang) for n in notes]:
        return shown
    return shown + details(render(Text("ui.details"), lang), exact)


def changes_markdown(changes: Sequence[Any], warnings: Sequence[Any] | None = None, lang: str = "en") -> str:
    """What was changed in the inputs, in plain words with the figures behind a toggle, and anything worth a second
    look before paying."""
    parts = [render(Text("ui.check_before_paying", warning=w), lang) for w in warnings or []]
    if changes:
        lead = render(Text("ui.changes_made"), lang)
        between = render(Text("plain.groups.separator"), lang)
        parts.append(f"{lead} {between.join(_grouped(changes, lang))}"
                     + details(render(Text("ui.details"), lang), [render(c, lang) for c in changes]))
    else:
        parts.append(render(Text("ui.used_as_they_are"), lang))
    return "\n\n".join(parts)
