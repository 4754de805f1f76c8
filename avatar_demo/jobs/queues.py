"""The names the engine and the app share: a run's workflow id, the workflows' version, and a line's limits."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["APP_VERSION", "CHECK", "RUN", "QueueSpec", "workflow_id"]

#: The workflows' version. DBOS recovers only workflows of the version it runs, so this changes only when a
#: run's steps change in a way an older checkpoint could not replay.
APP_VERSION = "avatar-run-1"
#: The workflows' names: a run, start to end; one more look at an unresolved run.
RUN = "avatar-run"
CHECK = "avatar-check"


def workflow_id(app: str, row: int) -> str:
    """The workflow of run *row* of app *app*: one id per run, so starting it twice starts it once."""
    return f"{app}-run-{row}"


@dataclass(frozen=True)
class QueueSpec:
    """A line of runs: a gateway account's, limited to its parallel tasks (and per visitor, in public mode)."""

    name: str
    #: Runs at once across every replica (the account's parallel limit); None: no limit.
    limit: int | None = None
    #: Runs at once per process (the offline preview renders on this machine's cores).
    per_process: int | None = None
    #: Runs at once per partition (per visitor in public mode, per own key); None: not partitioned.
    per_partition: int | None = None
