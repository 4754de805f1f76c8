"""The page's examples: a thumbnail of each photo with its voice, one click fills the photo, the voice and a prompt."""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

import gradio as gr
from gradio import media as bundled

from ..core.text import Text, render
from .i18n import language_of

__all__ = ["EXAMPLES", "EXAMPLE_FILES", "PICK_JS", "example_cards", "picked"]

_DIR = Path(__file__).with_name("examples")
#: A public-domain NASA portrait (astronaut Eileen Collins) with a voice Gradio ships, and a small photo with a clip
#: too short to send as it is (the page fixes both up): name → (photo, voice, its thumbnail).
EXAMPLES = {
    "portrait": (_DIR / "portrait.jpg", bundled.get_audio("cate_blanch.mp3"), _DIR / "portrait-thumb.jpg"),
    "small": (_DIR / "small-portrait.jpg", bundled.get_audio("audio_sample.wav"), _DIR / "small-portrait-thumb.jpg"),
}
#: The files an example puts into the page: Gradio serves only these from outside its own folders.
EXAMPLE_FILES = [str(path) for photo, voice, _thumb in EXAMPLES.values() for path in (photo, voice)]
#: Only a click on a card is an event (a click between cards is not).
PICK_JS = ("element.addEventListener('click', e => { const card = e.target.closest('[data-example]');"
           " if (card) trigger('click', {example: card.dataset.example}); });")


def _thumbnail(path: Path) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(path.read_bytes()).decode()


def example_cards(lang: str = "en") -> str:
    """The example cards in *lang*: each a button with the photo's thumbnail, its title and what it shows."""
    cards = []
    for name, (_photo, _voice, thumb) in EXAMPLES.items():
        title = html.escape(render(Text(f"ui.example.{name}"), lang))
        line = html.escape(render(Text(f"ui.example.{name}.what"), lang))
        cards.append(f'<button type="button" class="example" data-example="{name}"><img src="{_thumbnail(thumb)}" '
                     f'alt="" width="56" height="56"><span><b>{title}</b><small>{line}</small></span></button>')
    heading = html.escape(render(Text("ui.examples"), lang))
    return f'<div class="examples"><span class="examples-head">{heading}</span>{"".join(cards)}</div>'


def picked(evt: gr.EventData, request: gr.Request = None) -> tuple[Any, ...]:  # type: ignore[assignment]
    """The photo, voice and prompt of the example clicked (nothing changes for a click that named none)."""
    name = getattr(evt, "_data", None) or {}
    name = name.get("example") if isinstance(name, dict) else None
    if name not in EXAMPLES:
        return gr.skip(), gr.skip(), gr.skip()
    photo, voice, _thumb = EXAMPLES[name]
    return str(photo), voice, render(Text(f"ui.example.{name}.prompt"), language_of(request))
