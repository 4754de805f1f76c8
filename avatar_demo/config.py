"""All settings, read in one place: explicit argument > environment variable > default."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from .errors import ConfigError

__all__ = [
    "PROVIDERS",
    "PROVIDER_KEYS",
    "ProviderConfig",
    "Settings",
    "load_settings",
]

#: Every provider, in the order used to pick a default when several have keys.
PROVIDERS = ("kling", "cometapi", "kkiai", "modellix", "crun", "local")

#: The environment variables that hold each provider's key(s); the first group that is
#: complete wins.  Kling takes either an access/secret pair (JWT) or a plain API key.
PROVIDER_KEYS: dict[str, tuple[tuple[str, ...], ...]] = {
    "kling": (("KLING_ACCESS_KEY", "KLING_SECRET_KEY"), ("KLING_API_KEY",)),
    "cometapi": (("COMETAPI_KEY",),),
    "kkiai": (("KKIAI_API_KEY",),),
    "modellix": (("MODELLIX_API_KEY",),),
    "crun": (("CRUN_API_KEY",),),
    "local": ((),),
}

DEFAULT_BASE_URLS = {
    "kling": "https://api-singapore.klingai.com",
    "cometapi": "https://api.cometapi.com",
    "kkiai": "https://www.kkiai.com",
    "modellix": "https://api.modellix.ai",
    "crun": "https://api.crun.ai",
    "local": "",
}


def _default_data_dir() -> Path:
    # A Space with persistent storage mounts /data; elsewhere follow XDG.
    if Path("/data").is_dir() and os.access("/data", os.W_OK):
        return Path("/data/avatar-demo")
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "avatar-demo"


@dataclass(frozen=True)
class ProviderConfig:
    """What one provider needs to talk to its gateway."""

    name: str
    base_url: str
    api_key: str | None = field(default=None, repr=False)
    access_key: str | None = field(default=None, repr=False)
    secret_key: str | None = field(default=None, repr=False)

    @property
    def configured(self) -> bool:
        """Whether a key is present (the local preview needs none)."""
        return self.name == "local" or bool(self.api_key or (self.access_key and self.secret_key))

    def require_key(self) -> None:
        """Raise a ConfigError naming the variable(s) to set when no key is present."""
        if self.configured:
            return
        options = " or ".join("+".join(group) for group in PROVIDER_KEYS[self.name])
        raise ConfigError(
            f"No API key for {self.name}: set {options} (environment variable or Space secret), "
            "or paste your own key into the key field"
        )

    def with_user_key(self, key: str | None) -> ProviderConfig:
        """Return a copy that uses a bring-your-own key for one request.

        For Kling an "ACCESS:SECRET" pair selects JWT signing; anything else is a plain
        API key sent as Bearer.
        """
        key = (key or "").strip()
        if not key:
            return self
        if self.name == "kling" and ":" in key:
            access, _, secret = key.partition(":")
            return replace(self, api_key=None, access_key=access.strip(), secret_key=secret.strip())
        return replace(self, api_key=key, access_key=None, secret_key=None)


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


@dataclass(frozen=True)
class Settings:
    """The app's settings after resolving arguments, environment and defaults."""

    providers: dict[str, ProviderConfig]
    default_provider: str
    max_audio_s: float = 60.0
    data_dir: Path = field(default_factory=_default_data_dir)
    public_url: str | None = None
    poll_deadline_s: float = 20 * 60.0
    concurrency: int = 32
    queue_size: int = 256
    state_secret: str | None = field(default=None, repr=False)
    hf_dataset: str | None = None
    hf_token: str | None = field(default=None, repr=False)

    def provider(self, name: str) -> ProviderConfig:
        """The config of provider *name*, or a ConfigError listing the valid names."""
        try:
            return self.providers[name]
        except KeyError:
            raise ConfigError(
                f"Unknown provider {name!r}; choose one of: {', '.join(PROVIDERS)}"
            ) from None

    @property
    def configured(self) -> list[str]:
        """Providers that have a key (always includes local)."""
        return [n for n in PROVIDERS if self.providers[n].configured]


def load_settings(env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    """Build Settings from keyword overrides, then *env* (default os.environ), then defaults."""
    env = os.environ if env is None else env
    providers: dict[str, ProviderConfig] = {}
    for name in PROVIDERS:
        prefix = name.upper()
        base = env.get(f"{prefix}_BASE_URL") or DEFAULT_BASE_URLS[name]
        providers[name] = ProviderConfig(
            name=name,
            base_url=base.rstrip("/"),
            api_key=env.get(f"{prefix}_API_KEY") if name != "cometapi" else env.get("COMETAPI_KEY"),
            access_key=env.get("KLING_ACCESS_KEY") if name == "kling" else None,
            secret_key=env.get("KLING_SECRET_KEY") if name == "kling" else None,
        )

    chosen = overrides.pop("default_provider", None) or env.get("AVATAR_PROVIDER")
    if chosen:
        if chosen not in providers:
            raise ConfigError(
                f"AVATAR_PROVIDER={chosen!r} is not a provider; choose one of: {', '.join(PROVIDERS)}"
            )
    else:
        chosen = next((n for n in PROVIDERS if n != "local" and providers[n].configured), "local")

    public_url = env.get("AVATAR_PUBLIC_URL") or (
        f"https://{env['SPACE_HOST']}" if env.get("SPACE_HOST") else None
    )
    values: dict[str, object] = {
        "providers": providers,
        "default_provider": chosen,
        "max_audio_s": _number(env, "AVATAR_MAX_AUDIO_S", 60.0, low=2.0, high=300.0),
        "poll_deadline_s": _number(env, "AVATAR_POLL_DEADLINE_S", 1200.0, low=1.0, high=86400.0),
        "concurrency": int(_number(env, "AVATAR_CONCURRENCY", 32, low=1, high=1000)),
        "queue_size": int(_number(env, "AVATAR_QUEUE_SIZE", 256, low=1, high=100000)),
        "public_url": public_url.rstrip("/") if public_url else None,
        "state_secret": env.get("AVATAR_STATE_SECRET"),
        "hf_dataset": env.get("AVATAR_HF_DATASET"),
        "hf_token": env.get("HF_TOKEN"),
    }
    if env.get("AVATAR_DATA_DIR"):
        values["data_dir"] = Path(env["AVATAR_DATA_DIR"])
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Settings(**values)  # type: ignore[arg-type]
