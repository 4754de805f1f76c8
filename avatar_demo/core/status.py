"""Our own words for where a task stands: one vocabulary for the page, the history, the runner and callbacks.

Every gateway's status word is mapped onto these in its provider module; the gateway's own word
is kept only as detail. The words fall into three groups:

- followed: the server is following the task (or sending its create) and will bring it to an end;
- unresolved: nobody is following it, yet it may still finish and be billed (checked again later);
- final: done, failed, or a create whose outcome cannot be known.
"""

from __future__ import annotations

import enum

__all__ = ["Status"]


class Status(str, enum.Enum):
    """Where a task stands, in the app's own words (the value is what the page and the history show)."""

    SUBMITTING = "submitting"
    #: The create got no clear answer; the gateway's callback will say whether it made the task.
    CONFIRMING = "awaiting the gateway's word"
    #: The gateway refused the create for capacity; it is sent again after a pause.
    WAITING = "waiting for capacity"
    QUEUED = "queued"
    RUNNING = "running"
    #: Reads fail (transport, 5xx, 429); the task is still followed until the deadline.
    UNREACHABLE = "gateway unreachable"
    DONE = "done"
    FAILED = "failed"
    #: The create got no clear answer from a gateway that cannot be asked; never re-sent.
    UNKNOWN = "outcome unknown"
    #: Still not finished at the deadline; it may still finish and be billed.
    OVERDUE = "still running"
    #: The user stopped following it; it may still finish and be billed.
    STOPPED = "stopped following"

    @property
    def followed(self) -> bool:
        """The server is working on it right now."""
        return self in _FOLLOWED

    @property
    def unresolved(self) -> bool:
        """Not followed, but the gateway may still finish (and bill) it: worth another look."""
        return self in (Status.OVERDUE, Status.STOPPED)

    @property
    def final(self) -> bool:
        """Nothing more will ever happen to it."""
        return self in (Status.DONE, Status.FAILED, Status.UNKNOWN)

    @property
    def terminal(self) -> bool:
        """The gateway says the task has ended, one way or the other."""
        return self in (Status.DONE, Status.FAILED)

    @classmethod
    def parse(cls, value: str) -> Status:
        """A stored word back as a Status; words written by earlier versions are mapped too."""
        try:
            return cls(value)
        except ValueError:
            return _LEGACY.get(value, Status.OVERDUE)


_FOLLOWED = frozenset({Status.SUBMITTING, Status.CONFIRMING, Status.WAITING, Status.QUEUED, Status.RUNNING,
                       Status.UNREACHABLE})
#: Words stored by version 0.1 of the history.
_LEGACY = {"creating": Status.SUBMITTING, "succeeded": Status.DONE, "unknown": Status.UNKNOWN}
