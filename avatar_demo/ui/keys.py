"""The key panel: the one place a key is asked for, opened at once when a gateway without one is chosen."""

from __future__ import annotations

from typing import Any

import gradio as gr

from .. import providers
from ..app.config import Settings
from ..core.text import Text, render
from .i18n import language_of, t

__all__ = ["KeyPanel"]


class KeyPanel:
    """A closed panel under the gateway picker: the password field and where that gateway's keys are made."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def build(self) -> None:
        """The panel's components (inside the Blocks being built); hidden while the free preview is chosen."""
        spec = providers.spec(self.settings.default_provider)
        opened = self.needs_key(spec.name, None)  # a page that opens on a gateway without a key asks for one at once
        with gr.Accordion(t("ui.gen.own_key"), open=opened, visible=not spec.free, elem_id="key-panel") as self.panel:
            self.help = gr.Markdown(self.help_text(spec.name), elem_id="key-help")
            self.api_key = gr.Textbox("", label=t("ui.gen.api_key"), type="password", elem_id="api-key",
                                      placeholder=t("ui.gen.api_key.placeholder"), info=t("ui.gen.api_key.info"))

    def needs_key(self, provider: str, api_key: str | None) -> bool:
        """A paid gateway with no key on the server and none pasted."""
        config = self.settings.providers.get(provider)
        return config is not None and not config.configured and not (api_key or "").strip()

    def help_text(self, provider: str, lang: str = "en") -> str:
        """What the panel says for *provider*: whether the server has a key, and a link to make one."""
        spec = providers.spec(provider)
        if spec.free:
            return ""
        configured = self.settings.providers[spec.name].configured
        said = Text("ui.key.server_has" if configured else "ui.key.none", provider=spec.label)
        link = Text("ui.key.get", provider=spec.label, url=spec.key_url) if spec.key_url else ""
        return " ".join(part for part in (render(said, lang), render(link, lang)) if part)

    def chosen(self, provider: str, api_key: str | None = None,
               request: gr.Request = None) -> tuple[Any, Any]:  # type: ignore[assignment]
        """On a change of gateway: the panel shown for a paid one, and open when it has no key yet."""
        try:
            spec = providers.spec(provider or self.settings.default_provider)
        except Exception:  # noqa: BLE001 - an unknown name typed by hand: the run refuses it in words
            return gr.update(visible=False), gr.update(value="")
        if spec.free:
            return gr.update(visible=False, open=False), gr.update(value="")
        panel = gr.update(visible=True, open=True) if self.needs_key(spec.name, api_key) else gr.update(visible=True)
        return panel, gr.update(value=self.help_text(spec.name, language_of(request)))
