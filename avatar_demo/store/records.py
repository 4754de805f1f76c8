"""What a run is, as the store remembers it: plain records, with no database behind them (cheap to import)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from ..core.status import Status

__all__ = ["FACT_NAMES", "Record", "RunFacts"]


@dataclass(frozen=True)
class RunFacts:
    """What a run is made of, where it came from and whose it is: fixed when it begins."""

    #: The prompt lab batch it belongs to.
    batch: str | None = None
    #: The run it re-runs, and what changed: {"prompt": [old, new], ...}.
    parent: int | None = None
    tweak: dict[str, list[str]] | None = None
    #: The kept prepared photo and voice (InputStore names), or the text-to-speech audio id used instead.
    image_ref: str | None = None
    audio_ref: str | None = None
    audio_id: str | None = None
    #: Seconds of voice sent, and the estimated cost in the gateway's own currency.
    seconds: float | None = None
    estimate: float | None = None
    currency: str | None = None
    #: The rest of the request, so the engine can send it from the record alone.
    watermark: bool | None = None
    callback_url: str | None = None
    language: str | None = None
    #: The gateway account whose line it waits in, and the visitor whose run it is (public mode).
    account: str | None = None
    visitor: str | None = None
    #: The allowance it took (UTC day and units), given back or corrected when it ends.
    reserved_day: str | None = None
    reserved_units: float | None = None


@dataclass(frozen=True)
class Record:
    """One run as the history remembers it."""

    id: int
    owner: str | None
    provider: str
    task_id: str | None
    external_task_id: str | None
    status: Status
    prompt: str
    mode: str
    created_at: float
    updated_at: float
    #: The stored video's file name (in the data dir's videos folder), once downloaded.
    video_path: str | None = None
    duration_s: float | None = None
    #: What the gateway charged, in its own currency, when it said.
    units: float | None = None
    message: str | None = None
    changes: list[str] = field(default_factory=list)
    #: When the create left (Unix seconds): a task the gateway made earlier is not ours.
    sent_at: float | None = None
    #: The folder of published media for a URL-only gateway, withdrawn once the task is final.
    media_token: str | None = None
    #: Started with a visitor's own key, which is never stored: it cannot be followed after a restart.
    byo_key: bool = False
    #: Seconds from start to the end of the run (the video downloaded, or the failure known).
    elapsed_s: float | None = None
    #: The person's verdict: 1-5 (None when unrated) and a short note.
    rating: int | None = None
    note: str | None = None
    #: The gateway's own word for where the task stands, as detail.
    detail: str | None = None
    #: Someone asked to stop it (from any replica).
    stop: bool = False
    facts: RunFacts = field(default_factory=RunFacts)

    def __getattr__(self, name: str) -> Any:
        # The facts read as fields of the record (record.batch, record.image_ref…).
        if name != "facts" and name in FACT_NAMES:
            return getattr(self.facts, name)
        raise AttributeError(name)


FACT_NAMES = {f.name for f in fields(RunFacts)}
