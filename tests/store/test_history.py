"""The run history in SQLite: owners kept apart, statuses as Status, old words and old tables still read."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from avatar_demo.core.status import Status
from avatar_demo.store.history import History, Record, RunFacts


@pytest.fixture
def history(tmp_path: Path) -> History:
    opened = History(tmp_path / "db" / "history.sqlite3")
    yield opened
    opened.close()


def begin(history: History, owner: str | None = "alice", provider: str = "kling", **fields: object) -> int:
    values: dict[str, object] = {"owner": owner, "prompt": "hello", "mode": "std", "external_task_id": None, **fields}
    return history.begin(provider, **values)  # type: ignore[arg-type]


def test_begin_records_a_submitting_row(history: History) -> None:
    """begin() stores the row before the create is sent: status submitting, fields as given, ids increasing."""
    first = begin(history, changes=["trimmed audio"], byo_key=True, external_task_id="ext-1")
    second = begin(history)
    assert second > first
    record = history.get(first)
    assert isinstance(record, Record)
    assert record.status is Status.SUBMITTING
    assert (record.owner, record.provider, record.prompt, record.mode) == ("alice", "kling", "hello", "std")
    assert (record.external_task_id, record.changes, record.byo_key) == ("ext-1", ["trimmed audio"], True)
    assert (record.task_id, record.video_path, record.sent_at, record.media_token) == (None, None, None, None)
    assert history.get(second).byo_key is False
    assert history.get(9999) is None


def test_update_sets_fields_and_reads_status_back_as_status(history: History) -> None:
    """update() stores the given columns; a Status is stored by value and read back as the same Status."""
    row = begin(history)
    history.update(row, task_id="t-1", status=Status.RUNNING, sent_at=123.5, media_token="tok")
    record = history.get(row)
    assert (record.task_id, record.sent_at, record.media_token) == ("t-1", 123.5, "tok")
    assert record.status is Status.RUNNING
    history.update(row, status=Status.DONE, video_path="v.mp4", duration_s=4.5, units=1.6, message="ok")
    record = history.get(row)
    assert record.status is Status.DONE
    assert (record.task_id, record.video_path, record.duration_s, record.units, record.message) == \
        ("t-1", "v.mp4", 4.5, 1.6, "ok")
    assert record.updated_at >= record.created_at
    with sqlite3.connect(history.path) as raw:
        assert raw.execute("SELECT status FROM tasks WHERE id = ?", (row,)).fetchone()[0] == "done"


@pytest.mark.parametrize("status", list(Status))
def test_every_status_round_trips(history: History, status: Status) -> None:
    """Every Status written is read back as that Status."""
    row = begin(history)
    history.update(row, status=status)
    assert history.get(row).status is status


@pytest.mark.parametrize("field", ["owner", "provider", "prompt", "created_at", "updated_at", "id", "byo_key",
                                   "status; DROP TABLE tasks"])
def test_update_refuses_unknown_fields(history: History, field: str) -> None:
    """update() refuses any column outside its list and changes nothing."""
    row = begin(history)
    with pytest.raises(ValueError, match="unknown history fields"):
        history.update(row, **{field: "x", "task_id": "t-1"})
    record = history.get(row)
    assert (record.owner, record.task_id) == ("alice", None)


def test_for_owner_is_isolated_newest_first_and_limited(history: History) -> None:
    """for_owner() returns only that owner's rows, newest first, at most *limit*."""
    alice = [begin(history, owner="alice") for _ in range(4)]
    bob = begin(history, owner="bob")
    begin(history, owner=None)
    assert [r.id for r in history.for_owner("alice")] == alice[::-1]
    assert [r.id for r in history.for_owner("alice", limit=2)] == alice[:1:-1]
    assert [r.id for r in history.for_owner("bob")] == [bob]
    assert history.for_owner("carol") == []


#: Nothing more happens to these; every other status is followed or unresolved, so still unsettled.
SETTLED = {Status.DONE, Status.FAILED, Status.UNKNOWN}


@pytest.mark.parametrize("status", list(Status))
def test_unsettled_holds_every_status_but_the_final_ones(history: History, status: Status) -> None:
    """unsettled() lists followed and unresolved tasks; done, failed and outcome unknown are settled."""
    row = begin(history)
    history.update(row, status=status)
    assert ([r.id for r in history.unsettled()] == [row]) is (status not in SETTLED)


