"""Exports: one zip with the videos, the inputs once, and the tables; written to disk as it is built, capped."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import pytest

from avatar_demo.core.errors import InputError
from avatar_demo.core.status import Status
from avatar_demo.store.export import COLUMNS, write_export
from avatar_demo.store.database import Database
from avatar_demo.store.history import History, RunFacts
from avatar_demo.store.inputs import InputStore
from avatar_demo.store.storage import Retention, Storage


@pytest.fixture
def place(tmp_path: Path):  # type: ignore[no-untyped-def]
    storage = Storage(tmp_path / "data", Retention())
    storage.ensure()
    history = History(Database(f"sqlite:///{storage.database}"))
    inputs = InputStore(storage.inputs)
    yield storage, history, inputs
    history.close()


def _run(storage: Storage, history: History, inputs: InputStore, prompt: str, *, video: bytes | None,
         photo: Path, parent: int | None = None) -> int:
    row = history.begin("kling", owner="alice", prompt=prompt, mode="std", external_task_id=None, facts=RunFacts(
        batch="lab-x", parent=parent, image_ref=inputs.keep(photo), estimate=1.2, currency="units", seconds=3.0))
    if video is not None:
        name = storage.new_video()
        name.write_bytes(video)
        history.update(row, status=Status.DONE, video_path=name.name, duration_s=3.0, units=1.2)
    return row


def test_the_zip_holds_each_video_the_inputs_once_and_both_tables(place, tmp_path: Path) -> None:
    storage, history, inputs = place
    photo = tmp_path / "portrait.jpg"
    photo.write_bytes(b"jpeg bytes")
    first = _run(storage, history, inputs, "smile", video=b"\x00\x00\x00\x18ftypmp42 one", photo=photo)
    second = _run(storage, history, inputs, 'say "hi", wave', video=b"\x00\x00\x00\x18ftypmp42 two", photo=photo,
                  parent=first)
    failed = _run(storage, history, inputs, "frown", video=None, photo=photo)
    history.rate("alice", second, 5, "best, so far")
    export = write_export(history.for_owner("alice"), storage, inputs, max_bytes=None)
    assert (export.runs, export.videos) == (3, 2) and export.path.parent == storage.exports
    with zipfile.ZipFile(export.path) as archive:
        names = archive.namelist()
        assert names.count(next(n for n in names if n.startswith("inputs/photo-"))) == 1
        assert archive.read(f"videos/run-{second}.mp4").endswith(b"two")
        rows = list(csv.DictReader(io.StringIO(archive.read("runs.csv").decode())))
        as_json = json.loads(archive.read("runs.json"))
    assert tuple(rows[0]) == COLUMNS
    assert [r["id"] for r in rows] == [str(first), str(second), str(failed)]
    assert rows[1]["prompt"] == 'say "hi", wave' and rows[1]["parent"] == str(first)
    assert (rows[1]["rating"], rows[1]["note"], rows[1]["cost"], rows[1]["cost_is"]) == ("5", "best, so far", "1.2", "charged")
    assert (rows[2]["video"], rows[2]["cost"], rows[2]["cost_is"]) == ("", "1.2", "estimate")
    assert [r["id"] for r in as_json] == [first, second, failed] and as_json[1]["rating"] == 5


def test_an_export_over_the_cap_is_refused_before_anything_is_written(place, tmp_path: Path) -> None:
    storage, history, inputs = place
    photo = tmp_path / "p.jpg"
    photo.write_bytes(b"p" * 1000)
    _run(storage, history, inputs, "big", video=b"v" * 200_000, photo=photo)
    with pytest.raises(InputError, match="limit here is 0.1 MB: choose fewer runs"):
        write_export(history.for_owner("alice"), storage, inputs, max_bytes=100_000)
    assert list(storage.exports.iterdir()) == []


def test_nothing_to_export_says_what_to_do(place) -> None:
    storage, history, inputs = place
    with pytest.raises(InputError, match="no runs to export: make some first"):
        write_export([], storage, inputs, max_bytes=None)


@pytest.mark.parametrize("text", ['=HYPERLINK("https://evil.example","click")', "+1+cmd|' /C calc'!A0", "-2+3",
                                  "@SUM(A1:A2)", "\tindented", "\rreturn"])
def test_csv_cells_a_spreadsheet_would_run_are_neutralized(place, tmp_path: Path, text: str) -> None:
    """Attack: a prompt or note starting with =, +, -, @ (or a tab, a CR) went into runs.csv raw, and a spreadsheet
    opening the export ran it as a formula. The cell now starts with ', runs.json keeps the words as they were."""
    storage, history, inputs = place
    photo = tmp_path / "p.jpg"
    photo.write_bytes(b"jpeg")
    row = _run(storage, history, inputs, text, video=None, photo=photo)
    history.rate("alice", row, 3, text)
    export = write_export(history.for_owner("alice"), storage, inputs, max_bytes=None)
    with zipfile.ZipFile(export.path) as archive:
        rows = list(csv.DictReader(io.StringIO(archive.read("runs.csv").decode(), newline="")))
        as_json = json.loads(archive.read("runs.json"))
    assert rows[0]["prompt"] == "'" + text and rows[0]["note"] == "'" + text
    assert as_json[0]["prompt"] == text and rows[0]["cost"] == "1.2" and rows[0]["gateway"] == "kling"
