"""The allowance ledger: reservations that never overdraw under contention, and exact releases."""

from __future__ import annotations

import datetime as dt
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from avatar_demo.store.ledger import EVERYONE, Ledger, Reservation, Usage, utc_day

DAY = "2025-01-02"
LIMITS = {"max_runs": 3, "max_speech": 60, "max_units": 10.0}


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger(tmp_path / "ledger.sqlite3")


def reserve(ledger: Ledger, visitor: str = "ip:1.2.3.4", *, runs: int = 1, speech: int = 10, units: float = 1.0,
            day: str = DAY, **limits: float) -> Reservation | Usage:
    return ledger.reserve(visitor, day, runs=runs, speech=speech, units=units, **{**LIMITS, **limits})


def race(calls: int, work) -> list[Reservation | Usage]:  # type: ignore[no-untyped-def]
    """Run *work(i)* on many threads released at the same moment."""
    start = threading.Barrier(calls)

    def one(i: int) -> Reservation | Usage:
        start.wait()
        return work(i)

    with ThreadPoolExecutor(max_workers=calls) as pool:
        return list(pool.map(one, range(calls)))


def test_a_reservation_is_taken_and_counted(ledger: Ledger) -> None:
    """A reservation that fits is returned and shows in the visitor's and everyone's usage."""
    taken = reserve(ledger, runs=1, speech=12, units=1.5)
    assert taken == Reservation(DAY, "ip:1.2.3.4", 1, 12, 1.5)
    assert ledger.usage("ip:1.2.3.4", DAY) == Usage(1, 12, 1.5, 1.5)
    assert ledger.usage("ip:9.9.9.9", DAY) == Usage(0, 0, 0.0, 1.5)


@pytest.mark.parametrize(
    ("spent", "ask", "fits"),
    [
        ({"runs": 2}, {"runs": 1}, True),
        ({"runs": 3}, {"runs": 1}, False),
        ({"speech": 50}, {"speech": 10}, True),
        ({"speech": 50}, {"speech": 11}, False),
        ({"units": 9.0}, {"units": 1.0}, True),
        ({"units": 9.0}, {"units": 1.01}, False),
    ],
)
def test_limits_are_inclusive(ledger: Ledger, spent: dict[str, float], ask: dict[str, float], fits: bool) -> None:
    """A reservation reaching a limit exactly fits; one going past it is refused with the usage that refused it."""
    base = {"runs": 0, "speech": 0, "units": 0.0}
    reserve(ledger, **{**base, **spent})
    answer = reserve(ledger, **{**base, **ask})
    assert isinstance(answer, Reservation) is fits
    if not fits:
        assert answer == ledger.usage("ip:1.2.3.4", DAY)


def test_float_units_adding_up_to_the_budget_fit(ledger: Ledger) -> None:
    """Three reservations of 0.1 units fit a 0.3 budget (float sums are not a refusal)."""
    answers = [reserve(ledger, f"ip:10.0.0.{i}", units=0.1, max_units=0.3) for i in range(3)]
    assert all(isinstance(a, Reservation) for a in answers)
    assert isinstance(reserve(ledger, "ip:10.0.0.9", units=0.1, max_units=0.3), Usage)


def test_the_global_budget_is_shared_by_all_visitors(ledger: Ledger) -> None:
    """Units are counted per visitor and in the everyone row; the budget is checked against everyone's."""
    reserve(ledger, "ip:a", units=6.0)
    refused = reserve(ledger, "ip:b", units=5.0)
    assert refused == Usage(0, 0, 0.0, 6.0)
    reserve(ledger, "ip:b", units=4.0)
    assert ledger.usage("ip:a", DAY).units == 6.0
    assert ledger.usage("ip:b", DAY).units == 4.0
    assert ledger.usage(EVERYONE, DAY) == Usage(0, 0, 10.0, 10.0)  # the everyone row counts no runs


def test_days_are_separate(ledger: Ledger) -> None:
    """Spending on one UTC day leaves the next day's allowance whole."""
    for _ in range(3):
        reserve(ledger)
    assert isinstance(reserve(ledger), Usage)
    assert isinstance(reserve(ledger, day="2025-01-03"), Reservation)
    assert ledger.usage("ip:1.2.3.4", "2025-01-03") == Usage(1, 10, 1.0, 1.0)


def test_utc_day_is_the_date_key() -> None:
    """utc_day() formats the day as YYYY-MM-DD (today's UTC date when no moment is given)."""
    assert utc_day(dt.datetime(2025, 1, 2, 23, 59, tzinfo=dt.timezone.utc)) == "2025-01-02"
    assert utc_day(dt.datetime(2025, 1, 3, 0, 0, tzinfo=dt.timezone.utc)) == "2025-01-03"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", utc_day())


