"""Jobs: from a user's inputs to a recorded task and its video, on a durable engine, never paying twice or losing a
task id.

It owns the pre-job flow that prepares inputs once per distinct upload (plan, inputs), the runs' face for
the app (runs: start, watch, stop, look again), the engine that runs each run as one workflow (engine,
workflow, steps), the steps themselves (create, follow), each gateway account's line (lines), watching a
run from the store (watch), the poll schedule, the typed events and what runs share (context). It may
import `core`, `media`, `store`, `providers` and `web`; never `policy`, `app` or `ui`, which decide who
may start a run and show it. Importing the package loads no database library: `jobs.runs` does, with the store.
"""

from .context import JobContext, MediaHost, Timing, new_external_id
from .events import Ending, Event, Failed, Progress, Submitted, Succeeded, Unresolved

__all__ = [
    "Ending",
    "Event",
    "Failed",
    "JobContext",
    "MediaHost",
    "Progress",
    "Submitted",
    "Succeeded",
    "Timing",
    "Unresolved",
    "new_external_id",
]
