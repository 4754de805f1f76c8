"""Text the page shows, in the reader's language: the status panel, what a run costs, choices and notes."""

from __future__ import annotations

from typing import Any

from .. import providers
from ..app.config import Settings
from ..core.status import Status
from ..core.text import Text, render
from ..providers.base import MODES
from ..providers.spec import Cost, Pricing
from .changes import changes_markdown
from .markup import details

#: The modes every gateway takes: std (720p) and pro (1080p, twice the price).

__all__ = [
    "MODES",
    "changes_markdown",
    "cost_text",
    "keys_note",
    "mode_choices",
    "mode_text",
    "pricing_of",
    "provider_choices",
    "provider_label",
    "refusal_markdown",
    "status_markdown",
    "status_text",
    "total_cost",
]


def provider_label(name: str) -> str:
    """A provider's label, or its bare name for a row written by a provider this version no longer has."""
    try:
        return providers.spec(name).label
    except Exception:  # noqa: BLE001 - a row written by a provider this version no longer has
        return name


def pricing_of(name: str) -> Pricing | None:
    """A provider's prices (None when it is free or unknown to this version)."""
    try:
        return providers.spec(name).pricing
    except Exception:  # noqa: BLE001 - a row written by a provider this version no longer has
        return None


def status_text(status: Status | str) -> Text:
    """Our word for where a task stands ("done ✓", "gateway unreachable"…), as the page shows it."""
    if isinstance(status, Status):
        return Text(f"status.{status.name.lower()}")
    return status if isinstance(status, Text) else Text.verbatim(status)


def cost_text(cost: Cost, pricing: Pricing | None = None, *, about: bool = False) -> Text:
    """Money where the price is known ("≈ $0.56 (4 units)"), else the gateway's own units and what one is."""
    key = {"USD": "cost.usd", "units": "cost.units", "credits": "cost.credits"}.get(cost.currency, "cost.other")
    if key in ("cost.units", "cost.credits") and cost.amount == 1:
        key = key[:-1]  # "1 unit", "1 credit"
    amount = Text(key, amount=cost.amount, currency=cost.currency)
    usd = pricing.usd(cost) if pricing is not None else None
    if cost.currency != "USD" and usd is not None:
        amount = Text("cost.money", usd=usd, amount=amount)
    elif cost.currency != "USD" and pricing is not None and pricing.unit_meaning:
        amount = Text("cost.meaning", amount=amount, meaning=pricing.unit_meaning)
    return Text("cost.about", amount=amount) if about else amount


def mode_text(mode: str) -> Text | str:
    """A mode as the page names it ("std" in English, "标准" in Chinese); a mode this version does not know, as is."""
    return Text(f"ui.mode.{mode}") if mode in MODES else mode


def mode_choices(lang: str = "en") -> list[tuple[str, str]]:
    """The mode pickers' choices: what each mode gives, by the value the API takes."""
    return [(render(Text(f"ui.mode.{mode}.choice"), lang), mode) for mode in MODES]


def provider_choices(settings: Settings, lang: str = "en") -> list[tuple[str, str]]:
    """Dropdown choices that show which providers have a key."""
    choices = []
    for spec in providers.specs():
        mark = "" if spec.free else Text("ui.key_set" if settings.providers[spec.name].configured else "ui.no_key")
        choices.append((render(spec.label, lang) + render(mark, lang), spec.name))
    return choices


def keys_note(settings: Settings) -> Text | str:
    """One line when only the free preview can run (the key panel says the rest; the README names variables)."""
    if any(not settings.providers[name].spec.free for name in settings.configured):
        return ""
    return Text("ui.keys_note")


def status_markdown(status: Status | str, *, provider: str, detail: str = "", elapsed_s: float | None = None,
                    task_id: str | None = None, estimate: Cost | None = None, charged: Cost | None = None,
                    note: Any = "", more: Any = "", lang: str = "en") -> str:
    """The status panel: our word, the gateway, time and cost on one line, a note under it, and the task id, the
    gateway's own word and *more* (what came with a finished video) behind a details toggle."""
    rows: list[Any] = [Text("ui.status.status", word=status_text(status)), provider_label(provider)]
    if elapsed_s is not None:
        rows.append(Text("ui.status.elapsed", seconds=round(elapsed_s)))
    # A free gateway has no cost to show (its name says it is free). A name no provider has (an old row, a
    # caller's typo) shows no cost rather than failing.
    spec = next((s for s in providers.specs() if s.name == provider), None)
    pricing = spec.pricing if spec is not None else None
    if charged is not None:
        rows.append(Text("ui.status.charged", cost=cost_text(charged, pricing)))
    elif estimate is not None:
        rows.append(Text("ui.status.estimate", cost=cost_text(estimate, pricing, about=True)))
    text = " · ".join(render(row, lang) for row in rows)
    shown_note = render(note, lang)
    if shown_note:
        text += f"\n\n{shown_note}"
    facts = [render(Text("ui.status.task", task=task_id), lang)] if task_id else []
    if detail and detail != render(status_text(status), lang):
        facts.append(render(Text("ui.status.gateway_word", word=detail), lang))
    if render(more, lang):
        facts.append(render(more, lang))
    return text + details(render(Text("ui.details"), lang), facts)


def total_cost(costs: dict[str, list[Cost | None]]) -> Text | str:
    """Several estimates by gateway, summed per gateway, "≈ …" each: "≈ $0.56 (4 units) + ≈ $0.23" ("" when there is
    nothing to pay). Gateways are not added together: their currencies and what a unit buys differ."""
    sums: list[Text] = []
    for name, some in costs.items():
        known = [c for c in some if c is not None]
        if known:
            total = Cost(round(sum(c.amount for c in known), 4), known[0].currency, sum(c.units for c in known))
            sums.append(cost_text(total, pricing_of(name), about=True))
    if not sums:
        return ""
    shown = sums[0]
    for more in sums[1:]:
        shown = Text("cost.plus", first=shown, then=more)
    return shown


def refusal_markdown(message: Any, lang: str = "en") -> str:
    """The status panel when a request was refused before anything was sent."""
    return render(Text("ui.refused", message=message), lang)
