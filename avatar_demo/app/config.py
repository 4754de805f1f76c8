"""All settings, read in one place: explicit argument > environment variable > default."""

from __future__ import annotations

import dataclasses
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import providers
from ..core.errors import ConfigError
from ..policy.house import HouseRules
from ..providers.spec import ProviderConfig
from ..store.storage import Retention

__all__ = ["HouseRules", "Retention", "Settings", "load_settings"]

#: Where a Space mounts a storage bucket (old persistent storage is discontinued).
SPACE_VOLUME = Path("/data")


@dataclass(frozen=True)
class Settings:
    """The app's settings after resolving arguments, environment and defaults."""

    providers: Mapping[str, ProviderConfig]
    default_provider: str
    max_audio_s: float = 60.0
    data_dir: Path = field(default_factory=lambda: Path.home() / ".local" / "share" / "avatar-demo")
    #: True when the data dir is local to a Space's container and lost when it restarts.
    ephemeral: bool = False
    public_url: str | None = None
    poll_deadline_s: float = 20 * 60.0
    #: Preparations (CPU-bound) at once; waiting on gateways is not bounded.
    prepare_slots: int = 2
    queue_size: int = 256
    #: Public mode: strangers reach the app (a Space, a share link, or AVATAR_PUBLIC=1).
    public: bool = False
    share: bool = False
    house: HouseRules = field(default_factory=HouseRules)
    retention: Retention = field(default_factory=Retention)
    #: "user:password" for the whole app.
    auth: tuple[str, str] | None = field(default=None, repr=False)
    mcp: bool = False
    space_id: str | None = None
    #: Sign-in with Hugging Face: a Space with `hf_oauth: true` in its README (Gradio's LoginButton works there).
    oauth: bool = False
    #: Keeps each browser's stored state readable across restarts; public (it reaches every browser).
    state_secret: str | None = field(default=None, repr=False)
    #: Signs callback URLs and browser ids; never leaves the server.
    server_secret: str | None = field(default=None, repr=False)
    #: The largest export zip in public mode, in megabytes.
    export_max_mb: float = 500.0
    hf_dataset: str | None = None
    hf_token: str | None = field(default=None, repr=False)
    #: The shared database (AVATAR_DATABASE_URL): None is SQLite files in the data dir; postgresql://… for replicas.
    database_url: str | None = field(default=None, repr=False)
    #: This replica's name (AVATAR_REPLICA_ID, default the host name): its heartbeat and its runs go by it.
    replica_id: str = field(default_factory=socket.gethostname)

    def provider(self, name: str) -> ProviderConfig:
        """The config of provider *name*, or a ConfigError listing the valid names."""
        providers.spec(name)
        return self.providers[name]

    @property
    def configured(self) -> list[str]:
        """Providers that have a key (always includes the free ones)."""
        return [name for name, config in self.providers.items() if config.configured]


def default(kind: type, name: str) -> Any:
    """A setting's one default, as its dataclass declares it."""
    found = {f.name: f for f in dataclasses.fields(kind)}[name]
    if found.default is not dataclasses.MISSING:
        return found.default
    return found.default_factory()  # type: ignore[misc]


def _number(env: Mapping[str, str], name: str, default: float, *, low: float, high: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low:g} and {high:g}, got {value:g}")
    return value


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be on or off (1/0, true/false), got {raw!r}")


def _auth(env: Mapping[str, str]) -> tuple[str, str] | None:
    raw = env.get("AVATAR_AUTH") or ""
    if not raw:
        return None
    user, sep, password = raw.partition(":")
    if not (sep and user.strip() and password):
        raise ConfigError("AVATAR_AUTH must be user:password")
    return user.strip(), password


def _data_dir(env: Mapping[str, str], volume: Path) -> tuple[Path, bool]:
    """AVATAR_DATA_DIR, else a mounted bucket at /data, else a local folder (lost on a Space restart)."""
    if env.get("AVATAR_DATA_DIR"):
        return Path(env["AVATAR_DATA_DIR"]), False
    if volume.is_dir() and os.access(volume, os.W_OK):
        return volume / "avatar-demo", False
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "avatar-demo", bool(env.get("SPACE_ID"))


def _database_url(env: Mapping[str, str]) -> str | None:
    raw = (env.get("AVATAR_DATABASE_URL") or "").strip()
    if not raw:
        return None
    if not raw.split("://", 1)[0].split("+", 1)[0] in ("postgresql", "postgres", "sqlite"):
        raise ConfigError("AVATAR_DATABASE_URL must be postgresql://user:password@host:port/database "
                          "(or sqlite:///path/file.sqlite3)")
    return raw


