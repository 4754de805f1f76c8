"""Jobs: from a user's inputs to a recorded task and its video, without ever paying twice or losing a task id.

It owns the pre-job flow that prepares inputs once per distinct upload (plan), sending a create safely
(create), following a task to its downloaded video (follow), the server-side followers that outlive any
page (followers), the poll and capacity schedules (schedule), the typed events (events) and what jobs
share (context). It may import `core`, `media`, `store`, `providers` and `web`; never `policy`, `app`
or `ui`, which decide who may start a job and show it.
"""

from .context import JobContext, MediaHost, Timing, new_external_id
from .create import begin_job, run_job
from .events import Ending, Event, Failed, Progress, Submitted, Succeeded, Unresolved
from .follow import follow_task
from .followers import Followers, Tracked

__all__ = [
    "Ending",
    "Event",
    "Failed",
    "Followers",
    "JobContext",
    "MediaHost",
    "Progress",
    "Submitted",
    "Succeeded",
    "Timing",
    "Tracked",
    "Unresolved",
    "begin_job",
    "follow_task",
    "new_external_id",
    "run_job",
]
