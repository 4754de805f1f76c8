"""The create step: send a run's create without ever paying twice, safe to run again after any interruption.

- Before anything leaves, the run takes its place at the gateway account (store/accounts.py); a
  capacity refusal makes it wait for a task of the account to end, never for a timer.
- The moment the create leaves is recorded first. A step that finds that moment already recorded
  (it ran before, and was cut off) finds out what happened before it would ever send again: the Kling
  family looks the task up by its external id, crun and fal name it through the task's own callback
  URL, and where neither exists the outcome is reported as unknown.
- A task id is recorded in the step that learns it, and returned to the engine's checkpoint.
- A task is adopted only if this run created it: its own external id, sent by this run.
"""

from __future__ import annotations

import secrets
from dataclasses import replace

from ..core.errors import (
    AvatarDemoError,
    CapacityError,
    ConfigError,
    GatewayError,
    GatewayUnreachable,
    RateLimited,
    RequestRejected,
    ServerError,
    UnexpectedReply,
)
from ..core.status import Status
from ..core.text import Text
from ..providers.base import AvatarRequest, Lookup, TaskState
from .follow import hear_task
from .run import Run, older_than_sent

__all__ = ["CONNECT_ATTEMPTS", "RESENDS", "Created", "create_task", "publish_inputs"]

#: Creates that failed to connect (nothing sent) are tried this many times in all.
CONNECT_ATTEMPTS = 3
#: Creates re-sent under the same external id after a lookup found no task.
RESENDS = 2
#: What the create step tells the engine: the task id; "wait" (its account is full); or "ended" (recorded).
Created = str
WAIT, ENDED = "wait", "ended"


class _Unclear(Exception):
    """A create's outcome is unknown: *lookup* when the gateway can still be asked later."""

    def __init__(self, detail: str | Text, *, lookup: bool = False) -> None:
        super().__init__(str(detail))
        self.detail = detail
        self.lookup = lookup


def _can_look_up(run: Run) -> bool:
    return bool(run.spec.external_ids and isinstance(run.provider, Lookup) and run.record.external_task_id)


def _id_in_use(run: Run) -> RequestRejected:
    return RequestRejected(run.label, Text("job.id_in_use", id=run.record.external_task_id),
                           hint=Text("hint.choose_another_id"))


async def _lookup(run: Run) -> TaskState | None:
    """The task created under this run's external id, provided it is this run's."""
    assert isinstance(run.provider, Lookup) and run.record.external_task_id
    found = await run.provider.find_external(run.record.external_task_id)
    if found is not None and older_than_sent(found, run.record.sent_at):
        raise _id_in_use(run)
    return found


async def _resolve(run: Run, detail: str | Text) -> TaskState | None:
    """After an unclear answer: the task under our external id, or None when there is none.

    A lookup that fails is asked again, until the deadline: one failed lookup never settles a run.
    """
    failures = 0
    run.save(status=Status.CONFIRMING, message=Text("job.looking_up", detail=detail, provider=run.label))
    while True:
        try:
            return await _lookup(run)
        except (GatewayUnreachable, ServerError, RateLimited) as exc:
            failures += 1
            if run.age() > run.ctx.timing.deadline_s:
                raise _Unclear(Text("job.lookup_failed", error=exc.text), lookup=True) from exc
            await run.pause(run.next_delay(0, failures))
            if run.stopped():
                raise _Unclear(detail, lookup=True) from exc


async def _find_sent(run: Run, detail: str | Text) -> TaskState | None:
    """A create that may have landed: the task it made, None when it certainly made none, or _Unclear."""
    if _can_look_up(run):
        return await _resolve(run, detail)
    if run.wake is None:
        raise _Unclear(detail)
    # Never sent again; the gateway's callback to this run's own URL will say which task it made.
    run.save(status=Status.CONFIRMING, message=Text("job.confirming", detail=detail, provider=run.label))
    heard = await hear_task(run)
    if heard is None:
        raise _Unclear(detail)
    return heard


def _adopt(run: Run, state: TaskState) -> str:
    """Record the task this run follows (a terminal status waits for its outcome: see follow)."""
    run.save(task_id=state.task_id, detail=state.raw_status or None,
             **({} if state.status.terminal else {"status": state.status}))
    return state.task_id


