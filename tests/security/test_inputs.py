"""Every input bounded before work: odd values get our own refusal (never a traceback or Gradio's generic error),
huge ones are refused before they cost memory or time, and the page's helper events cannot be run 60 at once.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.security.conftest import creates
from tests.security.wire import Reply, Stranger, dependency_ids, generate_args, lab_args

GENERIC = "has raised an exception but has not enabled verbose error reporting"


def ids(person: Stranger) -> dict[str, int]:
    return dependency_ids(person.config())


def browser_id(person: Stranger) -> str:
    reply = person.call(ids(person)["load"], [""])
    assert reply.success, reply.output
    return reply.data[0]


def assert_our_refusal(reply: Reply, *words: str) -> None:
    """Refused by our code, in words: not Gradio's empty error, no traceback."""
    assert not reply.success, reply.output
    assert reply.error and GENERIC not in reply.text and "Traceback" not in reply.text, reply.output
    for word in words:
        assert word in reply.error, reply.error


@pytest.mark.parametrize(("event", "args", "words"), [
    ("rerun", lambda owner, run: [run, "", "", "../../etc", "", owner, False], ("'../../etc'", "choose one of")),
    ("rerun", lambda owner, run: [run, "", "", "kling\u0000", "", owner, False], ("choose one of",)),
    ("export", lambda owner, run: ["1e400", "", owner], ("whole numbers",)),
    ("export", lambda owner, run: [f"{run}, nan", "", owner], ("whole numbers",)),
    ("export", lambda owner, run: ["-3", "", owner], ("whole numbers",)),
    ("export", lambda owner, run: [["1e999"], "", owner], ("whole numbers",)),
], ids=["rerun-path-gateway", "rerun-nul-gateway", "export-1e400", "export-nan", "export-negative",
        "export-list-1e999"])
def test_odd_values_get_our_own_refusal(app, stranger, media_dir: Path, event: str, args,
                                        words: tuple[str, ...]) -> None:
    """Attack: /rerun gateway="../../etc" and /export ids="1e400" raised inside Gradio (an empty error and a
    traceback in the log) instead of saying what was wrong."""
    person = stranger(app)
    owner = browser_id(person)
    made = person.call(ids(person)["generate"], generate_args(
        image=person.upload(media_dir / "portrait.jpg"), audio=person.upload(media_dir / "speech.mp3"),
        provider="local", owner=owner))
    assert made.success, made.output
    run = int(made.data[1].split("**Run ")[1].split("**")[0])
    before = len(app.services.history.all())
    reply = person.call(ids(person)[event], args(owner, run))
    assert_our_refusal(reply, *words)
    assert len(app.services.history.all()) == before  # nothing was started


def test_the_pages_helper_events_cannot_all_run_at_once(app) -> None:
    """Attack: 60 concurrent calls of the page's private helpers (by fn_index) ran 17 ffmpeg processes at once: the
    voice window, the lab summary and the photo check had no concurrency limit. Now they share one, as large as
    the preparation slots (AVATAR_CONCURRENCY); text to speech has its own."""
    events = {fn.api_name: fn for fn in app.fns.values() if isinstance(fn.api_name, str)}
    slots = app.services.settings.prepare_slots
    media = [events[name] for name in ("window", "window_1", "summary", "check_photo")]
    assert all(fn.concurrency_limit == slots for fn in media), [(f.api_name, f.concurrency_limit) for f in media]
    assert len({fn.concurrency_id for fn in media}) == 1  # one budget for all of them together
    speak = events["speak"]
    assert isinstance(speak.concurrency_limit, int) and 1 <= speak.concurrency_limit <= 8


def test_a_prompt_too_long_is_refused_before_anything_is_prepared(app, sim, stranger, tmp_path: Path,
                                                                   media_dir: Path) -> None:
    """Attack: a 3,000-character prompt was refused only after the photo and voice were prepared (seconds of CPU
    spent for nothing). Now the prompt is read first: with a silent voice, the refusal is about the prompt."""
    from tests.helpers import make_tone

    person = stranger(app)
    quiet = make_tone(tmp_path / "quiet.wav", 3.0, silent=True)
    before = creates(sim)
    image, audio = person.upload(media_dir / "portrait.jpg"), person.upload(quiet)
    for event, args in (("generate", generate_args(image=image, audio=audio, prompt="p" * 3000)),
                        ("lab", lab_args(image=image, audio=audio, prompts=f"smile\n{'p' * 3000}"))):
        reply = person.call(ids(person)[event], args)
        assert_our_refusal(reply, "3000 characters and the limit is 2500")
    assert creates(sim) == before


def test_lab_text_is_bounded_before_it_is_split(app, sim, stranger, media_dir: Path) -> None:
    """Attack: /lab read every line of its prompts before counting them (20 MB of prompts: +460 MB of memory,
    kept); half a million blank lines around one prompt even ran it. Now the text is measured first."""
    person = stranger(app)
    before = creates(sim)
    image, audio = person.upload(media_dir / "portrait.jpg"), person.upload(media_dir / "speech.mp3")
    for prompts in ("\n" * 500_000 + "smile", "smile\n" * 100_000, "x" * 600_000):
        reply = person.call(ids(person)["lab"], lab_args(image=image, audio=audio, prompts=prompts))
        assert_our_refusal(reply, "prompts")
    assert creates(sim) == before
    # The plan shown beside the prompts says the same, without counting a million lines either.
    summary = person.call(ids(person)["summary"], ["smile\n" * 100_000, ["std"], "kling", None, 0, 60, "", []])
    assert summary.success and "prompts" in summary.data[0], summary.output
