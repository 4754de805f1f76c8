"""The allowance ledger: reservations that never overdraw under contention, exact releases, one settlement per run."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from avatar_demo.store.database import Database
from avatar_demo.store.ledger import EVERYONE, Ledger, Reservation, Speech, Usage, utc_day

DAY = "2025-01-02"
LIMITS = {"max_runs": 3, "max_speech": 60, "max_units": 10.0}


@pytest.fixture
def ledger(database: Database) -> Ledger:
    return Ledger(database)


def reserve(ledger: Ledger, visitor: str = "ip:1.2.3.4", *, runs: int = 1, speech: int = 10, units: float = 1.0,
            day: str = DAY, **limits: float) -> Reservation | Usage:
    return ledger.reserve(visitor, day, runs=runs, speech=speech, units=units, **{**LIMITS, **limits})


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
def test_one_visitor_racing_never_exceeds_max_runs(ledger: Ledger, race: Callable[..., list[Any]], round_: int) -> None:
    """Many simultaneous reservations by one visitor: exactly max_runs succeed."""
    answers = race(24, lambda i: reserve(ledger, runs=1, speech=0, units=0.0, max_runs=5), ledger.db)
    assert sum(isinstance(a, Reservation) for a in answers) == 5
    assert ledger.usage("ip:1.2.3.4", DAY).runs == 5


@pytest.mark.parametrize("round_", range(3))
def test_many_visitors_racing_never_exceed_max_units(ledger: Ledger, race: Callable[..., list[Any]],
                                                     round_: int) -> None:
    """Many visitors reserving at once: exactly as many succeed as the global budget holds."""
    answers = race(24, lambda i: reserve(ledger, f"ip:10.0.0.{i}", runs=1, speech=0, units=1.0, max_units=7.0),
                   ledger.db)
    winners = [a for a in answers if isinstance(a, Reservation)]
    assert len(winners) == 7
    assert ledger.usage(EVERYONE, DAY).units == 7.0
    assert sum(ledger.usage(w.visitor, DAY).units for w in winners) == 7.0


def test_separate_databases_on_one_file_never_overdraw(tmp_path: Path, race: Callable[..., list[Any]]) -> None:
    """Ledgers on engines of their own over the same file (other replicas) also never overdraw: the transaction
    is the guard, not anything in one process."""
    databases = [Database(f"sqlite:///{tmp_path / 'shared.sqlite3'}") for _ in range(6)]
    ledgers = [Ledger(db) for db in databases]
    answers = race(24, lambda i: reserve(ledgers[i % 6], runs=1, speech=0, units=0.0, max_runs=4), *databases)
    assert sum(isinstance(a, Reservation) for a in answers) == 4
    assert ledgers[0].usage("ip:1.2.3.4", DAY).runs == 4
    for db in databases:
        db.close()


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


def test_a_settlement_with_a_refund_gives_the_reservation_back(ledger: Ledger) -> None:
    """settle(refund=True): the run cost nothing, so its runs, speech and units go back, to the visitor and everyone."""
    kept = reserve(ledger, "ip:a", runs=1, speech=20, units=2.0)
    refunded = reserve(ledger, "ip:a", runs=1, speech=15, units=3.0)
    assert isinstance(kept, Reservation) and isinstance(refunded, Reservation)
    assert ledger.settle(2, refunded, refund=True) is True
    assert ledger.usage("ip:a", DAY) == Usage(1, 20, 2.0, 2.0)


@pytest.mark.parametrize(
    ("estimate", "charged", "booked"),
    [
        (2.0, 3.5, 3.5),  # the gateway charged more than estimated
        (2.0, 0.5, 0.5),  # less
        (2.0, 2.0, 2.0),  # what was estimated
        (2.0, 0.0, 0.0),  # nothing
        (2.0, None, 2.0),  # the gateway did not say: the estimate stands
    ],
)
def test_a_settlement_books_what_the_run_really_cost(ledger: Ledger, estimate: float, charged: float | None,
                                                     booked: float) -> None:
    """settle(refund=False) books the units the gateway charged in place of the estimate (up or down); the run and
    the speech it took stay spent."""
    other = reserve(ledger, "ip:b", units=1.0)
    taken = reserve(ledger, "ip:a", speech=12, units=estimate)
    assert isinstance(taken, Reservation) and isinstance(other, Reservation)
    assert ledger.settle(7, taken, refund=False, units=charged) is True
    assert ledger.usage("ip:a", DAY) == Usage(1, 12, booked, booked + 1.0)
    assert ledger.usage("ip:b", DAY).units == 1.0


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ({"refund": True}, {"refund": True}),
        ({"refund": False, "units": 5.0}, {"refund": False, "units": 5.0}),
        ({"refund": False, "units": 5.0}, {"refund": True}),
        ({"refund": True}, {"refund": False, "units": 5.0}),
    ],
)
def test_a_run_is_settled_once(ledger: Ledger, first: dict[str, object], second: dict[str, object]) -> None:
    """A second settlement of the same run (a step run again) changes nothing, whatever it says; another run's
    settlement still counts."""
    taken = reserve(ledger, units=2.0)
    other = reserve(ledger, units=2.0)
    assert isinstance(taken, Reservation) and isinstance(other, Reservation)
    assert ledger.settle(1, taken, **first) is True  # type: ignore[arg-type]
    after_first = ledger.usage("ip:1.2.3.4", DAY)
    assert ledger.settle(1, taken, **second) is False  # type: ignore[arg-type]
    assert ledger.usage("ip:1.2.3.4", DAY) == after_first
    assert ledger.settle(2, other, refund=True) is True
    assert ledger.usage("ip:1.2.3.4", DAY).runs == after_first.runs - 1


def test_settling_the_same_run_at_once_from_many_threads_counts_once(ledger: Ledger,
                                                                     race: Callable[..., list[Any]]) -> None:
    """Steps run again on several replicas at the same moment: exactly one settlement takes effect."""
    taken = reserve(ledger, runs=1, speech=10, units=2.0)
    reserve(ledger, "ip:b", runs=1, speech=0, units=4.0)
    assert isinstance(taken, Reservation)
    answers = race(12, lambda i: ledger.settle(1, taken, refund=True), ledger.db)
    assert answers.count(True) == 1
    assert ledger.usage("ip:1.2.3.4", DAY) == Usage(0, 0, 0.0, 4.0)


def test_a_settlement_never_goes_below_zero(ledger: Ledger) -> None:
    """A refund of a reservation already given back (or larger than what is left) floors every count at zero."""
    taken = reserve(ledger, runs=1, speech=10, units=2.0)
    assert isinstance(taken, Reservation)
    ledger.release(taken)
    assert ledger.settle(1, taken, refund=True) is True
    assert ledger.usage("ip:1.2.3.4", DAY) == Usage(0, 0, 0.0, 0.0)
    small = reserve(ledger, runs=1, speech=0, units=1.0)
    assert isinstance(small, Reservation)
    assert ledger.settle(2, Reservation(DAY, "ip:1.2.3.4", 1, 0, 9.0), refund=False, units=0.0) is True
    assert ledger.usage("ip:1.2.3.4", DAY) == Usage(1, 0, 0.0, 0.0)


def test_speech_made_here_is_remembered_with_its_length(ledger: Ledger) -> None:
    """remember_speech() keeps who made an audio id and how long it speaks; made again, the last word stands."""
    assert (ledger.speech("tts-1"), ledger.speech_maker("tts-1")) == (None, None)
    ledger.remember_speech("ip:a", "tts-1", 4.5)
    ledger.remember_speech("ip:b", "tts-2")
    assert (ledger.speech("tts-1"), ledger.speech_maker("tts-1")) == (Speech("ip:a", 4.5), "ip:a")
    assert ledger.speech("tts-2") == Speech("ip:b", None)
    ledger.remember_speech("ip:c", "tts-1", 2.0)
    assert ledger.speech("tts-1") == Speech("ip:c", 2.0)
