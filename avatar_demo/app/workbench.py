"""The prompt workbench: a person's own runs, re-run with a tweak, rated, and exported as one zip.

Every read and write here is limited to the owner's own runs: another owner's run id reads exactly
like one that does not exist.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from .. import providers
from ..core.errors import InputError
from ..core.text import Text
from ..jobs.plan import JobInput
from ..policy import Visitor
from ..store.export import Export, write_export
from ..store.records import Record
from .exports import EXPORTS_PER_HOUR, ExportShelf, parse_run_ids
from .generations import Generations, Origin, Started

__all__ = ["MAX_NOTE", "Workbench"]

#: A verdict's note is a remark, not an essay.
MAX_NOTE = 500
MB = 1_000_000


class Workbench:
    """Built on the one start path: a re-run is started, allowed and counted like any other run."""

    def __init__(self, generations: Generations, *, exports: Path | None = None) -> None:
        """*exports*: the folder export zips are written to and served from (the page gives Gradio's own file
        cache, so the zip is not copied again); the data dir's exports folder by default."""
        self.generations = generations
        self.services = generations.services
        settings = self.services.settings
        self.shelf = ExportShelf(exports or self.services.storage.exports,
                                 min_free_mb=settings.retention.min_free_mb,
                                 # In public mode: room for two of the largest exports at once, a few an hour each.
                                 budget_mb=2 * settings.export_max_mb if settings.public else None,
                                 per_hour=EXPORTS_PER_HOUR if settings.public else None)

    def _own(self, owner: str | None, run: object) -> Record:
        try:
            row = int(run)  # type: ignore[call-overload]
        except (TypeError, ValueError):
            raise InputError(Text("run.not_a_number", run=repr(run))) from None
        record = self.services.history.owned(owner, row)
        if record is None:
            raise InputError(Text("run.not_yours", run=row))
        return record

    def runs(self, owner: str | None, *, min_rating: int | None = None, search: str | None = None,
             batch: str | None = None, ids: list[int] | None = None, limit: int = 200) -> list[Record]:
        """The owner's runs, newest first, filtered (nothing for an owner this server does not know)."""
        if not owner:
            return []
        return self.services.history.for_owner(owner, limit, min_rating=min_rating or None, search=search,
                                               batch=batch or None, ids=ids)

    def rate(self, owner: str | None, run: object, rating: object, note: str | None) -> Record:
        """Keep the owner's verdict on one run: 1-5 stars (0 or nothing clears it) and a short note."""
        record = self._own(owner, run)
        try:
            stars = int(rating or 0)  # type: ignore[call-overload]
        except (TypeError, ValueError):
            stars = -1
        if not 0 <= stars <= 5:
            raise InputError(Text("run.rating", rating=repr(rating)))
        note = (note or "").strip()
        if len(note) > MAX_NOTE:
            raise InputError(Text("run.note_too_long", length=len(note), limit=MAX_NOTE, over=len(note) - MAX_NOTE))
        rated = self.services.history.rate(owner or "", record.id, stars or None, note)
        assert rated is not None  # owned a moment ago, and rows are never deleted
        return rated

    async def rerun(self, visitor: Visitor, owner: str | None, run: object, *, prompt: str | None = None,
                    mode: str | None = None, provider: str | None = None, user_key: str | None = None,
                    allow_no_face: bool = False, language: str = "en") -> Started:
        """Run one of the owner's runs again on its kept photo and voice, with what was changed; linked to it.

        An empty prompt, mode or gateway keeps the parent's; *language* is the asking page's (the preview's banner).
        """
        parent = self._own(owner, run)
        prompt = parent.prompt if not (prompt or "").strip() else prompt.strip()
        mode = (mode or "").strip() or parent.mode
        provider = (provider or "").strip() or parent.provider
        if provider not in providers.names():
            raise InputError(Text("input.gateway", gateway=repr(provider[:40]), names=list(providers.names())))
        spec = providers.spec(provider)
        image = self.services.kept.path(parent.image_ref)
        voice = self.services.kept.path(parent.audio_ref)
        if parent.audio_id and not spec.tts:
            with_tts = [s.label for s in providers.specs() if s.tts]
            raise InputError(Text("run.tts_only", run=parent.id, providers=with_tts))
        if image is None or (voice is None and not parent.audio_id):
            days = self.services.settings.retention.days
            raise InputError(Text("run.inputs_gone", run=parent.id, days=days))
        tweak = {field: [old, new] for field, old, new in (("prompt", parent.prompt, prompt),
                                                          ("mode", parent.mode, mode),
                                                          ("gateway", parent.provider, provider)) if old != new}
        job = JobInput(image=image, audio=None if parent.audio_id else voice, audio_id=parent.audio_id,
                       prompt=prompt, mode=mode, allow_no_face=allow_no_face, language=language)
        return await self.generations.start(visitor, provider, job, user_key=user_key, owner=owner,
                                            origin=Origin(parent.id, tweak))

    async def export(self, owner: str | None, *, ids: object = None, batch: str | None = None,
                     visitor: Visitor | None = None) -> Export:
        """The owner's chosen runs (*ids*: run numbers as a list or as text like "12, 13"; or one lab *batch*; or
        else all of them) as one zip on the export shelf.

        Everything past this line runs off the event loop: a request naming a hundred thousand runs is refused
        without holding up anyone else. *visitor* makes one export at a time (and a few an hour, in public mode).
        """
        settings = self.services.settings
        cap = int(settings.export_max_mb * MB) if settings.public else None
        with self.shelf.turn(visitor.key if visitor is not None else f"owner:{owner}"):
            records = await asyncio.to_thread(self._chosen, owner, ids, batch)
            export = await asyncio.to_thread(write_export, records, self.services.storage, self.services.kept,
                                             max_bytes=cap, folder=self.shelf.folder, room=self.shelf.room)
        self.shelf.keep_for_a_while(export.path)
        return export

    def _chosen(self, owner: str | None, ids: object, batch: str | None) -> list[Record]:
        """The runs an export asked for: the named ones (all the owner's, checked in one query), or a batch's."""
        wanted = parse_run_ids(ids)
        if not wanted:
            return self.runs(owner, batch=batch, limit=10_000)
        records = self.runs(owner, ids=wanted, limit=len(wanted))
        found = {r.id for r in records}
        missing = next((run for run in wanted if run not in found), None)
        if missing is not None:
            raise InputError(Text("run.not_yours", run=missing))
        return records
