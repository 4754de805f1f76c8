"""The composition root: one Services per app process builds the parts and holds them together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import urllib.parse
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.routing import Route

from .. import providers
from ..core.errors import ConfigError
from ..core.text import Text
from ..jobs import Followers, JobContext, MediaHost, Timing
from ..jobs.inputs import Inputs
from ..policy import HousePolicy
from ..providers import Provider, ProviderOptions
from ..store.history import History
from ..store.inputs import InputStore
from ..store.journal import Recorder, default_journal
from ..store.keys import Keys
from ..store.ledger import Ledger
from ..store.storage import Storage
from ..web.callbacks import CallbackHub
from ..web.files import file_routes
from ..web.hosting import MEDIA_ROUTE, DirectoryHost, HubDatasetHost
from .config import Settings

__all__ = ["Services", "media_host_for"]

log = logging.getLogger(__name__)
#: Gateway reads in flight at once across every follower (a restart may resume many tasks together).
READS_AT_ONCE = 16
#: How often retention runs while the app is up.
SWEEP_EVERY_S = 600.0


def media_host_for(settings: Settings, directory: Path) -> MediaHost | None:
    """Where URL-only gateways fetch media: a Hub dataset (AVATAR_HF_DATASET), else this app's own
    route at its public address, else nowhere."""
    if settings.hf_dataset:
        return HubDatasetHost(settings.hf_dataset, settings.hf_token)
    if settings.public_url:
        base = f"{settings.public_url}{MEDIA_ROUTE}"
        return DirectoryHost(directory, lambda folder, name: f"{base}/{folder}/{urllib.parse.quote(name)}")
    return None


class Services:
    """Settings, storage, history, secrets, callbacks, media hosting, the followers and the house policy."""

    def __init__(self, settings: Settings, *, timing: Timing | None = None, media_host: MediaHost | None = None) -> None:
        """*media_host* replaces the one the settings choose (the command line serves media on loopback)."""
        self.settings = settings
        self.storage = Storage(settings.data_dir, settings.retention)
        self.storage.ensure()
        try:
            self.keys = Keys.load(settings.data_dir, settings.server_secret, settings.state_secret)
            self.history = History(self.storage.database)
            self.ledger = Ledger(settings.data_dir / "allowance.sqlite3")
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(f"The data folder {settings.data_dir} cannot be used ({exc}); set AVATAR_DATA_DIR "
                              "to a writable folder") from None
        self.recorder = Recorder(self.history, default_journal(settings.data_dir))
        # Gateways can only call back when the app has a public address (AVATAR_PUBLIC_URL or the Space's).
        self.callbacks = CallbackHub(settings.public_url, self.keys.server_secret)
        self.inputs = Inputs(self.storage.jobs, slots=settings.prepare_slots)
        #: Prepared inputs kept for re-runs, one copy per distinct content.
        self.kept = InputStore(self.storage.inputs)
        host = media_host or media_host_for(settings, self.storage.public)
        self.jobs = JobContext(self.recorder, self.storage.videos, host,
                               self.callbacks, timing or Timing(deadline_s=settings.poll_deadline_s),
                               reads=asyncio.Semaphore(READS_AT_ONCE))
        self.followers = Followers(self.jobs, self.provider)
        self.policy = HousePolicy(settings.house, self.ledger, public=settings.public)

    def provider(self, name: str, user_key: str | None = None) -> Provider:
        """A provider object for one job; a bring-your-own key lives only in it."""
        config = self.settings.provider(name).with_user_key(user_key)
        return providers.make_provider(config, ProviderOptions(work_dir=self.storage.previews))

    def routes(self) -> list[Route]:
        """The app's own HTTP routes: gateway callbacks, videos and published media."""
        return [self.callbacks.route(), *file_routes(self.storage)]

    def sweep(self) -> None:
        """Delete expired files and keep the disk under its cap; history rows are kept, without their video."""
        report = self.storage.sweep(busy_jobs=self.inputs.busy())
        days = self.settings.retention.days
        self.history.forget_videos(report.expired, Text("store.video_expired", days=days))
        self.history.forget_videos(report.over_cap, Text("store.video_over_cap"))
        if report.expired or report.over_cap or report.jobs:
            log.info("retention: %d expired, %d over the cap, %d job folders removed",
                     len(report.expired), len(report.over_cap), report.jobs)

    async def run_in_background(self) -> None:
        """Resume every unsettled task, then clean up now and periodically (runs for the app's lifetime)."""
        resumed = self.followers.resume_all()
        if resumed:
            log.info("following %d task(s) left unsettled by an earlier run", len(resumed))
        while True:
            try:
                await asyncio.to_thread(self.sweep)
            except Exception:  # noqa: BLE001 - clean-up must never stop the app
                log.exception("retention sweep failed")
            self.recorder.flush()
            await asyncio.sleep(SWEEP_EVERY_S)

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Any) -> AsyncIterator[None]:
        """The web server's lifespan: the background work runs while it serves."""
        task = asyncio.create_task(self.run_in_background(), name="avatar-demo-background")
        try:
            yield
        finally:
            task.cancel()
