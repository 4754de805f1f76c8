"""Kept inputs: one copy per distinct content, found by name only, their retention clock renewed by use."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from avatar_demo.store.inputs import InputStore


def test_the_same_content_is_kept_once(tmp_path: Path) -> None:
    store = InputStore(tmp_path / "inputs")
    (tmp_path / "a.jpg").write_bytes(b"photo-1")
    (tmp_path / "b.jpg").write_bytes(b"photo-1")
    (tmp_path / "c.mp3").write_bytes(b"voice")
    first, second, voice = (store.keep(tmp_path / n) for n in ("a.jpg", "b.jpg", "c.mp3"))
    assert first == second and first.endswith(".jpg") and voice.endswith(".mp3")
    assert sorted(p.name for p in (tmp_path / "inputs").iterdir()) == sorted({first, voice})
    assert store.path(first).read_bytes() == b"photo-1"


def test_the_kept_copy_outlives_the_jobs_own(tmp_path: Path) -> None:
    """The job deletes its folder once the create is sent: the kept input stays."""
    store = InputStore(tmp_path / "inputs")
    job = tmp_path / "job" / "portrait.jpg"
    job.parent.mkdir()
    job.write_bytes(b"photo")
    name = store.keep(job)
    job.unlink()
    assert store.path(name).read_bytes() == b"photo"


def test_using_an_input_again_renews_its_retention_clock(tmp_path: Path) -> None:
    store = InputStore(tmp_path / "inputs")
    (tmp_path / "a.wav").write_bytes(b"voice")
    name = store.keep(tmp_path / "a.wav")
    old = time.time() - 30 * 86400
    os.utime(store.path(name), (old, old))
    store.keep(tmp_path / "a.wav")
    assert store.path(name).stat().st_mtime > old + 86400


@pytest.mark.parametrize("name", [None, "", "../history.sqlite3", "a" * 40 + ".exe", "A" * 40 + ".jpg",
                                  "0" * 39 + ".jpg", "/etc/passwd"])
def test_only_our_own_names_are_found(tmp_path: Path, name: str | None) -> None:
    store = InputStore(tmp_path / "inputs")
    (tmp_path / "inputs").mkdir()
    (tmp_path / "history.sqlite3").write_bytes(b"x")
    assert store.path(name) is None


def test_the_shared_index_keeps_an_input_another_replica_used(tmp_path: Path) -> None:
    """Retention reads when any replica last used a kept input: a file whose own clock is old (a bucket mount that
    keeps no modification times) stays while the index says it was used; once neither says so, it goes."""
    import os
    import time

    from avatar_demo.store.database import Database
    from avatar_demo.store.kept import KeptIndex
    from avatar_demo.store.storage import Retention, Storage

    storage = Storage(tmp_path / "data", Retention(days=1.0))
    storage.ensure()
    index = KeptIndex(Database(f"sqlite:///{tmp_path / 'shared.sqlite3'}"))
    store = InputStore(storage.inputs, index)
    source = tmp_path / "photo.jpg"
    source.write_bytes(b"\xff\xd8 a prepared photo")
    name = store.keep(source)
    week_ago = time.time() - 7 * 86400
    os.utime(storage.inputs / name, (week_ago, week_ago))  # the file's own clock says a week
    report = storage.sweep(inputs_used=store.last_used())
    assert name not in report.expired and store.path(name) is not None, "used today, by the index"
    index.used(name, now=week_ago)
    report = storage.sweep(inputs_used=store.last_used())
    assert name in report.expired and store.path(name) is None
