"""Every refusal of a voice clip in the user's words, in one table: what is wrong, then what to do."""

from __future__ import annotations

from ..core.errors import InputError
from ..core.locales import CATALOGS, DEFAULT_LANGUAGE
from ..core.text import Text

__all__ = ["REFUSALS", "refusal"]

#: Each message names the file ({name}), says what is wrong, then, after the colon, what to do, without the names of
#: the tools underneath; the other fields are figures in seconds.
_NAMES = ("missing", "empty", "bad_start", "bad_length", "unreadable", "no_sound_track", "start_past_end",
          "start_past_sound", "no_sound", "silent", "silent_part", "too_quiet", "unmeasurable", "unwritable")
#: Each refusal's English words by name (from the catalog, where the other languages are too, under "voice.<name>").
REFUSALS: dict[str, str] = {name: CATALOGS[DEFAULT_LANGUAGE][f"voice.{name}"] for name in _NAMES}


def refusal(key: str, **fields: object) -> InputError:
    """The InputError for refusal *key*, its figures filled in (raise it)."""
    if key not in REFUSALS:
        raise KeyError(key)
    return InputError(Text(f"voice.{key}", **fields))
