"""The run history in the shared database: owners kept apart, statuses as stable ids, each account's line."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from avatar_demo.core.status import Status
from avatar_demo.store.database import Database
from avatar_demo.store.history import RECENT, History, Record, RunFacts


def begin(history: History, owner: str | None = "alice", provider: str = "kling", **fields: object) -> int:
    values: dict[str, object] = {"owner": owner, "prompt": "hello", "mode": "std", "external_task_id": None, **fields}
    return history.begin(provider, **values)  # type: ignore[arg-type]


def stored_status(db_path: Path, row: int) -> str:
    """What the file itself holds (not what the history reads back)."""
    with sqlite3.connect(db_path) as raw:
        return raw.execute("SELECT status FROM tasks WHERE id = ?", (row,)).fetchone()[0]


def test_begin_records_a_pending_row(history: History) -> None:
    """begin() stores the row before anything is sent: pending by default, fields as given, ids increasing."""
    first = begin(history, changes=["trimmed audio"], byo_key=True, external_task_id="ext-1")
    second = begin(history, status=Status.SUBMITTING)
    assert second > first
    record = history.get(first)
    assert isinstance(record, Record)
    assert record.status is Status.PENDING
    assert (record.owner, record.provider, record.prompt, record.mode) == ("alice", "kling", "hello", "std")
    assert (record.external_task_id, record.changes, record.byo_key) == ("ext-1", ["trimmed audio"], True)
    assert (record.task_id, record.video_path, record.sent_at, record.media_token) == (None, None, None, None)
    assert (record.detail, record.stop) == (None, False)
    assert (history.get(second).status, history.get(second).byo_key) == (Status.SUBMITTING, False)
    assert history.get(9999) is None


def test_update_sets_fields_and_stores_the_status_id(history: History, db_path: Path) -> None:
    """update() stores the given columns; a Status is stored as its id and read back as the same Status."""
    row = begin(history)
    history.update(row, task_id="t-1", status=Status.RUNNING, sent_at=123.5, media_token="tok", detail="processing")
    record = history.get(row)
    assert (record.task_id, record.sent_at, record.media_token, record.detail) == ("t-1", 123.5, "tok", "processing")
    assert record.status is Status.RUNNING
    history.update(row, status=Status.DONE, video_path="v.mp4", duration_s=4.5, units=1.6, message="ok", stop=True)
    record = history.get(row)
    assert record.status is Status.DONE
    assert (record.task_id, record.video_path, record.duration_s, record.units, record.message, record.stop) == \
        ("t-1", "v.mp4", 4.5, 1.6, "ok", True)
    assert record.updated_at >= record.created_at
    assert stored_status(db_path, row) == "done"


@pytest.mark.parametrize("status", list(Status))
def test_every_status_round_trips(history: History, db_path: Path, status: Status) -> None:
    """Every Status written is stored as its id and read back as that Status."""
    row = begin(history)
    history.update(row, status=status)
    assert history.get(row).status is status
    assert stored_status(db_path, row) == status.value


@pytest.mark.parametrize("field", ["owner", "provider", "prompt", "created_at", "updated_at", "id", "byo_key",
                                   "account", "visitor", "reserved_units", "status; DROP TABLE tasks"])
def test_update_refuses_unknown_fields(history: History, field: str) -> None:
    """update() refuses any column outside its list (a run's facts are fixed when it begins) and changes nothing."""
    row = begin(history)
    with pytest.raises(ValueError, match="unknown history fields"):
        history.update(row, **{field: "x", "task_id": "t-1"})
    record = history.get(row)
    assert (record.owner, record.task_id) == ("alice", None)


def test_set_status_if_changes_only_an_expected_status(history: History) -> None:
    """set_status_if() updates the row only while its status is one of those expected, and says whether it did."""
    changed: list[int] = []
    history.on_change = changed.append
    row = begin(history)
    changed.clear()
    assert history.set_status_if(row, [Status.RUNNING, Status.QUEUED], status=Status.DONE) is False
    assert (history.get(row).status, changed) == (Status.PENDING, [])
    assert history.set_status_if(row, [Status.PENDING], status=Status.CANCELLED, message="cancelled") is True
    assert (history.get(row).status, history.get(row).message, changed) == (Status.CANCELLED, "cancelled", [row])
    assert history.set_status_if(row, [Status.PENDING], status=Status.SUBMITTING) is False
    assert history.get(row).status is Status.CANCELLED


def test_each_change_tells_the_watcher(history: History) -> None:
    """begin() and update() call on_change with the row, so pages watching it wake at once."""
    changed: list[int] = []
    history.on_change = changed.append
    row = begin(history)
    history.update(row, status=Status.RUNNING)
    assert changed == [row, row]


def test_many_reads_several_rows_by_id(history: History) -> None:
    """many() returns the rows asked for that exist, by id; asking for none asks nothing."""
    rows = [begin(history) for _ in range(3)]
    found = history.many([rows[2], rows[0], rows[0], 999])
    assert sorted(found) == [rows[0], rows[2]] and found[rows[2]].id == rows[2]
    assert history.many([]) == {}


def test_for_owner_is_isolated_newest_first_and_limited(history: History) -> None:
    """for_owner() returns only that owner's rows, newest first, at most *limit*."""
    alice = [begin(history, owner="alice") for _ in range(4)]
    bob = begin(history, owner="bob")
    begin(history, owner=None)
    assert [r.id for r in history.for_owner("alice")] == alice[::-1]
    assert [r.id for r in history.for_owner("alice", limit=2)] == alice[:1:-1]
    assert [r.id for r in history.for_owner("bob")] == [bob]
    assert history.for_owner("carol") == []


#: Nobody follows these, yet the gateway may still finish (and bill) them, or have made them: looked at again.
UNRESOLVED = {Status.OVERDUE, Status.STOPPED, Status.UNCLEAR}


@pytest.mark.parametrize("status", list(Status))
def test_unresolved_holds_exactly_the_runs_worth_another_look(history: History, status: Status) -> None:
    """unresolved() lists overdue, stopped and unclear runs; active and final ones are not in it."""
    row = begin(history)
    history.update(row, status=status)
    assert ([r.id for r in history.unresolved("alice")] == [row]) is (status in UNRESOLVED)


def test_unresolved_is_oldest_first_and_only_the_owners(history: History) -> None:
    """unresolved() is one owner's, oldest first."""
    a1 = begin(history, owner="alice")
    b1 = begin(history, owner="bob")
    a_done = begin(history, owner="alice")
    a2 = begin(history, owner="alice")
    for row, status in ((a2, Status.STOPPED), (b1, Status.OVERDUE), (a_done, Status.FAILED), (a1, Status.UNCLEAR)):
        history.update(row, status=status)
    assert [r.id for r in history.unresolved("alice")] == [a1, a2]
    assert [r.id for r in history.unresolved("bob")] == [b1]


@pytest.mark.parametrize(
    ("word", "status"),
    [("creating", Status.SUBMITTING), ("succeeded", Status.DONE), ("still running", Status.OVERDUE),
     ("a word nobody wrote", Status.OVERDUE)],
)
def test_a_stored_word_reads_as_a_status(history: History, db_path: Path, word: str, status: Status) -> None:
    """A word earlier versions stored reads back as today's Status; a word we never knew reads as overdue (it may
    still bill, so it is looked at again, never taken as ended)."""
    row = begin(history)
    with sqlite3.connect(db_path) as raw:
        raw.execute("UPDATE tasks SET status = ? WHERE id = ?", (word, row))
    assert history.get(row).status is status


def account_run(history: History, account: str, status: Status) -> int:
    row = begin(history, facts=RunFacts(account=account))
    history.update(row, status=status)
    return row


def test_an_accounts_line_place_waiters_and_tasks_at_the_gateway(history: History) -> None:
    """place() counts the pending runs of the account up to the row; waiting() is its waiting runs, oldest first;
    at_gateway() counts its runs with a create sent or a task unfinished there. Other accounts never count."""
    runs = {status: account_run(history, "acc", status) for status in Status}
    for status in Status:
        account_run(history, "other", status)
    first, second = account_run(history, "acc", Status.PENDING), account_run(history, "acc", Status.PENDING)
    late_waiter = account_run(history, "acc", Status.WAITING)
    assert [history.place(row, "acc") for row in (runs[Status.PENDING], first, second)] == [1, 2, 3]
    assert history.waiting("acc") == [runs[Status.WAITING], late_waiter]
    at_gateway = {Status.SUBMITTING, Status.CONFIRMING, Status.QUEUED, Status.RUNNING, Status.UNREACHABLE}
    assert history.at_gateway("acc") == len(at_gateway)
    assert (history.at_gateway("nobody"), history.waiting("nobody")) == (0, [])


def test_typical_seconds_is_the_median_of_recent_finished_runs(history: History) -> None:
    """typical_seconds() is the median time of the provider's last RECENT done runs; None before there are any."""
    assert history.typical_seconds("kling") is None
    # Older slow runs outnumber the last RECENT; newer failed runs and another gateway's runs do not count.
    runs = [("kling", Status.DONE, 1000.0, 2 * RECENT), ("kling", Status.DONE, 10.0, RECENT),
            ("kling", Status.FAILED, 5000.0, RECENT), ("fal", Status.DONE, 70.0, RECENT),
            ("kling", Status.DONE, None, RECENT)]
    for provider, status, seconds, count in runs:
        for _ in range(count):
            history.update(begin(history, provider=provider), status=status, elapsed_s=seconds)
    assert history.typical_seconds("kling") == 10.0
    assert history.typical_seconds("fal") == 70.0
    assert history.typical_seconds("cometapi") is None


def test_active_refs_are_the_inputs_of_runs_not_ended(history: History) -> None:
    """active_refs() holds the kept inputs of pending and followed runs; ended and unresolved runs let theirs go."""
    for status in Status:
        row = begin(history, facts=RunFacts(image_ref=f"{status.value}.jpg", audio_ref=f"{status.value}.wav"))
        history.update(row, status=status)
    expected = {f"{s.value}.{ext}" for s in Status if s.active for ext in ("jpg", "wav")}
    assert history.active_refs() == expected
    assert "pending.jpg" in expected and "done.jpg" not in expected


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
    """Rows written through one Database are read by the next one opened on the same file."""
    url = f"sqlite:///{tmp_path / 'history.sqlite3'}"
    first = History(Database(url))
    row = first.begin("fal", owner="o", prompt="p", mode="pro", external_task_id=None)
    first.update(row, task_id="t", status=Status.QUEUED)
    first.close()
    second = History(Database(url))
    record = second.get(row)
    assert (record.provider, record.mode, record.task_id, record.status) == ("fal", "pro", "t", Status.QUEUED)
    second.close()


def test_run_facts_are_kept_with_the_row(history: History) -> None:
    """begin() keeps what a run is made of, where it came from and whose it is; a plain run reads them as empty."""
    facts = RunFacts(batch="lab-1", parent=7, tweak={"prompt": ["a", "b"]}, image_ref="i.jpg", audio_ref="v.wav",
                     audio_id="tts-1", seconds=3.5, estimate=1.4, currency="units", watermark=False,
                     callback_url="https://example.test/cb", language="zh", account="kling:ak-1", visitor="ip:1.2.3.4",
                     reserved_day="2025-01-02", reserved_units=1.4)
    record = history.get(begin(history, facts=facts))
    assert record.facts == facts
    assert (record.batch, record.parent, record.tweak, record.image_ref, record.audio_ref) == \
        ("lab-1", 7, {"prompt": ["a", "b"]}, "i.jpg", "v.wav")
    assert (record.seconds, record.estimate, record.currency, record.rating, record.note) == (3.5, 1.4, "units", None, None)
    assert (record.watermark, record.account, record.reserved_units) == (False, "kling:ak-1", 1.4)
    plain = history.get(begin(history))
    assert plain.facts == RunFacts()
    assert (plain.batch, plain.parent, plain.tweak, plain.image_ref, plain.watermark) == (None, None, None, None, None)


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