def test_unsettled_is_oldest_first_and_filters_by_owner(history: History) -> None:
    """unsettled() is oldest first, for everyone or one owner, and includes 0.1's 'creating' rows."""
    a1 = begin(history, owner="alice")
    b1 = begin(history, owner="bob")
    a_done = begin(history, owner="alice")
    a2 = begin(history, owner="alice")
    history.update(a_done, status=Status.FAILED)
    history.update(a2, status="creating")
    assert [r.id for r in history.unsettled()] == [a1, b1, a2]
    assert [r.id for r in history.unsettled("alice")] == [a1, a2]
    assert history.get(a2).status is Status.SUBMITTING


@pytest.mark.parametrize(
    ("word", "status", "unsettled"),
    [("creating", Status.SUBMITTING, True), ("succeeded", Status.DONE, False), ("unknown", Status.UNKNOWN, False)],
)
def test_words_from_version_0_1_are_mapped(history: History, word: str, status: Status, unsettled: bool) -> None:
    """Status words stored by version 0.1 read back as today's Status (and count as settled or not)."""
    row = begin(history)
    with sqlite3.connect(history.path) as raw:
        raw.execute("UPDATE tasks SET status = ? WHERE id = ?", (word, row))
    assert history.get(row).status is status
    assert (row in [r.id for r in history.unsettled()]) is unsettled


def test_external_in_use_is_per_provider(history: History) -> None:
    """external_in_use() is true only for an external id already sent to that same provider."""
    begin(history, provider="kling", external_task_id="ext-1")
    assert history.external_in_use("kling", "ext-1") is True
    assert history.external_in_use("kling", "ext-2") is False
    assert history.external_in_use("cometapi", "ext-1") is False


def test_forget_videos_clears_only_the_named_files(history: History) -> None:
    """forget_videos() drops the named video files from their rows, with the reason, and leaves others alone."""
    rows = [begin(history) for _ in range(3)]
    for row, name in zip(rows, ["a.mp4", "b.mp4", "c.mp4"]):
        history.update(row, status=Status.DONE, video_path=name, message="ready")
    history.forget_videos(["a.mp4", "c.mp4", "missing.mp4"], "expired")
    found = [(r.video_path, r.message) for r in history.all()]
    assert found == [(None, "expired"), ("b.mp4", "ready"), (None, "expired")]


def test_history_survives_reopening(tmp_path: Path) -> None:
    """Rows written by one History are read by the next one opened on the same file."""
    path = tmp_path / "history.sqlite3"
    first = History(path)
    row = first.begin("fal", owner="o", prompt="p", mode="pro", external_task_id=None)
    first.update(row, task_id="t", status=Status.QUEUED)
    first.close()
    second = History(path)
    record = second.get(row)
    assert (record.provider, record.mode, record.task_id, record.status) == ("fal", "pro", "t", Status.QUEUED)
    second.close()


#: The tasks table as version 0.1 created it (before sent_at, media_token and byo_key).
SCHEMA_0_1 = """
CREATE TABLE tasks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    owner TEXT,
    provider TEXT NOT NULL,
    task_id TEXT,
    external_task_id TEXT,
    status TEXT NOT NULL,
    prompt TEXT NOT NULL DEFAULT '',
    mode TEXT NOT NULL DEFAULT 'std',
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    video_path TEXT,
    duration_s REAL,
    units REAL,
    message TEXT,
    changes TEXT NOT NULL DEFAULT '[]'
);
"""


