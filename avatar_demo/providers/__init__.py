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
]

#: Providers speaking Kling's contract (external ids, text to speech).
KLING_FAMILY = ("kling", "cometapi", "kkiai")


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
    config = settings.provider(name).with_user_key(user_key)
    options = {"transport": transport, "read_retry": read_retry}
    if name == "kling":
        from .kling import KlingProvider

        return KlingProvider(config, **options)
    if name == "cometapi":
        from .cometapi import CometApiProvider

        return CometApiProvider(config, **options)
    if name == "kkiai":
        from .kkiai import KkiaiProvider

        return KkiaiProvider(config, **options)
    if name == "modellix":
        from .modellix import ModellixProvider

        return ModellixProvider(config, **options)
    if name == "crun":
        from .crun import CrunProvider

        return CrunProvider(config, media_host=media_host, **options)
    if name == "local":
        from .local import LocalProvider

        return LocalProvider(work_dir or settings.data_dir / "previews")
    raise ConfigError(f"Unknown provider {name!r}")
