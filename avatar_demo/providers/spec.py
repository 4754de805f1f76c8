"""What a provider is, as data: its spec (name, keys, limits, prices, capabilities) and its resolved config."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..core.errors import ConfigError, InputError
from ..core.text import Text

if TYPE_CHECKING:
    import httpx

    from .http import ReadRetry

__all__ = ["KLING_LIST_PRICE", "KLING_UNIT_USD", "Cost", "Pricing", "ProviderConfig", "ProviderOptions", "ProviderSpec"]

#: Kling's price list: 0.4 units = $0.056, so one unit is $0.14. The house budget is kept in these units.
KLING_UNIT_USD = 0.14


@dataclass(frozen=True)
class Cost:
    """An estimated or charged amount in a provider's own currency, and its value in Kling units."""

    amount: float
    currency: str
    units: float

    def __str__(self) -> str:
        if self.currency == "USD":
            return f"${self.amount:.2f}"
        return f"{self.amount:g} {self.currency}"


@dataclass(frozen=True)
class Pricing:
    """Price per second of video, by mode, in the provider's own currency."""

    per_second: Mapping[str, float]
    currency: str = "units"
    #: Kling units per unit of *currency*, so different gateways share one daily budget.
    units_per_currency: float = 1.0
    #: US dollars one unit of *currency* costs, where the gateway publishes it (None: not known, so the page
    #: shows the amount in the gateway's own units, with *unit_meaning*).
    usd_each: float | None = None
    #: What one unit of *currency* is, for a reader who sees no money ("Kling's list-price units").
    unit_meaning: Text | str = ""

    def estimate(self, mode: str, seconds: float) -> Cost:
        """The cost of *seconds* of video in *mode*."""
        amount = self.per_second.get(mode, self.per_second["std"]) * seconds
        digits = 4 if self.currency == "USD" else 2
        return Cost(round(amount, digits), self.currency, round(amount * self.units_per_currency, 2))

    def charged(self, amount: float) -> Cost:
        """A charge the gateway reported, in its own currency."""
        return Cost(amount, self.currency, round(amount * self.units_per_currency, 2))

    def usd(self, cost: Cost) -> float | None:
        """*cost* in US dollars, when that is known (a price in dollars, or units with a published dollar price)."""
        if cost.currency == "USD":
            return cost.amount
        return None if self.usd_each is None else cost.amount * self.usd_each


#: Kling's list price: 0.4 units per second of video at 720p (std), 0.8 at 1080p (pro). Resellers that
#: publish no price of their own are estimated with it; what they charge in money is not known.
KLING_LIST_PRICE = Pricing({"std": 0.4, "pro": 0.8}, currency="units", unit_meaning=Text("unit.kling_list"))


@dataclass(frozen=True)
class ProviderSpec:
    """Everything the app needs to know about a provider without talking to it."""

    name: str
    label: str
    #: "module:Class" inside avatar_demo.providers, imported only when a provider object is built.
    implementation: str
    #: Environment variables holding the key(s); the first complete group wins.
    key_groups: tuple[tuple[str, ...], ...] = ()
    default_base_url: str = ""
    #: Longest voice clip the gateway accepts, in seconds.
    max_audio_s: float = 300.0
    #: None for a free provider (the offline preview).
    pricing: Pricing | None = None
    #: Text to speech that returns an audio id usable instead of a clip.
    tts: bool = False
    #: A watermarked copy can be asked for.
    watermark: bool = False
    #: Creates take a callback URL that the gateway calls when the task changes.
    callbacks: bool = False
    #: Creates carry an id of ours that the task can be looked up by after an ambiguous create.
    external_ids: bool = False
    #: Media must be published at a public URL the gateway fetches.
    public_media: bool = False
    #: A running task can be cancelled on the gateway.
    cancel: bool = False
    #: Tasks live in this process and end with it (the offline preview): nothing to resume after a restart.
    in_process: bool = False
    #: The wire contract the simulator must speak to stand in for this gateway (None: nothing to simulate).
    contract: str | None = None
    #: Tasks one account may have unfinished at once: the gateway's documented figure, else a conservative one.
    #: The owner sets their own account's with <NAME>_MAX_PARALLEL.
    max_parallel: int = 3
    #: How long a task typically takes, until the app has timed some of its own (the queue's estimates).
    typical_s: float = 120.0
    #: Where a person makes a key for this gateway (linked from the page's key panel).
    key_url: str = ""

    @property
    def env_prefix(self) -> str:
        """Prefix of this provider's own settings, e.g. KLING for KLING_BASE_URL."""
        return self.name.upper()

    @property
    def free(self) -> bool:
        """Whether using it costs nothing (and needs no key)."""
        return self.pricing is None

    def key_hint(self) -> str:
        """The variables to set, as a user reads them: "A+B or C"."""
        return " or ".join("+".join(group) for group in self.key_groups)

    def estimate(self, mode: str, seconds: float | None) -> Cost | None:
        """Estimated cost of *seconds* of video (None when free or the length is unknown)."""
        if self.pricing is None or not seconds:
            return None
        return self.pricing.estimate(mode, seconds)


