"""Every input bounded before work: odd values get our own refusal (never a traceback or Gradio's generic error),
huge ones are refused before they cost memory or time, and the page's helper events cannot be run 60 at once.
"""

from __future__ import annotations

import concurrent.futures
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
