"""The providers: one module per gateway, each the single source of its own facts, found through this registry.

It owns every gateway's spec (keys, limits, prices, capabilities), its wire format and status words,
and the shared HTTP layer with retried reads (http). It may import `core` and, for the offline
preview, `media`; nothing outside this package branches on a provider's name.

To add a gateway, write its module (a `SPEC` and a class built as `Class(config, options)`) and add
its module name to `_MODULES`; config, the page, the CLI, the simulator and the tests read it from here.
"""

from __future__ import annotations

import functools
import importlib

from ..core.errors import ConfigError
from .base import (
    AvatarRequest,
    Cancellable,
    HasCallbacks,
    Lookup,
    Provider,
    TaskState,
    TextToSpeech,
    TtsRequest,
    TtsResult,
)
from .spec import Cost, Pricing, ProviderConfig, ProviderOptions, ProviderSpec

__all__ = [
    "AvatarRequest",
    "Cancellable",
    "Cost",
    "HasCallbacks",
    "Lookup",
    "Pricing",
    "Provider",
    "ProviderConfig",
    "ProviderOptions",
    "ProviderSpec",
    "TaskState",
    "TextToSpeech",
    "TtsRequest",
    "TtsResult",
    "implementation",
    "make_provider",
    "names",
    "spec",
    "specs",
]

#: Provider modules, in the order used to pick a default when several have keys (the free preview last).
_MODULES = ("kling", "cometapi", "kkiai", "modellix", "crun", "fal", "local")


@functools.cache
def specs() -> tuple[ProviderSpec, ...]:
    """Every provider's spec, in preference order."""
    return tuple(importlib.import_module(f"{__name__}.{module}").SPEC for module in _MODULES)


def names() -> tuple[str, ...]:
    """Every provider's name, in preference order."""
    return tuple(s.name for s in specs())


def spec(name: str) -> ProviderSpec:
    """The spec of provider *name*, or a ConfigError listing the valid names."""
    for candidate in specs():
        if candidate.name == name:
            return candidate
    raise ConfigError(f"Unknown provider {name!r}; choose one of: {', '.join(names())}")


def implementation(provider: ProviderSpec) -> type:
    """The class implementing *provider* (its module is imported on first use)."""
    module, _, cls = provider.implementation.partition(":")
    return getattr(importlib.import_module(f"{__name__}.{module}"), cls)


def make_provider(config: ProviderConfig, options: ProviderOptions | None = None) -> Provider:
    """Build the provider object for *config* (one per request or follower; it owns an HTTP client)."""
    return implementation(config.spec)(config, options or ProviderOptions())