@pytest.mark.parametrize("round_", range(3))
def test_one_visitor_racing_never_exceeds_max_runs(ledger: Ledger, round_: int) -> None:
    """Many simultaneous reservations by one visitor: exactly max_runs succeed."""
    answers = race(24, lambda i: reserve(ledger, runs=1, speech=0, units=0.0, max_runs=5))
    assert sum(isinstance(a, Reservation) for a in answers) == 5
    assert ledger.usage("ip:1.2.3.4", DAY).runs == 5


@pytest.mark.parametrize("round_", range(3))
def test_many_visitors_racing_never_exceed_max_units(ledger: Ledger, round_: int) -> None:
    """Many visitors reserving at once: exactly as many succeed as the global budget holds."""
    answers = race(24, lambda i: reserve(ledger, f"ip:10.0.0.{i}", runs=1, speech=0, units=1.0, max_units=7.0))
    winners = [a for a in answers if isinstance(a, Reservation)]
    assert len(winners) == 7
    assert ledger.usage(EVERYONE, DAY).units == 7.0
    assert sum(ledger.usage(w.visitor, DAY).units for w in winners) == 7.0


def test_separate_ledgers_on_one_file_never_overdraw(tmp_path: Path) -> None:
    """Ledgers opened on the same file (another worker) also never overdraw: the transaction is the guard."""
    ledgers = [Ledger(tmp_path / "ledger.sqlite3") for _ in range(6)]
    answers = race(24, lambda i: reserve(ledgers[i % 6], runs=1, speech=0, units=0.0, max_runs=4))
    assert sum(isinstance(a, Reservation) for a in answers) == 4
    assert ledgers[0].usage("ip:1.2.3.4", DAY).runs == 4


def test_release_gives_back_exactly_the_reservation(ledger: Ledger) -> None:
    """release() returns one reservation's runs, speech and units to the visitor and to everyone, nothing more."""
    kept = reserve(ledger, "ip:a", runs=1, speech=20, units=2.0)
    given_back = reserve(ledger, "ip:a", runs=1, speech=15, units=3.0)
    reserve(ledger, "ip:b", runs=1, speech=5, units=1.0)
    assert isinstance(kept, Reservation) and isinstance(given_back, Reservation)
    ledger.release(given_back)
    assert ledger.usage("ip:a", DAY) == Usage(1, 20, 2.0, 3.0)
    assert ledger.usage("ip:b", DAY) == Usage(1, 5, 1.0, 3.0)


def test_release_never_goes_below_zero(ledger: Ledger) -> None:
    """Releasing twice (or a reservation larger than what is left) floors every count at zero."""
    taken = reserve(ledger, runs=1, speech=10, units=2.0)
    ledger.release(taken)
    ledger.release(taken)
    assert ledger.usage("ip:1.2.3.4", DAY) == Usage(0, 0, 0.0, 0.0)
    ledger.release(Reservation(DAY, "ip:nobody", 2, 30, 5.0))
    assert ledger.usage("ip:nobody", DAY) == Usage(0, 0, 0.0, 0.0)


def test_a_released_allowance_can_be_reserved_again(ledger: Ledger) -> None:
    """After a release the visitor may spend that allowance again (a refused create costs nothing)."""
    answers = [reserve(ledger) for _ in range(3)]
    assert isinstance(reserve(ledger), Usage)
    ledger.release(answers[0])  # type: ignore[arg-type]
    assert isinstance(reserve(ledger), Reservation)
    assert isinstance(reserve(ledger), Usage)


def test_settle_books_the_charge_in_place_of_the_estimate(ledger: Ledger) -> None:
    """The visitor's and everyone's units move by the difference; never below zero."""
    first = reserve(ledger, "ip:1.1.1.1", units=2.0)
    second = reserve(ledger, "ip:2.2.2.2", units=3.0)
    ledger.settle(first, 4.5)
    assert ledger.usage("ip:1.1.1.1", DAY).units == pytest.approx(4.5)
    assert ledger.usage("ip:1.1.1.1", DAY).all_units == pytest.approx(7.5)
    ledger.settle(second, 0.0)
    assert ledger.usage("ip:2.2.2.2", DAY).units == 0.0
    assert ledger.usage("ip:2.2.2.2", DAY).runs == 1  # the run itself stays counted
    assert ledger.usage("ip:2.2.2.2", DAY).all_units == pytest.approx(4.5)


def test_speech_keeps_its_maker_and_length_and_an_old_ledger_gains_the_column(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as old:  # the table as the first version wrote it
        old.execute("CREATE TABLE speech (audio_id TEXT PRIMARY KEY, visitor TEXT NOT NULL, created_at REAL NOT NULL)")
        old.execute("INSERT INTO speech VALUES ('a-0', 'ip:1.1.1.1', 0)")
    ledger = Ledger(path)
    ledger.remember_speech("ip:1.1.1.1", "a-1", 6.5)
    assert (ledger.speech("a-1").visitor, ledger.speech("a-1").seconds) == ("ip:1.1.1.1", 6.5)
    assert ledger.speech("a-0").seconds is None and ledger.speech_maker("a-0") == "ip:1.1.1.1"
    assert ledger.speech("nope") is None
