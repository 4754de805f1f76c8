"""Jobs: the pre-job flow, sending a create safely, following a task to its video, and the server's followers."""

from .context import JobContext, Timing, new_external_id
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
