"""When to poll next: a pure function of a task's age, no sleeping."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PollSchedule"]


@dataclass(frozen=True)
class PollSchedule:
    """Quick polls at first, spaced in proportion to the task's age after that.

    With a gap of f/(1-f) × age, a result is seen at most a fraction *f* of the task's age
    (counted when the result is seen) after it is ready, and never later than *floor_s*
    for young tasks: latency ≤ max(floor_s, f × age).
    """

    floor_s: float = 1.0
    fraction: float = 0.1
    ceiling_s: float = 30.0
    #: Gateway jobs never finish within their first moments; the first poll can wait this long.
    first_s: float = 1.0

    def next_delay(self, age_s: float) -> float:
        """Seconds to wait before the next poll of a task that is *age_s* old."""
        if age_s <= 0:
            return self.first_s
        grown = age_s * self.fraction / (1.0 - self.fraction)
        return min(self.ceiling_s, max(self.floor_s, grown))

    def relaxed(self) -> PollSchedule:
        """The backstop once callbacks are known to reach the app: they bring the result, polls only
        guard against a lost one (latency ≤ max(2 × floor, 25 % of age) if every callback is lost)."""
        return PollSchedule(self.floor_s * 2, max(self.fraction, 0.25), self.ceiling_s * 2, self.first_s)

    def scaled(self, factor: float) -> PollSchedule:
        """The same schedule with every duration multiplied (time-scaled simulations)."""
        return PollSchedule(self.floor_s * factor, self.fraction, self.ceiling_s * factor, self.first_s * factor)
