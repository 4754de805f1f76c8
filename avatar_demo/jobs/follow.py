"""The follow and fetch steps: poll a task until the gateway ends it, the deadline passes or someone stops it; then
fetch its video.

Once a task id is known nothing else ends the follow: a failed read is a state ("gateway
unreachable"), not an ending, and an ending that is not terminal says the task may still finish and
be billed. It never says "try again". Both steps only read and record, so running one again is harmless.
"""

from __future__ import annotations

from typing import Any

from ..core.errors import AvatarDemoError, NotFound
from ..core.status import Status
from ..core.text import Text
from ..providers.base import TaskState
from ..web.download import download_video
from .run import Run

__all__ = ["FOLLOWED", "fetch_video", "follow_task", "hear_task"]

#: What the follow step tells the engine: the finished task's facts to fetch, or None (its end is recorded).
FOLLOWED = dict[str, Any] | None


def _fetchable(state: TaskState) -> dict[str, Any]:
    return {"video_url": state.video_url, "duration_s": state.duration_s, "charged": state.charged,
            "message": state.message, "raw": state.raw_status}


async def follow_task(run: Run, task_id: str) -> FOLLOWED:
    """Poll until an ending. Returns the finished task's facts to fetch, or None when its ending is recorded.

    The task's age (and so the schedule and the deadline) runs from when its create left, across restarts.
    """
    timing = run.ctx.timing
    polls = failures = 0
    last: tuple[Status, str | None] | None = None
    if not run.record.status.active:
        return None  # an earlier attempt of this step recorded its end
    with run.listening() as run.wake:
        while True:
            age = run.age()
            if run.stopped():
                run.unresolved(task_id, Status.STOPPED)
                return None
            if age >= timing.deadline_s:
                run.unresolved(task_id, Status.OVERDUE)
                return None
            await run.pause(min(run.next_delay(age, failures), timing.deadline_s - age))
            if run.stopped():
                continue
            try:
                state = await run.read(task_id)
            except NotFound:
                if not run.spec.in_process:
                    raise
                # An offline preview renders inside the process that started it; a restart lost it (it was free).
                run.save(status=Status.FAILED, message=Text("job.preview_restart"), elapsed_s=run.run_time())
                return None
            except AvatarDemoError as exc:
                failures += 1
                if last is None or last[0] is not Status.UNREACHABLE:
                    run.save(status=Status.UNREACHABLE,
                             message=Text("job.still_following", why=run.not_answering(exc), task=task_id))
                    last = (Status.UNREACHABLE, None)
                continue
            failures = 0
            polls += 1
            # A terminal status is recorded only with its outcome (the video, the reason): recorded alone, a
            # restart before the download would find the run ended and never fetch the video it paid for.
            if not state.status.terminal and (state.status, state.raw_status) != last:
                run.save(status=state.status, detail=state.raw_status or None, message=state.message)
                last = (state.status, state.raw_status)
            if state.status is Status.FAILED:
                reason = Text("job.task_failed", provider=run.label, task=task_id,
                              reason=Text.verbatim(state.message) if state.message else Text("job.no_reason"))
                run.save(status=Status.FAILED, message=reason, units=state.charged, elapsed_s=run.run_time(),
                         detail=state.raw_status or None)
                return None
            if state.status is Status.DONE:
                return _fetchable(state)


async def fetch_video(run: Run, task_id: str, found: dict[str, Any]) -> None:
    """Fetch a finished task's video and record the run as done; a fetch that fails is tried again (asking the
    gateway for a fresh address) until the deadline, then the run says the video is ready but not fetched."""
    timing = run.ctx.timing
    failures = 0
    if run.record.status.final:
        return  # fetched and recorded by an earlier attempt of this step (or ended otherwise)
    while True:
        try:
            path = await download_video(found["video_url"], run.ctx.new_video(), local=run.spec.in_process)
            break
        except AvatarDemoError as exc:
            failures += 1
            note = Text("job.video_not_fetched", error=exc.text)
            run.save(status=Status.UNREACHABLE, message=note)
            if run.age() >= timing.deadline_s or run.stopped():
                run.unresolved(task_id, Status.OVERDUE)
                return
            await run.pause(run.next_delay(run.age(), failures))
            try:
                state = await run.read(task_id)
                if state.video_url:
                    found = {**found, "video_url": state.video_url}
            except AvatarDemoError:
                pass
    run.save(status=Status.DONE, video_path=path.name, duration_s=found["duration_s"], units=found["charged"],
             message=found["message"], detail=found["raw"] or None, elapsed_s=run.run_time())


async def hear_task(run: Run) -> TaskState | None:
    """After an unclear create: wait for the gateway's callback to name the task, then read it from the gateway.

    Only the gateway has this run's callback URL, and the task is confirmed by reading it with our own
    key. None when nothing can call back here, or the deadline passes without word.
    """
    if run.wake is None:
        return None
    timing = run.ctx.timing
    tried: set[str] = set()
    while run.age() < timing.deadline_s and not run.stopped():
        for task_id in [t for t in run.wake.named if t not in tried]:
            tried.add(task_id)
            # Kept at once: the gateway says it once, and a restart must still know which task to follow.
            run.save(task_id=task_id)
            try:
                return await run.read(task_id)
            except AvatarDemoError:
                tried.discard(task_id)  # read it again after the next pause
        left = timing.deadline_s - run.age()
        await run.pause(min(timing.unreachable_max_s, max(0.0, left)))
    return None
