"""What the allowance counts, as plain values: a visitor's day, their usage and a reservation (no database here)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

__all__ = ["EVERYONE", "Reservation", "Speech", "Usage", "utc_day"]

#: The row that sums every visitor's units (the global daily budget).
EVERYONE = "*"


def utc_day(now: dt.datetime | None = None) -> str:
    """Today's key; allowances reset at 00:00 UTC."""
    return (now or dt.datetime.now(dt.timezone.utc)).strftime("%Y-%m-%d")


@dataclass(frozen=True)
class Usage:
    """What one visitor, and everyone together, spent on a day."""

    runs: int
    speech: int
    units: float
    all_units: float


@dataclass(frozen=True)
class Speech:
    """A text-to-speech voice made here: by whom, and how long (None when the gateway did not say)."""

    visitor: str
    seconds: float | None


@dataclass(frozen=True)
class Reservation:
    """Spending taken from the allowance before a create is sent; given back only on a definite refusal."""

    day: str
    visitor: str
    runs: int
    speech: int
    units: float
