"""What every handler needs: the services, who is asking, their browser id, and readable refusals."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr
from gradio.utils import get_upload_folder as gradio_upload_folder

from ..app.generations import Generations
from ..app.services import Services
from ..app.workbench import Workbench
from ..core.errors import AvatarDemoError, ConfigError, DiskFull, GatewayError, InputError, NotAllowed
from ..core.text import Text, render
from ..policy import Visitor, identify

__all__ = ["Outputs", "UIContext", "as_refusal", "refusal", "refused_words", "scrub"]

log = logging.getLogger("avatar_demo")


def scrub(message: str, key: str | None) -> str:
    """Belt and braces: no gateway echoes keys, but a message must never carry one to the page."""
    return message.replace(key, "***") if key and len(key) >= 4 else message


def _title(exc: AvatarDemoError | str) -> str:
    return ("ui.title.input" if isinstance(exc, InputError) else "ui.title.not_allowed"
            if isinstance(exc, NotAllowed) else "ui.title.disk" if isinstance(exc, DiskFull)
            else "ui.title.config" if isinstance(exc, ConfigError) else "ui.title.gateway"
            if isinstance(exc, GatewayError) else "ui.title.failed")


def refused_words(exc: AvatarDemoError | str, key: str | None = None, *, title: str | None = None,
                  lang: str = "en") -> str:
    """One of our errors as the page says it in place, in the reader's language: logged once (in English),
    never a traceback, never a key."""
    message = exc.text if isinstance(exc, AvatarDemoError) else exc
    log.info("%s: %s", render(Text(title or _title(exc))), scrub(str(message), key))
    return scrub(render(message, lang), key)


def refusal(exc: AvatarDemoError | str, key: str | None = None, *, title: str | None = None,
            lang: str = "en") -> gr.Error:
    """The gr.Error for one of our errors, in the caller's language (see refused_words).

    API callers read it as the call's error. The page shows no notice for it: every event that can refuse has
    already said why in its own place (the status line, the verdict line), and once is enough.
    """
    words = refused_words(exc, key, title=title, lang=lang)
    # A refusal is not a bug: Gradio would print a traceback for it unless told not to.
    return gr.Error(words, title=render(Text(title or _title(exc)), lang), visible=False, print_exception=False)


def as_refusal(exc: BaseException, key: str | None = None) -> AvatarDemoError:
    """Any exception as one of ours: a bug is logged with its traceback, the person reads a plain sentence."""
    if isinstance(exc, AvatarDemoError):
        return exc
    if DiskFull.caused(exc):
        return DiskFull()
    log.error("unexpected error: %s", scrub(f"{type(exc).__name__}: {exc}", key), exc_info=exc)
    return AvatarDemoError(Text("ui.unexpected"))


@dataclass
class UIContext:
    """One per page: the process's services and the per-request helpers handlers share."""

    services: Services
    generations: Generations = field(init=False)
    workbench: Workbench = field(init=False)

    def __post_init__(self) -> None:
        self.generations = Generations(self.services)
        # Export zips are written straight into Gradio's own file cache, which serves them as they are: elsewhere,
        # Gradio would keep a second copy of every zip for a day, outside every budget.
        self.workbench = Workbench(self.generations, exports=Path(gradio_upload_folder()) / "avatar-demo-exports")

    @property
    def settings(self):  # type: ignore[no-untyped-def]
        """The app's settings."""
        return self.services.settings

    @property
    def media_checks(self) -> dict[str, Any]:
        """Event options for the page's helpers that read media (voice window, lab summary, photo check): all of
        them together run at most AVATAR_CONCURRENCY at once, so a burst of calls cannot start an ffmpeg or Pillow
        job each."""
        return {"concurrency_id": "media-checks", "concurrency_limit": self.settings.prepare_slots}

    def visitor(self, request: gr.Request | None, profile: gr.OAuthProfile | None = None) -> Visitor:
        """Who is asking: their Hugging Face login, else their address as a trusted proxy reports it."""
        orgs = [o.get("preferred_username") or o.get("name") for o in (profile or {}).get("orgs") or []
                if isinstance(o, dict)]
        client = getattr(request, "client", None) if request is not None else None
        return identify(username=getattr(profile, "username", None) if profile else None, orgs=[o for o in orgs if o],
                        auth_user=getattr(request, "username", None) if request is not None else None,
                        headers=dict(request.headers) if request is not None else {},
                        peer=getattr(client, "host", None), hops=self.settings.house.proxy_hops)

    def owner(self, value: object) -> str | None:
        """The browser id from the page's BrowserState; a forged or malformed one is refused (InputError)."""
        return self.services.keys.owner(value)


class Outputs:
    """The values of one event's outputs, always complete: every yield carries a plain value for each.

    Leaving an output out (or gr.skip()) makes Gradio rebuild that component on every yield, and a
    final partial yield would give API callers an update object instead of a value.
    """

    def __init__(self, components: Iterable[Any], initial: dict[Any, Any] | None = None) -> None:
        self.values: dict[Any, Any] = dict.fromkeys(components)
        self.values.update(initial or {})

    def __call__(self, updates: dict[Any, Any] | None = None) -> dict[Any, Any]:
        """Set some outputs' values; returns every output's current value."""
        self.values.update(updates or {})
        return dict(self.values)