def load_settings(env: Mapping[str, str] | None = None, *, space_volume: Path | None = None,
                  **overrides: object) -> Settings:
    """Build Settings from keyword overrides, then *env* (default os.environ), then defaults.

    *space_volume* replaces /data as the place a Space mounts its storage bucket (tests use it).
    """
    env = os.environ if env is None else env
    configs = {spec.name: ProviderConfig.from_env(spec, env) for spec in providers.specs()}

    chosen = overrides.pop("default_provider", None) or env.get("AVATAR_PROVIDER")
    if chosen:
        if chosen not in configs:
            raise ConfigError(f"AVATAR_PROVIDER={chosen!r} is not a provider; choose one of: {', '.join(configs)}")
    else:
        chosen = next((name for name, c in configs.items() if c.configured and not c.spec.free), None) \
            or next(name for name, c in configs.items() if c.spec.free)

    space_id = env.get("SPACE_ID") or None
    public_url = env.get("AVATAR_PUBLIC_URL") or (
        f"https://{env['SPACE_HOST'].split(',')[0].strip()}" if env.get("SPACE_HOST") else None
    )
    data_dir, ephemeral = _data_dir(env, space_volume or SPACE_VOLUME)
    house = HouseRules(
        free_runs=int(_number(env, "AVATAR_FREE_RUNS", default(HouseRules, "free_runs"), low=0, high=10_000)),
        free_seconds=_number(env, "AVATAR_FREE_SECONDS", default(HouseRules, "free_seconds"), low=2.0, high=300.0),
        daily_units=_number(env, "AVATAR_DAILY_UNITS", default(HouseRules, "daily_units"), low=0, high=1e9),
        house_key=_flag(env, "AVATAR_HOUSE_KEY", default(HouseRules, "house_key")),
        require_login=_flag(env, "AVATAR_REQUIRE_LOGIN", default(HouseRules, "require_login")),
        allowed_orgs=tuple(o.strip() for o in (env.get("AVATAR_ALLOWED_ORGS") or "").split(",") if o.strip()),
        max_jobs=int(_number(env, "AVATAR_MAX_JOBS_PER_VISITOR", default(HouseRules, "max_jobs"), low=1, high=1000)),
        upload_mb_per_hour=_number(env, "AVATAR_UPLOAD_MB_PER_HOUR", default(HouseRules, "upload_mb_per_hour"), low=1, high=1e6),
        # On a Space the nearest proxy is the Space's own, which appends the client's address.
        proxy_hops=int(_number(env, "AVATAR_PROXY_HOPS", 1 if space_id else 0, low=0, high=10)),
    )
    retention = Retention(
        days=_number(env, "AVATAR_RETENTION_DAYS", default(Retention, "days"), low=0.01, high=3650),
        max_disk_mb=_number(env, "AVATAR_MAX_DISK_MB", default(Retention, "max_disk_mb"), low=10, high=1e9),
        min_free_mb=_number(env, "AVATAR_MIN_FREE_MB", default(Retention, "min_free_mb"), low=0, high=1e9),
    )
    values: dict[str, object] = {
        "providers": configs,
        "default_provider": chosen,
        "max_audio_s": _number(env, "AVATAR_MAX_AUDIO_S", default(Settings, "max_audio_s"), low=2.0, high=300.0),
        "data_dir": data_dir,
        "ephemeral": ephemeral,
        "poll_deadline_s": _number(env, "AVATAR_POLL_DEADLINE_S", default(Settings, "poll_deadline_s"), low=1.0, high=86400.0),
        "prepare_slots": int(_number(env, "AVATAR_CONCURRENCY", os.cpu_count() or 2, low=1, high=1000)),
        "queue_size": int(_number(env, "AVATAR_QUEUE_SIZE", default(Settings, "queue_size"), low=1, high=100000)),
        "public_url": public_url.rstrip("/") if public_url else None,
        "house": house,
        "retention": retention,
        "auth": _auth(env),
        "mcp": _flag(env, "AVATAR_MCP", default(Settings, "mcp")),
        "space_id": space_id,
        "oauth": bool(space_id and env.get("SYSTEM") == "spaces" and env.get("OAUTH_CLIENT_ID")),
        "state_secret": env.get("AVATAR_STATE_SECRET") or None,
        "server_secret": env.get("AVATAR_SERVER_SECRET") or None,
        "export_max_mb": _number(env, "AVATAR_EXPORT_MAX_MB", default(Settings, "export_max_mb"), low=0.01, high=1e6),
        "hf_dataset": env.get("AVATAR_HF_DATASET") or None,
        "hf_token": env.get("HF_TOKEN") or None,
        "database_url": _database_url(env),
        "replica_id": (env.get("AVATAR_REPLICA_ID") or "").strip() or default(Settings, "replica_id"),
    }
    values.update({k: v for k, v in overrides.items() if v is not None})
    # A share link reaches strangers like a Space does (Gradio ignores share on a Space).
    values["share"] = bool(values.get("share", _flag(env, "GRADIO_SHARE", False))) and not space_id
    if "public" not in overrides:
        values["public"] = _flag(env, "AVATAR_PUBLIC", bool(space_id) or bool(values["share"]))
    return Settings(**values)  # type: ignore[arg-type]
