"""Our own statuses for a run: one closed set of stable ids for the store, the engine, the page and callbacks.

Every gateway's status word is mapped onto these in its provider module; the gateway's own word is
kept only as detail, and the words people read live in the catalogs (`status.<name>`). The ids fall
into groups:

- active: waiting in our line, or followed by the engine, which will bring the run to an end;
- unresolved: nobody follows it any more, yet the gateway may still finish (and bill) it: looked at again;
- final: nothing more will ever happen to it.
"""

from __future__ import annotations

import enum

__all__ = ["Status"]


class Status(str, enum.Enum):
    """Where a run stands; the value is the stable id stored and returned by the API (never shown as words)."""

    #: In line for its gateway account: nothing has been sent yet, so cancelling it costs nothing.
    PENDING = "pending"
    SUBMITTING = "submitting"
    #: The create got no clear answer; the gateway's callback will say whether it made the task.
    CONFIRMING = "confirming"
    #: The gateway account is full: sent as soon as one of its tasks ends (never on a timer).
    WAITING = "waiting"
    QUEUED = "queued"
    RUNNING = "running"
    #: Reads fail (transport, 5xx, 429); the task is still followed until the deadline.
    UNREACHABLE = "unreachable"
    DONE = "done"
    FAILED = "failed"
    #: Cancelled before anything was sent: nothing was charged.
    CANCELLED = "cancelled"
    #: The create's outcome is not known yet, but the gateway can still be asked (its external id): looked up again.
    UNCLEAR = "unclear"
    #: The create's outcome can never be known here (a gateway with no lookup and no word back); never re-sent.
    UNKNOWN = "unknown"
    #: Still not finished at the deadline; it may still finish and be billed.
    OVERDUE = "overdue"
    #: The user stopped following it; it may still finish and be billed.
    STOPPED = "stopped"

    @property
    def followed(self) -> bool:
        """The engine is working on it right now (sending, or following the task)."""
        return self in _FOLLOWED

    @property
    def active(self) -> bool:
        """Not ended yet: in line, or followed."""
        return self is Status.PENDING or self in _FOLLOWED

    @property
    def unresolved(self) -> bool:
        """Not followed, but the gateway may still finish (and bill) it, or make it: worth another look."""
        return self in (Status.OVERDUE, Status.STOPPED, Status.UNCLEAR)

    @property
    def final(self) -> bool:
        """Nothing more will ever happen to it."""
        return self in (Status.DONE, Status.FAILED, Status.CANCELLED, Status.UNKNOWN)

    @property
    def terminal(self) -> bool:
        """The gateway says the task has ended, one way or the other."""
        return self in (Status.DONE, Status.FAILED)

    @classmethod
    def parse(cls, value: str) -> Status:
        """A stored id back as a Status; the words earlier versions stored are mapped too."""
        try:
            return cls(value)
        except ValueError:
            return _LEGACY.get(value, Status.OVERDUE)


_FOLLOWED = frozenset({Status.SUBMITTING, Status.CONFIRMING, Status.WAITING, Status.QUEUED, Status.RUNNING,
                       Status.UNREACHABLE})
#: Words stored by earlier versions of the history (0.1 to 0.4 stored English words, not ids).
_LEGACY = {"creating": Status.SUBMITTING, "succeeded": Status.DONE, "awaiting the gateway's word": Status.CONFIRMING,
           "waiting for capacity": Status.WAITING, "gateway unreachable": Status.UNREACHABLE,
           "outcome unknown": Status.UNKNOWN, "still running": Status.OVERDUE, "stopped following": Status.STOPPED}
LEGACY_WORDS = _LEGACY
