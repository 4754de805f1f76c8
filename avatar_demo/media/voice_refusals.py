"""Every refusal of a voice clip in the user's words, in one table: what is wrong, then what to do."""

from __future__ import annotations

from ..core.errors import InputError

__all__ = ["REFUSALS", "refusal"]

#: One message per refusal, keyed for tests and a later translation. {name} is the clip's file name; the other
#: fields are figures in seconds. Each names the file, says what is wrong, then, after the colon, what to do,
#: without the names of the tools underneath.
REFUSALS: dict[str, str] = {
    "missing": "The voice clip {name} was not found: upload or record it again.",
    "empty": "The voice clip {name} is empty (0 bytes): upload or record it again.",
    "bad_start": "The start offset {start} s for {name} is not a time in the clip: choose a start of 0 s or more.",
    "bad_length": "The length {length} s asked of {name} is out of range: choose a length from 2 to 300 s.",
    "unreadable": "{name} is not a sound file this app can read: upload an MP3, WAV, M4A, OGG or WebM recording "
                  "(or a video with sound).",
    "no_sound_track": "{name} is a video without sound: upload a recording, or a video in which someone speaks.",
    "start_past_end": "The start offset {start:.1f} s is past the end of the {total:.1f} s clip {name}: "
                      "choose a start under {total:.1f} s.",
    "start_past_sound": "The start offset {start:.1f} s is past the end of the sound in {name}: choose an earlier "
                        "start.",
    "no_sound": "The voice clip {name} holds no sound at all: record or upload a clip in which someone speaks.",
    "silent": "The voice clip {name} is silent: record or upload a clip in which someone speaks.",
    "silent_part": "The part of {name} from {start:.1f} s to {end:.1f} s is silent: choose a start where someone "
                   "speaks.",
    "too_quiet": "The voice clip {name} is too quiet to use: record closer to the microphone, or upload a louder "
                 "clip.",
    "unmeasurable": "The loudness of {name} could not be measured: upload the clip again, or save it as MP3 or WAV "
                    "and upload that.",
    "unwritable": "{name} could not be converted for sending: upload the clip again, or save it as MP3 or WAV and "
                  "upload that.",
}


def refusal(key: str, **fields: object) -> InputError:
    """The InputError for refusal *key*, its figures filled in (raise it)."""
    return InputError(REFUSALS[key].format(**fields))
