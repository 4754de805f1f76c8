"""Text the page shows, in the reader's language: the status panel, the changes made to the inputs, choices, notes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import providers
from ..app.config import Settings
from ..core.status import Status
from ..core.text import Text, render
from ..providers.spec import Cost

__all__ = [
    "changes_markdown",
    "cost_text",
    "keys_note",
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


def status_text(status: Status | str) -> Text:
    """Our word for where a task stands ("done ✓", "gateway unreachable"…), as the page shows it."""
    if isinstance(status, Status):
        return Text(f"status.{status.name.lower()}")
    return status if isinstance(status, Text) else Text.verbatim(status)


def cost_text(cost: Cost, *, about: bool = False) -> Text:
    """An amount in the gateway's own currency: "$0.17", "1.2 units", "3 credits" (and "about …")."""
    key = {"USD": "cost.usd", "units": "cost.units", "credits": "cost.credits"}.get(cost.currency, "cost.other")
    amount = Text(key, amount=cost.amount, currency=cost.currency)
    return Text("cost.about", amount=amount) if about else amount


def provider_choices(settings: Settings, lang: str = "en") -> list[tuple[str, str]]:
    """Dropdown choices that show which providers have a key."""
    choices = []
    for spec in providers.specs():
        mark = "" if spec.free else Text("ui.key_set" if settings.providers[spec.name].configured else "ui.no_key")
        choices.append((render(spec.label, lang) + render(mark, lang), spec.name))
    return choices


def keys_note(settings: Settings) -> Text | str:
    """The note shown when only the free preview can run."""
    if any(not settings.providers[name].spec.free for name in settings.configured):
        return ""
    variables = ", ".join(f"`{'`+`'.join(group)}`" for spec in providers.specs() for group in spec.key_groups)
    return Text("ui.keys_note", variables=variables)


def status_markdown(status: Status | str, *, provider: str, detail: str = "", elapsed_s: float | None = None,
                    task_id: str | None = None, estimate: Cost | None = None, charged: Cost | None = None,
                    note: Any = "", lang: str = "en") -> str:
    """The status panel: our word (the gateway's own word as detail), time, task id, estimated then charged cost."""
    word = status_text(status)
    shown = Text("ui.status.word.detail", word=word, detail=detail) if detail and detail != word else word
    rows: list[Text] = [Text("ui.status.status", word=shown), Text("ui.status.provider", name=provider_label(provider))]
    if elapsed_s is not None:
        rows.append(Text("ui.status.elapsed", seconds=round(elapsed_s)))
    if task_id:
        rows.append(Text("ui.status.task", task=task_id))
    spec = next((s for s in providers.specs() if s.name == provider), None)
    if spec is not None and spec.free:
        rows.append(Text("ui.status.free"))
    elif charged is not None:
        rows.append(Text("ui.status.charged", cost=cost_text(charged)))
    elif estimate is not None:
        rows.append(Text("ui.status.estimate", cost=cost_text(estimate, about=True)))
    text = " · ".join(render(row, lang) for row in rows)
    shown_note = render(note, lang)
    return f"{text}\n\n{shown_note}" if shown_note else text


def total_cost(costs: list[Cost | None]) -> Text | str:
    """The sum of several estimates in one currency ("" when there is nothing to pay)."""
    known = [c for c in costs if c is not None]
    if not known:
        return ""
    return cost_text(Cost(round(sum(c.amount for c in known), 4), known[0].currency, sum(c.units for c in known)))


def refusal_markdown(message: Any, lang: str = "en") -> str:
    """The status panel when a request was refused before anything was sent."""
    return render(Text("ui.refused", message=message), lang)


def changes_markdown(changes: Sequence[Any], warnings: Sequence[Any] | None = None, lang: str = "en") -> str:
    """What was changed in the inputs, and anything worth a second look before paying."""
    parts = [render(Text("ui.check_before_paying", warning=w), lang) for w in warnings or []]
    if changes:
        parts.append(render(Text("ui.changes_made"), lang) + "\n" + "\n".join(f"- {render(c, lang)}" for c in changes))
    else:
        parts.append(render(Text("ui.used_as_they_are"), lang))
    return "\n\n".join(parts)
