"""The Recorder: a history write that fails is kept in memory and in a journal until the store takes it."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from avatar_demo.core.errors import ConfigError
from avatar_demo.core.status import Status
from avatar_demo.store.history import History
from avatar_demo.store.journal import Recorder, default_journal


class FullDisk(History):
    """A real History whose updates fail like a full disk while `full` is set."""

    full = False

    def update(self, row: int, **fields: Any) -> None:
        if self.full:
            raise sqlite3.OperationalError("database or disk is full")
        super().update(row, **fields)


@pytest.fixture
def store(tmp_path: Path) -> FullDisk:
    history = FullDisk(tmp_path / "data" / "history.sqlite3")
    yield history
    history.close()


@pytest.fixture
def journal(tmp_path: Path) -> Path:
    return tmp_path / "journal.jsonl"


def begin(recorder: Recorder) -> int:
    return recorder.begin("kling", owner="alice", prompt="", mode="std", external_task_id=None)


def journal_entries(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_working_store_records_at_once(store: FullDisk, journal: Path) -> None:
    """With a working store update() stores the write now, keeps nothing pending and writes no journal."""
    recorder = Recorder(store, journal)
    row = begin(recorder)
    assert recorder.update(row, task_id="t-1", status=Status.RUNNING) is True
    assert recorder.pending == {}
    assert not journal.exists()
    assert (store.get(row).task_id, store.get(row).status) == ("t-1", Status.RUNNING)
    recorder.ready()


def test_a_failed_write_is_kept_in_memory_and_in_the_journal(store: FullDisk, journal: Path) -> None:
    """update() on a failing store returns False, keeps the write in pending and appends it to the journal."""
    recorder = Recorder(store, journal)
    row = begin(recorder)
    store.full = True
    assert recorder.update(row, task_id="paid-1", status=Status.QUEUED) is False
    assert recorder.pending == {row: {"task_id": "paid-1", "status": Status.QUEUED}}
    assert journal_entries(journal) == [{"row": row, "fields": {"task_id": "paid-1", "status": "queued"}}]
    assert store.get(row).task_id is None  # the store really has not got it


def test_get_merges_pending_writes(store: FullDisk, journal: Path) -> None:
    """get() shows the stored row with the pending writes applied, statuses as Status."""
    recorder = Recorder(store, journal)
    row = begin(recorder)
    other = begin(recorder)
    store.full = True
    recorder.update(row, task_id="paid-1", status=Status.RUNNING)
    recorder.update(row, status=Status.DONE, video_path="v.mp4")
    record = recorder.get(row)
    assert (record.task_id, record.status, record.video_path) == ("paid-1", Status.DONE, "v.mp4")
    assert record.prompt == "" and record.owner == "alice"
    assert recorder.get(other).status is Status.SUBMITTING
    assert recorder.get(9999) is None
    assert recorder.pending[row] == {"task_id": "paid-1", "status": Status.DONE, "video_path": "v.mp4"}


def test_flush_stores_pending_writes_once_the_store_works(store: FullDisk, journal: Path) -> None:
    """flush() retries pending writes: False while the store fails, True and stored once it works."""
    recorder = Recorder(store, journal)
    row = begin(recorder)
    store.full = True
    recorder.update(row, task_id="paid-1", status=Status.RUNNING)
    assert recorder.flush() is False
    assert row in recorder.pending
    store.full = False
    assert recorder.flush() is True
    assert recorder.pending == {}
    stored = store.get(row)
    assert (stored.task_id, stored.status) == ("paid-1", Status.RUNNING)


def test_a_later_write_is_merged_with_the_pending_one(store: FullDisk, journal: Path) -> None:
    """The next successful update() also stores the earlier pending fields of that row."""
    recorder = Recorder(store, journal)
    row = begin(recorder)
    store.full = True
    recorder.update(row, task_id="paid-1")
    store.full = False
    assert recorder.update(row, status=Status.DONE) is True
    assert recorder.pending == {}
    assert (store.get(row).task_id, store.get(row).status) == ("paid-1", Status.DONE)


def test_ready_refuses_while_writes_are_pending(store: FullDisk, journal: Path) -> None:
    """ready() before a create refuses (naming AVATAR_DATA_DIR) while an earlier result is not stored."""
    recorder = Recorder(store, journal)
    row = begin(recorder)
    store.full = True
    recorder.update(row, task_id="paid-1")
    with pytest.raises(ConfigError, match="AVATAR_DATA_DIR"):
        recorder.ready()
    store.full = False
    recorder.ready()  # flushes first, then passes
    assert store.get(row).task_id == "paid-1"


def test_ready_and_begin_name_avatar_data_dir_on_a_closed_store(store: FullDisk, journal: Path) -> None:
    """A store that cannot be written makes ready() and begin() raise a ConfigError naming AVATAR_DATA_DIR."""
    recorder = Recorder(store, journal)
    store.close()
    with pytest.raises(ConfigError, match="AVATAR_DATA_DIR") as caught:
        recorder.ready()
    assert "nothing was sent" in str(caught.value)
    with pytest.raises(ConfigError, match="AVATAR_DATA_DIR"):
        begin(recorder)


def test_a_journal_left_by_an_earlier_run_is_replayed(store: FullDisk, journal: Path) -> None:
    """At start a journal from an earlier run is applied to the store in order and then removed."""
    first = Recorder(store, journal)
    row = begin(first)
    other = begin(first)
    store.full = True
    first.update(row, task_id="paid-1", status=Status.RUNNING)
    first.update(other, task_id="paid-2")
    first.update(row, status=Status.DONE)
    assert len(journal_entries(journal)) == 3
    store.full = False  # the process restarts with space freed: the memory copy is gone, the journal is not
    restarted = Recorder(store, journal)
    assert restarted.pending == {}
    assert (store.get(row).task_id, store.get(row).status) == ("paid-1", Status.DONE)
    assert store.get(other).task_id == "paid-2"
    assert not journal.exists()


def test_a_journal_replayed_on_a_still_failing_store_is_kept(store: FullDisk, journal: Path) -> None:
    """Replay on a store that still fails keeps the writes pending and the journal on disk."""
    row = begin(Recorder(store, journal))
    journal.write_text(json.dumps({"row": row, "fields": {"task_id": "paid-1", "status": "queued"}}) + "\n")
    store.full = True
    restarted = Recorder(store, journal)
    assert restarted.pending == {row: {"task_id": "paid-1", "status": "queued"}}
    assert restarted.get(row).status is Status.QUEUED
    assert journal.exists()
    store.full = False
    assert restarted.flush() is True
    assert store.get(row).task_id == "paid-1"


def test_replay_skips_damaged_lines(store: FullDisk, journal: Path) -> None:
    """Damaged journal lines (a cut-off write, wrong shape) are skipped; the good ones are applied."""
    row = begin(Recorder(store, journal))
    good = json.dumps({"row": row, "fields": {"task_id": "paid-1"}})
    journal.write_text("\n".join(['{"row": 1, "fiel', '{"no_row": true}', '"just a string"',
                                  json.dumps({"row": "x", "fields": {}}), good]) + "\n")
    Recorder(store, journal)
    assert store.get(row).task_id == "paid-1"
    assert not journal.exists()


def test_default_journal_is_per_data_dir(tmp_path: Path) -> None:
    """default_journal() is one stable file per data dir, outside it."""
    one = default_journal(tmp_path / "a")
    assert one == default_journal(tmp_path / "x" / ".." / "a")
    assert one != default_journal(tmp_path / "b")
    assert tmp_path not in one.parents
    assert one.suffix == ".jsonl"


def test_a_flushed_journal_is_not_replayed_over_newer_writes(store: FullDisk, journal: Path) -> None:
    """Once pending writes are stored, a restart must not replay them over what was recorded since."""
    recorder = Recorder(store, journal)
    row = begin(recorder)
    store.full = True
    recorder.update(row, task_id="paid-1", status=Status.RUNNING)
    store.full = False
    assert recorder.flush() is True
    recorder.update(row, status=Status.DONE, video_path="v.mp4")
    Recorder(store, journal)  # the next start
    assert store.get(row).status is Status.DONE
