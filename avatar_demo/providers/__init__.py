"""The gateways behind one interface, and the one place that builds them by name."""

from __future__ import annotations

from pathlib import Path

import httpx

from ..config import Settings
from ..errors import ConfigError
from ..hosting import MediaHost
from .base import AvatarRequest, Provider, Status, TaskState, TtsRequest, TtsResult
from .http import ReadRetry

__all__ = [
    "KLING_FAMILY",
    "AvatarRequest",
    "Provider",
    "Status",
    "TaskState",
    "TtsRequest",
    "TtsResult",
    "make_provider",
    "provider_class",
]

#: Providers speaking Kling's contract (external ids, text to speech).
KLING_FAMILY = ("kling", "cometapi", "kkiai")


def provider_class(name: str) -> type:
    """The class implementing provider *name* (imported lazily), for its limits and capabilities."""
    if name == "kling":
        from .kling import KlingProvider

        return KlingProvider
    if name == "cometapi":
        from .cometapi import CometApiProvider

        return CometApiProvider
    if name == "kkiai":
        from .kkiai import KkiaiProvider

        return KkiaiProvider
    if name == "modellix":
        from .modellix import ModellixProvider

        return ModellixProvider
    if name == "crun":
        from .crun import CrunProvider

        return CrunProvider
    if name == "local":
        from .local import LocalProvider

        return LocalProvider
    raise ConfigError(f"Unknown provider {name!r}")


def make_provider(
    name: str,
    settings: Settings,
    *,
    user_key: str | None = None,
    media_host: MediaHost | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    read_retry: ReadRetry | None = None,
    work_dir: Path | None = None,
) -> Provider:
    """Build provider *name*; *user_key* (bring-your-own) overrides the configured key for this object only."""
    cls = provider_class(name)
    if name == "local":
        return cls(work_dir or settings.data_dir / "previews")
    config = settings.provider(name).with_user_key(user_key)
    options = {"transport": transport, "read_retry": read_retry}
    if name == "crun":
        options["media_host"] = media_host
    return cls(config, **options)