def _sendable(key: str) -> bool:
    """Whether a pasted key can travel in an HTTP header: visible ASCII only (no spaces, controls or letters beyond
    ASCII, which are what a paste picks up by mistake)."""
    return bool(key) and all("!" <= ch <= "~" for ch in key)


@dataclass(frozen=True)
class ProviderConfig:
    """One provider's spec with the base URL and credentials resolved from settings."""

    spec: ProviderSpec
    base_url: str
    credentials: Mapping[str, str] = field(default_factory=dict, repr=False)
    #: Tasks the app's own key may have unfinished at once (<NAME>_MAX_PARALLEL, default the spec's).
    max_parallel: int | None = None

    @property
    def parallel(self) -> int:
        """The parallel limit of the app's own account on this gateway."""
        return self.max_parallel or self.spec.max_parallel

    @property
    def name(self) -> str:
        """The provider's name."""
        return self.spec.name

    @property
    def configured(self) -> bool:
        """Whether a key is present (a free provider needs none)."""
        return self.spec.free or bool(self.credentials)

    def credential(self, variable: str) -> str | None:
        """The value of one key variable, if that group was chosen."""
        return self.credentials.get(variable)

    def require_key(self) -> None:
        """Raise a ConfigError naming the variable(s) to set when no key is present."""
        if not self.configured:
            raise ConfigError(Text("key.missing", provider=self.spec.label, variables=self.spec.key_hint()))

    def with_user_key(self, key: str | None) -> ProviderConfig:
        """A copy that uses a bring-your-own key for one request.

        "A:B" fills a two-variable group when the provider has one (Kling's access and secret key);
        anything else fills the first one-variable group, colons included (fal keys are "id:secret").
        """
        key = (key or "").strip()
        if not key or self.spec.free:
            return self
        pair = next((g for g in self.spec.key_groups if len(g) == 2), None)
        single = next((g for g in self.spec.key_groups if len(g) == 1), None)
        if pair and ":" in key:
            first, _, second = (part.strip() for part in key.partition(":"))
            if not (_sendable(first) and _sendable(second)):
                raise self._unsendable(pair)
            return ProviderConfig(self.spec, self.base_url, {pair[0]: first, pair[1]: second}, self.max_parallel)
        if not _sendable(key):
            raise self._unsendable(pair)
        if single is None:
            raise ConfigError(Text("key.pair", provider=self.spec.label, variables="+".join(pair or ())))
        return ProviderConfig(self.spec, self.base_url, {single[0]: key}, self.max_parallel)

    def _unsendable(self, pair: tuple[str, ...] | None) -> InputError:
        # Refused here, before any slot or allowance is taken: such a key could never leave in a header.
        detail = Text("key.unsendable.pair", provider=self.spec.label, variables="+".join(pair)) if pair else ""
        return InputError(Text("key.unsendable", pair=detail))

    @classmethod
    def from_env(cls, spec: ProviderSpec, env: Mapping[str, str]) -> ProviderConfig:
        """Resolve base URL (<NAME>_BASE_URL, else the default), the first complete key group and the account's
        parallel limit (<NAME>_MAX_PARALLEL)."""
        base = env.get(f"{spec.env_prefix}_BASE_URL") or spec.default_base_url
        variable = f"{spec.env_prefix}_MAX_PARALLEL"
        raw = (env.get(variable) or "").strip()
        parallel: int | None = None
        if raw:
            if not raw.isdigit() or not 1 <= int(raw) <= 1000:
                raise ConfigError(f"{variable} must be a whole number from 1 to 1000, got {raw!r}")
            parallel = int(raw)
        credentials: dict[str, str] = {}
        for group in spec.key_groups:
            values = [env.get(variable, "").strip() for variable in group]
            if all(values):
                credentials = dict(zip(group, values))
                break
        return cls(spec, base.rstrip("/"), credentials, parallel)


@dataclass(frozen=True)
class ProviderOptions:
    """What every provider constructor takes besides its config; most providers use a part of it."""

    transport: httpx.AsyncBaseTransport | None = None
    read_retry: ReadRetry | None = None
    #: Scratch space for providers that work locally (the offline preview).
    work_dir: Path | None = None
