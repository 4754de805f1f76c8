"""Text the page shows: the status panel, the changes made to the inputs, provider choices and notes."""

from __future__ import annotations

from .. import providers
from ..app.config import Settings
from ..core.status import Status
from ..providers.spec import Cost

__all__ = [
    "changes_markdown",
    "keys_note",
    "provider_choices",
    "provider_label",
    "refusal_markdown",
    "status_markdown",
    "total_cost",
]


def provider_label(name: str) -> str:
    """A provider's label, or its bare name for a row written by a provider this version no longer has."""
    try:
        return providers.spec(name).label
    except Exception:  # noqa: BLE001 - a row written by a provider this version no longer has
        return name


def provider_choices(settings: Settings) -> list[tuple[str, str]]:
    """Dropdown choices that show which providers have a key."""
    choices = []
    for spec in providers.specs():
        mark = "" if spec.free else (" ✓ key set" if settings.providers[spec.name].configured else " — no key")
        choices.append((f"{spec.label}{mark}", spec.name))
    return choices


def keys_note(settings: Settings) -> str:
    """The note shown when only the free preview can run."""
    if any(not settings.providers[name].spec.free for name in settings.configured):
        return ""
    variables = ", ".join(f"`{'`+`'.join(group)}`" for spec in providers.specs() for group in spec.key_groups)
    return ("**No gateway key is configured, so the page opens on the free offline preview.** "
            f"To render with Kling Avatar, set one of {variables} as an environment variable "
            "(or a Space secret), or paste your own key under *Your own API key*.")


def status_markdown(status: Status | str, *, provider: str, detail: str = "", elapsed_s: float | None = None,
                    task_id: str | None = None, estimate: Cost | None = None, charged: Cost | None = None,
                    note: str = "") -> str:
    """The status panel: our word (the gateway's own word as detail), time, task id, estimated then charged cost."""
    word = status.value if isinstance(status, Status) else status
    shown = f"{word} ✓" if status is Status.DONE else word
    rows = [f"**Status:** {shown}" + (f" ({detail})" if detail and detail != word else ""),
            f"**Provider:** {provider_label(provider)}"]
    if elapsed_s is not None:
        rows.append(f"**Elapsed:** {elapsed_s:.0f} s")
    if task_id:
        rows.append(f"**Task id:** `{task_id}`")
    spec = providers.spec(provider)
    if spec.free:
        rows.append("**Cost:** free")
    elif charged is not None:
        rows.append(f"**Charged:** {charged}")
    elif estimate is not None:
        rows.append(f"**Estimated cost:** about {estimate}")
    text = " · ".join(rows)
    return f"{text}\n\n{note}" if note else text


def total_cost(costs: list[Cost | None]) -> str:
    """The sum of several estimates in one currency ("" when there is nothing to pay)."""
    known = [c for c in costs if c is not None]
    if not known:
        return ""
    return str(Cost(round(sum(c.amount for c in known), 4), known[0].currency, sum(c.units for c in known)))


def refusal_markdown(message: str) -> str:
    """The status panel when a request was refused before anything was sent."""
    return f"**Status:** refused — nothing was sent\n\n{message}"


def changes_markdown(changes: list[str], warnings: list[str] | None = None) -> str:
    """What was changed in the inputs, and anything worth a second look before paying."""
    parts = [f"**Check before you pay:** {w}" for w in warnings or []]
    if changes:
        parts.append("**Changes made to your inputs:**\n" + "\n".join(f"- {c}" for c in changes))
    else:
        parts.append("Inputs were used as they are.")
    return "\n\n".join(parts)