async def publish_inputs(run: Run) -> dict[str, str | None]:
    """The inputs step: the kept photo and voice are there, and published where a URL-only gateway fetches them.

    Raises ConfigError (nothing sent) when they cannot be; publishing again under the same folder is harmless.
    """
    if not run.inputs_present():
        raise ConfigError(Text("run.inputs_gone.engine"))
    host = run.ctx.media_host
    if not (run.spec.public_media and host is not None):
        return {}
    folder = run.record.media_token or secrets.token_urlsafe(18)
    if run.record.media_token is None:
        run.save(media_token=folder)
    rec, kept = run.record, run.ctx.kept
    try:
        image_url = await host.publish(folder, kept.path(rec.image_ref))  # type: ignore[arg-type]
        audio = kept.path(rec.audio_ref) if not rec.audio_id else None
        audio_url = await host.publish(folder, audio) if audio is not None else None
    except Exception as exc:  # noqa: BLE001 - a disk, network or Hub failure; nothing was sent yet
        await run.ctx.withdraw(folder)
        raise ConfigError(Text("job.publish_failed", provider=run.label, error=type(exc).__name__)) from None
    return {"image_url": image_url, "audio_url": audio_url}


async def create_task(run: Run, urls: dict[str, str | None]) -> Created:
    """The create step: the task id (recorded), WAIT (the account is full: wait for word) or ENDED (recorded)."""
    rec = run.reload()
    if rec.task_id:
        return rec.task_id  # learned by an earlier attempt of this step
    if not rec.status.active:
        return ENDED  # cancelled while in line, or ended by an earlier attempt
    account = rec.account or rec.provider
    try:
        with run.listening() as run.wake:
            if rec.sent_at is not None and not run.spec.in_process:
                # An earlier attempt sent it, or may have: find out before anything else.
                found = await _find_sent(run, Text("job.interrupted"))
                if found is not None:
                    return _adopt(run, found)
                run.save(sent_at=None)  # nothing was made under our id: it is safe to send
            # (An offline preview renders inside the process that started it: one cut off is simply rendered again.)
            if run.stopped():
                run.save(status=Status.CANCELLED, message=Text("job.cancelled"))
                return ENDED
            if not run.ctx.lines.admit(run.row, account):
                return WAIT
            return await _send(run, run.request(urls), account)
    except _Unclear as unclear:
        run.unresolved(None, Status.UNCLEAR if unclear.lookup else Status.UNKNOWN, unclear.detail)
        return ENDED
    except AvatarDemoError as exc:
        run.save(status=Status.FAILED, message=exc.text, sent_at=None)
        return ENDED


async def _send(run: Run, request: AvatarRequest, account: str) -> Created:
    """Send until accepted, refused, or unclear; the moment it leaves is recorded first."""
    connects = resends = 0
    while True:
        sent_at = run.now()
        run.save(sent_at=sent_at, status=Status.SUBMITTING)
        run.record = replace(run.record, sent_at=sent_at)
        try:
            return _adopt(run, await run.provider.create(request))
        except (CapacityError, RateLimited) as exc:
            # A refusal: nothing was created. The account is full: wait until one of its tasks ends.
            limit = run.ctx.lines.refused(run.row, account)
            run.save(message=Text("job.capacity_wait", reason=exc.message, limit=limit, provider=run.label))
            return WAIT
        except (GatewayUnreachable, ServerError, UnexpectedReply) as exc:
            # A 5xx, a cut connection, or a 2xx we cannot read: the task may exist.
            if isinstance(exc, GatewayUnreachable) and not exc.sent:
                connects += 1
                if connects >= CONNECT_ATTEMPTS:
                    raise
                run.save(sent_at=None, message=Text("job.connect_retry"))
                await run.pause(run.next_delay(0, connects))
                continue
            # The gateway's own words, without its advice: after an unclear create nobody should "try again".
            detail = exc.message if isinstance(exc, GatewayError) else str(exc).split(": ", 1)[-1]
            found = await _find_sent(run, detail)
            if found is not None:
                return _adopt(run, found)
            resends += 1
            if resends > RESENDS:
                raise
            run.save(message=Text("job.resend"))
        except RequestRejected as exc:
            if "already exist" not in exc.message.lower() or not run.record.external_task_id:
                raise
            if resends == 0:
                # Sent once only, so the id was used before this run: never adopt someone else's task.
                raise _id_in_use(run) from None
            found = await _lookup(run)
            if found is None:
                raise
            return _adopt(run, found)
