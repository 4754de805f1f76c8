"""The composition root: one Services per app process builds the parts and holds them together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import urllib.parse
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.routing import Route

from .. import providers
from ..core.errors import ConfigError
from ..core.text import Text
from ..jobs import JobContext, MediaHost, Timing
from ..jobs.inputs import Inputs
from ..providers import Provider, ProviderOptions
from ..store.keys import Keys
from ..store.storage import Storage
from ..web.callbacks import CallbackHub
from ..web.files import file_routes
from ..web.hosting import MEDIA_ROUTE, DirectoryHost, HubDatasetHost
from .config import Settings

if TYPE_CHECKING:
    from ..jobs.runs import Runs
    from ..policy import HousePolicy
    from ..store.database import Database
    from ..store.history import History
    from ..store.inputs import InputStore
    from ..store.kept import KeptIndex
    from ..store.ledger import Ledger
    from ..store.replicas import Heartbeats
    from .shared import Shared

__all__ = ["Services", "media_host_for"]

log = logging.getLogger(__name__)
#: How often retention runs while the app is up.
SWEEP_EVERY_S = 600.0
#: The engine launches this long after the web server starts, so the first page is not kept waiting.
ENGINE_DELAY_S = 1.0
#: Each replica beats this often; one silent for SILENT_S has its unfinished runs taken over by a live one.
BEAT_S = 5.0
SILENT_S = 20.0


def media_host_for(settings: Settings, directory: Path) -> MediaHost | None:
    """Where URL-only gateways fetch media: a Hub dataset (AVATAR_HF_DATASET), else this app's own
    route at its public address, else nowhere."""
    if settings.hf_dataset:
        return HubDatasetHost(settings.hf_dataset, settings.hf_token)
    if settings.public_url:
        base = f"{settings.public_url}{MEDIA_ROUTE}"
        return DirectoryHost(directory, lambda folder, name: f"{base}/{folder}/{urllib.parse.quote(name)}")
    return None


def _on_store(name: str) -> property:
    """Services.<name>: that part of the shared store (which opens on first use)."""
    return property(lambda self: getattr(self.open(), name), doc=f"The shared store's {name}.")


class Services:
    """Settings, storage, secrets, callbacks and media hosting at once; the shared store (database, history,
    allowance, the house policy, the runs) opened on first use, which the web server makes right after it starts."""

    def __init__(self, settings: Settings, *, timing: Timing | None = None, media_host: MediaHost | None = None) -> None:
        """*media_host* replaces the one the settings choose (the command line serves media on loopback)."""
        self.settings = settings
        self._shared_secrets(settings)
        self.storage = Storage(settings.data_dir, settings.retention)
        self.storage.ensure()
        try:
            self.keys = Keys.load(settings.data_dir, settings.server_secret, settings.state_secret)
        except OSError as exc:
            raise ConfigError(f"The data folder {settings.data_dir} cannot be used ({exc}); set AVATAR_DATA_DIR "
                              "to a writable folder") from None
        # Gateways can only call back when the app has a public address (AVATAR_PUBLIC_URL or the Space's).
        self.callbacks = CallbackHub(settings.public_url, self.keys.server_secret)
        self.inputs = Inputs(self.storage.jobs, slots=settings.prepare_slots)
        self._timing = timing
        self._media_host = media_host or media_host_for(settings, self.storage.public)
        self._shared: Shared | None = None
        self._opening = threading.Lock()

    def open(self) -> Shared:
        """The shared store, opened (and migrated) the first time; thread-safe. ConfigError when it cannot be used."""
        with self._opening:
            if self._shared is None:
                # Loaded here, not at import: SQLAlchemy and the store cost ~0.1 s that the first page need not wait.
                from .shared import open_shared

                self._shared = open_shared(self.settings, self.storage, self.keys, self.callbacks, self._media_host,
                                           self._timing, self.provider)
            return self._shared

    # The shared store's parts, each opening the store on first use.
    database: Database = _on_store("database")  # type: ignore[assignment]
    history: History = _on_store("history")  # type: ignore[assignment]
    ledger: Ledger = _on_store("ledger")  # type: ignore[assignment]
    heartbeats: Heartbeats = _on_store("heartbeats")  # type: ignore[assignment]
    kept_index: KeptIndex = _on_store("kept_index")  # type: ignore[assignment]
    kept: InputStore = _on_store("kept")  # type: ignore[assignment]
    policy: HousePolicy = _on_store("policy")  # type: ignore[assignment]
    jobs: JobContext = _on_store("jobs")  # type: ignore[assignment]
    runs: Runs = _on_store("runs")  # type: ignore[assignment]

    @staticmethod
    def _shared_secrets(settings: Settings) -> None:
        # Replicas on one database must sign callbacks and browser ids alike: a secret one of them generated for
        # itself would make every other replica refuse its browsers' ids and its gateways' callbacks.
        if settings.database_url and not settings.database_url.startswith("sqlite"):
            missing = [name for name, value in (("AVATAR_SERVER_SECRET", settings.server_secret),
                                                ("AVATAR_STATE_SECRET", settings.state_secret)) if not value]
            if missing:
                raise ConfigError(f"With AVATAR_DATABASE_URL on Postgres every replica must share its secrets: set "
                                  f"{' and '.join(missing)} (the same long random value on every replica)")

    def start_engine(self) -> None:
        """Join the durable engine now (it launches in the background; runs wait for it). Idempotent."""
        self.runs.attach()

    def hand_over(self) -> None:
        """Stop running runs here and say so: a live replica takes them over at once (each at the step it was in).
        Pages watching them here go on watching, from the shared store."""
        if self._shared is not None and self.runs.attached:
            self.runs.detach()
            try:
                self.heartbeats.stopped(self.settings.replica_id)
            except Exception as exc:  # noqa: BLE001 - the database may be the very thing that is gone
                log.warning("could not record this replica's stop (%s); others take over when its beat is old", exc)

    def close(self) -> None:
        """Hand the runs over and close the database (the engine stops with the last app of the process)."""
        self.hand_over()
        if self._shared is not None:
            self.database.close()

    async def keep_watch(self) -> None:
        """Beat for this replica, and take over the runs of replicas that stopped or went silent (for ever)."""
        me = self.settings.replica_id
        while True:
            try:
                await asyncio.to_thread(self.heartbeats.beat, me)
                silent = await asyncio.to_thread(self.heartbeats.claim_silent, me, silent_s=SILENT_S)
                if silent:
                    taken = await self.runs.engine.recover(silent)
                    log.info("took over %d run(s) of replica(s) %s", taken, ", ".join(silent))
            except Exception:  # noqa: BLE001 - a missed beat is retried; it must never stop the app
                log.exception("heartbeat failed")
            await asyncio.sleep(BEAT_S)

    def provider(self, name: str, user_key: str | None = None) -> Provider:
        """A provider object for one run; a bring-your-own key lives only in it."""
        config = self.settings.provider(name).with_user_key(user_key)
        return providers.make_provider(config, ProviderOptions(work_dir=self.storage.previews))

    def routes(self) -> list[Route]:
        """The app's own HTTP routes: gateway callbacks, videos and published media."""
        return [self.callbacks.route(), *file_routes(self.storage)]

    def sweep(self) -> None:
        """Delete expired files and keep the disk under its cap; history rows are kept, without their video."""
        # Runs still in line or running send these later: renewed, retention takes them last and never expires them.
        for name in self.history.active_refs():
            self.kept.renew(name)
        report = self.storage.sweep(busy_jobs=self.inputs.busy(), inputs_used=self.kept.last_used())
        self.kept_index.forget(name for name in (*report.expired, *report.over_cap)
                               if not (self.kept.folder / name).exists())
        days = self.settings.retention.days
        self.history.forget_videos(report.expired, Text("store.video_expired", days=days))
        self.history.forget_videos(report.over_cap, Text("store.video_over_cap"))
        if report.expired or report.over_cap or report.jobs:
            log.info("retention: %d expired, %d over the cap, %d job folders removed",
                     len(report.expired), len(report.over_cap), report.jobs)

    async def run_in_background(self) -> None:
        """Open the shared store and launch the engine once the server answers, then clean up now and periodically
        (for the app's lifetime)."""
        try:
            await asyncio.to_thread(self.open)
        except ConfigError as exc:
            log.error("%s", exc)  # every request that needs the store says so too
            return
        await asyncio.sleep(ENGINE_DELAY_S)
        self.start_engine()
        watch = asyncio.create_task(self.keep_watch(), name="avatar-demo-heartbeat")
        try:
            await self._sweep_forever()
        finally:
            watch.cancel()

    async def _sweep_forever(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.sweep)
            except Exception:  # noqa: BLE001 - clean-up must never stop the app
                log.exception("retention sweep failed")
            await asyncio.sleep(SWEEP_EVERY_S)

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Any) -> AsyncIterator[None]:
        """The web server's lifespan: the background work runs while it serves."""
        task = asyncio.create_task(self.run_in_background(), name="avatar-demo-background")
        try:
            yield
        finally:
            task.cancel()
            await asyncio.to_thread(self.close)
