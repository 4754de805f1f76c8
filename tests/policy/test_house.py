"""The house policy's books: a run reserves its estimate, then books what the gateway charged, or gives it back."""

from __future__ import annotations

from pathlib import Path

import pytest

from avatar_demo.core.errors import NotAllowed
from avatar_demo.core.status import Status
from avatar_demo.policy import Visitor
from avatar_demo.policy.house import HousePolicy, HouseRules, Permit
from avatar_demo.providers import spec
from avatar_demo.providers.base import TtsResult
from avatar_demo.store.database import Database
from avatar_demo.store.history import History, RunFacts
from avatar_demo.store.ledger import Ledger, utc_day

ALICE = Visitor("ip:203.0.113.1", "203.0.113.1")
BOB = Visitor("ip:203.0.113.2", "203.0.113.2")


@pytest.fixture
def house(tmp_path: Path) -> HousePolicy:
    return HousePolicy(HouseRules(free_runs=3, free_seconds=15.0, daily_units=100.0),
                       Ledger(Database(f"sqlite:///{tmp_path / 'l.sqlite3'}")), public=True)


def units(house: HousePolicy) -> float:
    return house.ledger.usage(ALICE.key, utc_day()).all_units


@pytest.mark.parametrize(("status", "task_id", "charged", "booked"), [
    (Status.DONE, "t-1", 4.8, 4.8),  # the gateway charged more than estimated: that is what counts against the budget
    (Status.DONE, "t-1", 0.4, 0.4),
    (Status.DONE, "t-1", None, 1.2),  # it did not say: the estimate stays
    (Status.OVERDUE, "t-1", None, 1.2),
    (Status.UNKNOWN, None, None, 1.2),  # it may have been created: it may be billed
    (Status.FAILED, "t-1", None, 1.2),  # a task existed: it may be billed
    (Status.FAILED, None, None, 0.0),  # refused before any task: given back
    (Status.CANCELLED, None, None, 0.0),  # cancelled in line: nothing was sent
])
def test_a_run_books_what_it_cost_when_the_gateway_says(house: HousePolicy, status: Status, task_id: str | None,
                                                         charged: float | None, booked: float) -> None:
    """Attack: paid runs stayed booked at their estimate (or at nothing, for a speech id), so the gateway's real
    charges could pass AVATAR_DAILY_UNITS. Each run's reservation is replaced by the charge once it is known, once."""
    permit = house.permit(ALICE, spec("kling"), user_key=None)
    [reservation] = house.reserve(ALICE, permit, units=[1.2])
    assert units(house) == pytest.approx(1.2)
    history = History(house.ledger.db)
    row = history.begin("kling", owner=None, prompt="", mode="std", external_task_id=None, facts=RunFacts(
        visitor=ALICE.key, reserved_day=reservation.day, reserved_units=reservation.units))
    history.update(row, status=status, task_id=task_id, units=charged)
    house.settle_run(history.get(row))
    house.settle_run(history.get(row))  # a step may run twice: settled once
    assert units(house) == pytest.approx(booked)


def test_a_speech_id_is_the_makers_and_carries_its_length(house: HousePolicy) -> None:
    permit = house.permit(ALICE, spec("kling"), user_key=None)
    house.remember_speech(ALICE, permit, TtsResult("a-1", None, 6.5))
    house.remember_speech(ALICE, permit, TtsResult("a-long", None, 40.0))
    house.remember_speech(ALICE, permit, TtsResult("a-silent", None, None))
    assert house.check_audio_id(ALICE, permit, "a-1") == 6.5
    with pytest.raises(NotAllowed, match="40 s and free runs on this app take at most 15 s"):
        house.check_audio_id(ALICE, permit, "a-long")
    with pytest.raises(NotAllowed, match="did not say how long"):
        house.check_audio_id(ALICE, permit, "a-silent")
    with pytest.raises(NotAllowed, match="not made here by you"):
        house.check_audio_id(BOB, house.permit(BOB, spec("kling"), user_key=None), "a-1")
    # Off the house key the gateway alone decides: nothing to check, no length known.
    assert house.check_audio_id(BOB, Permit("own-key", house=False), "anything") is None
