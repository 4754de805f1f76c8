"""The shared half of the app: the database and what lives on it (history, allowance, account lines, heartbeats,
kept-input index), the house policy and the runs. Opened once, after the first page (it loads SQLAlchemy)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..core.errors import ConfigError, DiskFull
from ..jobs import JobContext, MediaHost, Timing
from ..jobs.lines import LineRules
from ..jobs.runs import Runs
from ..policy import HousePolicy
from ..providers import Provider
from ..store.accounts import AccountLines
from ..store.database import Database, DatabaseError
from ..store.history import History
from ..store.inputs import InputStore
from ..store.kept import KeptIndex
from ..store.keys import Keys
from ..store.ledger import Ledger
from ..store.replicas import Heartbeats
from ..store.storage import Storage
from ..web.callbacks import CallbackHub
from .config import Settings

__all__ = ["Shared", "open_shared"]


@dataclass
class Shared:
    """Everything that reads or writes the shared database."""

    database: Database
    history: History
    ledger: Ledger
    heartbeats: Heartbeats
    kept_index: KeptIndex
    kept: InputStore
    policy: HousePolicy
    jobs: JobContext
    runs: Runs


def system_database_url(settings: Settings, storage: Storage) -> str:
    """Where the engine keeps its workflows: the same Postgres, or a SQLite file beside the history."""
    return settings.database_url or f"sqlite:///{storage.root / 'engine.sqlite3'}"


def open_shared(settings: Settings, storage: Storage, keys: Keys, callbacks: CallbackHub,
                media_host: MediaHost | None, timing: Timing | None,
                make_provider: Callable[[str, str | None], Provider]) -> Shared:
    """Open the database (migrating it) and build what works on it; ConfigError when it cannot be used."""
    try:
        database = Database(settings.database_url or f"sqlite:///{storage.database}", legacy_dir=settings.data_dir)
    except (OSError, DatabaseError) as exc:
        if DiskFull.caused(exc):
            raise DiskFull("the database cannot be written") from None
        where = "AVATAR_DATABASE_URL" if settings.database_url else "AVATAR_DATA_DIR"
        raise ConfigError(f"The database cannot be used ({type(exc).__name__}: {str(exc).splitlines()[0]}); "
                          f"check {where}") from None
    history, ledger = History(database), Ledger(database)
    #: Prepared inputs kept for re-runs, one copy per distinct content; their last use is in the shared index.
    kept_index = KeptIndex(database)
    kept = InputStore(storage.inputs, kept_index)
    policy = HousePolicy(settings.house, ledger, public=settings.public)
    jobs = JobContext(history, AccountLines(history), storage.videos, kept, media_host, callbacks,
                      timing or Timing(deadline_s=settings.poll_deadline_s), on_end=policy.settle_run)
    rules = LineRules(app=database.identity,
                      parallel={name: config.parallel for name, config in settings.providers.items()},
                      secret=keys.server_secret, per_visitor=settings.house.max_jobs if settings.public else None,
                      preview_slots=settings.prepare_slots)
    runs = Runs(jobs, make_provider, rules, system_url=system_database_url(settings, storage),
                executor_id=settings.replica_id)
    return Shared(database, history, ledger, Heartbeats(database), kept_index, kept, policy, jobs, runs)