def test_a_0_1_table_is_migrated_and_its_rows_read(tmp_path: Path) -> None:
    """Opening a 0.1 database adds the new columns; old rows read with defaults and mapped statuses."""
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as raw:
        raw.executescript(SCHEMA_0_1)
        raw.execute("INSERT INTO tasks (owner, provider, task_id, status, prompt, mode, created_at, updated_at, "
                    "video_path, changes) VALUES ('alice', 'kling', 'k-1', 'succeeded', 'hi', 'pro', 1.0, 2.0, "
                    "'old.mp4', '[\"trimmed\"]')")
        raw.execute("INSERT INTO tasks (owner, provider, status, created_at, updated_at) "
                    "VALUES ('bob', 'kling', 'creating', 3.0, 3.0)")
    history = History(path)
    with sqlite3.connect(path) as raw:
        columns = {r[1] for r in raw.execute("PRAGMA table_info(tasks)")}
    assert {"sent_at", "media_token", "byo_key"} <= columns
    old = history.for_owner("alice")[0]
    assert (old.task_id, old.status, old.prompt, old.mode, old.video_path, old.changes) == \
        ("k-1", Status.DONE, "hi", "pro", "old.mp4", ["trimmed"])
    assert (old.sent_at, old.media_token, old.byo_key) == (None, None, False)
    assert [r.owner for r in history.unsettled()] == ["bob"]
    history.update(old.id, sent_at=5.0, media_token="tok")
    assert (history.get(old.id).sent_at, history.get(old.id).media_token) == (5.0, "tok")
    new = history.begin("fal", owner="alice", prompt="", mode="std", external_task_id=None, byo_key=True)
    assert history.get(new).byo_key is True
    history.close()
    reopened = History(path)  # a second migration pass finds nothing to add
    assert len(reopened.all()) == 3
    reopened.close()


def test_run_facts_are_kept_with_the_row(history: History) -> None:
    """begin() keeps where a run came from and what it was made of; rows of 0.2 read them as empty."""
    facts = RunFacts(batch="lab-1", parent=7, tweak={"prompt": ["a", "b"]}, image_ref="i.jpg", audio_ref="v.wav",
                     seconds=3.5, estimate=1.4, currency="units")
    record = history.get(begin(history, facts=facts))
    assert (record.batch, record.parent, record.tweak, record.image_ref, record.audio_ref) == \
        ("lab-1", 7, {"prompt": ["a", "b"]}, "i.jpg", "v.wav")
    assert (record.seconds, record.estimate, record.currency, record.rating, record.note) == (3.5, 1.4, "units", None, None)
    plain = history.get(begin(history))
    assert (plain.batch, plain.parent, plain.tweak, plain.image_ref) == (None, None, None, None)


def test_owned_reads_only_the_owners_row(history: History) -> None:
    """Another owner's row, a missing row and an empty owner all read as None."""
    row = begin(history, owner="alice")
    assert history.owned("alice", row).id == row
    assert history.owned("bob", row) is None
    assert history.owned("", row) is None and history.owned(None, row) is None
    assert history.owned("alice", row + 1) is None


def test_a_verdict_is_kept_only_by_its_owner(history: History) -> None:
    """rate() sets stars and note for the owner's own row; another owner changes nothing; None clears."""
    row = begin(history, owner="alice")
    assert history.rate("bob", row, 1, "mine now") is None
    rated = history.rate("alice", row, 4, "natural")
    assert (rated.rating, rated.note) == (4, "natural")
    assert history.get(row).updated_at == rated.updated_at
    cleared = history.rate("alice", row, None, "")
    assert (cleared.rating, cleared.note) == (None, None)


def test_runs_filter_by_rating_search_batch_and_ids(history: History) -> None:
    """for_owner() filters by least rating, prompt text (any case, LIKE wildcards taken literally), batch and ids."""
    rows = {prompt: begin(history, prompt=prompt, facts=RunFacts(batch="b1" if i < 2 else None))
            for i, prompt in enumerate(["Smile wide", "a slow NOD", "50% smile", "5 smiles"])}
    history.rate("alice", rows["Smile wide"], 5, None)
    history.rate("alice", rows["a slow NOD"], 2, None)
    begin(history, owner="bob", prompt="smile")
    ids = lambda found: [r.id for r in found]  # noqa: E731
    assert ids(history.for_owner("alice", min_rating=3)) == [rows["Smile wide"]]
    assert ids(history.for_owner("alice", search="smile")) == [rows["5 smiles"], rows["50% smile"], rows["Smile wide"]]
    assert ids(history.for_owner("alice", search="50%")) == [rows["50% smile"]]
    assert ids(history.for_owner("alice", search="nod")) == [rows["a slow NOD"]]
    assert ids(history.for_owner("alice", batch="b1")) == [rows["a slow NOD"], rows["Smile wide"]]
    assert ids(history.for_owner("alice", ids=[rows["5 smiles"], 999])) == [rows["5 smiles"]]
    assert history.for_owner("alice", ids=[]) == []
