"""The lab's batch as words and data: the variants asked for, the progress line, a run as API callers read it."""

from __future__ import annotations

import pytest

from avatar_demo.core.errors import InputError
from avatar_demo.core.status import Status
from avatar_demo.core.text import Text
from avatar_demo.store.records import Record
from avatar_demo.ui.lab_batch import MAX_LAB_VARIANTS, progress_line, run_json, variants


@pytest.mark.parametrize(("prompts", "modes", "expected"), [
    (None, None, [("", "std")]),
    ("", ["pro"], [("", "pro")]),
    ("smile\n\n  nod  \nsmile", ["std"], [("smile", "std"), ("nod", "std")]),
    ("a\r\nb", ["std", "pro"], [("a", "std"), ("a", "pro"), ("b", "std"), ("b", "pro")]),
])
def test_variants_are_each_distinct_prompt_in_each_mode(prompts, modes, expected) -> None:  # type: ignore[no-untyped-def]
    assert variants(prompts, modes) == expected


@pytest.mark.parametrize("prompts", ["x" * 10_000_000, "\n" * (4 * MAX_LAB_VARIANTS + 1)],
                         ids=["too many characters", "too many lines"])
def test_a_prompt_box_no_lab_could_use_is_refused_before_it_is_split(prompts: str) -> None:
    with pytest.raises(InputError):
        variants(prompts, ["std"])


def _record(id_: int, status: Status, video: str | None = None) -> Record:
    return Record(id=id_, owner="o", provider="local", task_id=None, external_task_id=None, status=status,
                  prompt="p", mode="std", created_at=0.0, updated_at=0.0, video_path=video)


def test_the_progress_line_counts_done_running_and_ended_without_a_video() -> None:
    """A run not recorded yet counts as running."""
    records = [_record(1, Status.DONE), _record(2, Status.RUNNING), _record(3, Status.FAILED), None]
    line = progress_line(records, Text("ui.verdict.cleared"), ["a refusal"], "en")
    assert line.split("\n")[0].split(" · ")[1:] == ["1 of 4 done", "2 still running", "1 ended without a video"]
    assert line.startswith("4 run(s) started")
    assert line.endswith("\n\na refusal")


def test_a_run_as_json_names_its_video_by_app_url_never_a_server_path() -> None:
    shown = run_json(_record(7, Status.DONE, video="/srv/data/videos/run-7.mp4"))
    assert shown["id"] == 7 and shown["status"] == "done"
    assert shown["video"].endswith("run-7.mp4") and "/srv/data" not in shown["video"]
