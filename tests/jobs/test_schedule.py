"""When to poll: pure arithmetic, checked value by value."""

from __future__ import annotations

import pytest

from avatar_demo.jobs.schedule import PollSchedule

SCHEDULE = PollSchedule(floor_s=1.0, fraction=0.1, ceiling_s=30.0, first_s=1.5)


@pytest.mark.parametrize(
    ("age_s", "expected"),
    [
        (-5.0, 1.5),  # a clock step backwards still waits the first delay
        (0.0, 1.5),  # brand new: the first poll waits first_s
        (0.5, 1.0),  # young: the floor
        (9.0, 1.0),  # 9 × 0.1 / 0.9 = 1.0, exactly the floor
        (90.0, 10.0),  # grown in proportion to age: 90 × 0.1 / 0.9
        (180.0, 20.0),
        (270.0, 30.0),  # exactly the ceiling
        (10_000.0, 30.0),  # old: capped by the ceiling
    ],
)
def test_next_delay_table(age_s: float, expected: float) -> None:
    """next_delay is first_s at age ≤ 0, then max(floor, f/(1-f) × age) capped at the ceiling."""
    assert SCHEDULE.next_delay(age_s) == pytest.approx(expected)


@pytest.mark.parametrize("age_s", [0.1, 1.0, 9.0, 30.0, 100.0, 250.0])
def test_next_delay_keeps_the_latency_promise(age_s: float) -> None:
    """A result ready at the last poll is seen within max(floor, f × age when seen) below the ceiling."""
    delay = SCHEDULE.next_delay(age_s)
    assert delay <= max(SCHEDULE.floor_s, SCHEDULE.fraction * (age_s + delay)) + 1e-9


@pytest.mark.parametrize(
    ("fraction", "relaxed_fraction"),
    [(0.1, 0.25), (0.25, 0.25), (0.5, 0.5)],
)
def test_relaxed_doubles_floor_and_ceiling_and_raises_the_fraction(fraction: float, relaxed_fraction: float) -> None:
    """relaxed() doubles floor and ceiling, keeps first_s, and uses a fraction of at least 25 %."""
    base = PollSchedule(floor_s=2.0, fraction=fraction, ceiling_s=40.0, first_s=3.0)
    relaxed = base.relaxed()
    assert (relaxed.floor_s, relaxed.fraction, relaxed.ceiling_s, relaxed.first_s) == (4.0, relaxed_fraction, 80.0, 3.0)


def test_relaxed_schedule_delays() -> None:
    """The relaxed default polls at 2 s for young tasks, a third of the age later on, 60 s at most."""
    relaxed = PollSchedule().relaxed()
    assert relaxed.next_delay(1.0) == pytest.approx(2.0)
    assert relaxed.next_delay(90.0) == pytest.approx(30.0)
    assert relaxed.next_delay(1000.0) == pytest.approx(60.0)


@pytest.mark.parametrize("factor", [0.01, 0.5, 3.0])
def test_scaled_multiplies_every_duration_but_not_the_fraction(factor: float) -> None:
    """scaled(k) multiplies floor, ceiling and first_s by k and leaves the fraction alone."""
    scaled = SCHEDULE.scaled(factor)
    assert scaled.floor_s == pytest.approx(SCHEDULE.floor_s * factor)
    assert scaled.ceiling_s == pytest.approx(SCHEDULE.ceiling_s * factor)
    assert scaled.first_s == pytest.approx(SCHEDULE.first_s * factor)
    assert scaled.fraction == SCHEDULE.fraction
    assert scaled.next_delay(0) == pytest.approx(SCHEDULE.next_delay(0) * factor)
