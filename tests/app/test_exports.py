"""The export shelf: run numbers bounded before any work, one export at a time per visitor, a few an hour, their
own budget, and the free-space floor."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from avatar_demo.app.exports import MAX_IDS, ExportShelf, parse_run_ids
from avatar_demo.core.errors import DiskFull, InputError, NotAllowed


@pytest.mark.parametrize(("value", "expected"), [
    ("", None), (None, None), ("12, 13 14", [12, 13, 14]), ("12,12, 12", [12]), ([3, "4", 4.0, "5.0"], [3, 4, 5]),
    ("  7  ", [7]), (["8", 8], [8]), (", ,", None),
])
def test_run_numbers_are_read_and_de_duplicated(value: object, expected: list[int] | None) -> None:
    assert parse_run_ids(value) == expected


@pytest.mark.parametrize("value", ["1e400", "nan", "inf", "-3", "12.5", "twelve", "0x10", [True], ["1e999"],
                                   "99999999999999999999999", [float("nan")]])
def test_anything_but_whole_run_numbers_is_refused_in_words(value: object) -> None:
    """Attack: ids="1e400" raised OverflowError inside Gradio (a traceback, an empty error)."""
    with pytest.raises(InputError, match="whole numbers"):
        parse_run_ids(value)


@pytest.mark.parametrize("value", [", ".join(["1"] * 100_000), ["1"] * (MAX_IDS + 1),
                                   " ".join(str(n) for n in range(MAX_IDS + 1)), "1," * 1_000_000])
def test_more_run_numbers_than_one_export_takes_are_refused_before_they_are_read(value: object) -> None:
    """Attack: 100,000 repeated ids were parsed and checked one query each, in the event loop."""
    with pytest.raises(InputError, match=f"one export takes at most {MAX_IDS}"):
        parse_run_ids(value)


def test_a_thousand_distinct_run_numbers_are_accepted() -> None:
    assert parse_run_ids(list(range(1, MAX_IDS + 1))) == list(range(1, MAX_IDS + 1))


def test_one_export_at_a_time_per_visitor(tmp_path: Path) -> None:
    shelf = ExportShelf(tmp_path / "shelf", min_free_mb=0)
    with shelf.turn("alice"):
        with pytest.raises(NotAllowed, match="still being made"), shelf.turn("alice"):
            pass
        with shelf.turn("bob"):  # someone else is not held up
            pass
    with shelf.turn("alice"):  # and once it is made, the next one may start
        pass


def test_a_visitor_makes_a_few_exports_an_hour(tmp_path: Path) -> None:
    now = [1000.0]
    shelf = ExportShelf(tmp_path / "shelf", min_free_mb=0, per_hour=3, clock=lambda: now[0])
    for _ in range(3):
        with shelf.turn("alice"):
            now[0] += 60
    with pytest.raises(NotAllowed, match="3 exports in the last hour.*try again in 57 minutes"), shelf.turn("alice"):
        pass
    with shelf.turn("bob"):
        pass
    # A refused or failed export does not count; an hour after the first, one more is allowed.
    with pytest.raises(InputError), shelf.turn("carol"):
        raise InputError("nothing to export")
    now[0] = 1000.0 + 3600.5
    with shelf.turn("alice"):
        pass


def test_exports_waiting_to_be_downloaded_have_their_own_budget(tmp_path: Path) -> None:
    shelf = ExportShelf(tmp_path / "shelf", min_free_mb=0, budget_mb=1.0)
    (shelf.folder / "runs-a.zip").write_bytes(os.urandom(600 * 1024))
    shelf.room(300 * 1024)
    with pytest.raises(NotAllowed, match="Too many exports are waiting"):
        shelf.room(500 * 1024)
    # An hour later the first zip is gone, and there is room again.
    old = shelf.folder / "runs-a.zip"
    os.utime(old, (0, 0))
    shelf.room(500 * 1024)
    assert not old.exists()


def test_no_export_below_the_free_space_floor(tmp_path: Path) -> None:
    shelf = ExportShelf(tmp_path / "shelf", min_free_mb=1e9)
    with pytest.raises(DiskFull, match="AVATAR_MIN_FREE_MB"):
        shelf.room(1)
