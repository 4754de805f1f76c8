"""Buttons that start runs: one click makes one run, Cancel is there only meanwhile, and the answer is in view."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import gradio as gr

from .page import HIDDEN

__all__ = ["afterwards", "run_button"]

#: In the browser, before anything is sent: the button is disabled at once, old notices are closed, and the place
#: where the answer will appear is scrolled into view when it is not (a phone shows one column at a time).
_BEGIN_JS = """(...values) => {
  document.querySelectorAll('#%(button)s button, button#%(button)s').forEach(b => { b.disabled = true; });
  document.querySelectorAll('.toast-close').forEach(b => b.click());
  const target = document.querySelector('#%(target)s');
  if (target) {
    const box = target.getBoundingClientRect();
    // On a phone the answer comes under the button: the button goes to the top, so both are seen. On a laptop
    // the answer is beside the inputs, in view already, unless the page was scrolled away from it (or the answer
    // is the whole space under it, as a lab batch is).
    if (%(always)s || innerWidth < 800 || box.top < 0 || box.bottom > innerHeight)
      target.scrollIntoView({block: 'start'});
  }
  return values;
}"""


#: In the browser, once the run has ended: its answer grew (a status note, a video), so it is brought into view again
#: where it no longer fits, now and once the video knows its size.
_END_JS = """(...values) => {
  const bring = () => {
    const target = document.querySelector('#%(target)s');
    if (!target) return;
    const box = target.getBoundingClientRect();
    if ((innerWidth < 800 && Math.abs(box.top) > 1) || box.top < 0 || box.bottom > innerHeight)
      target.scrollIntoView({block: 'start'});
  };
  bring();
  document.querySelectorAll('#%(target)s video').forEach(v => v.addEventListener('loadedmetadata', bring, {once: true}));
  setTimeout(bring, 400);
  return values;
}"""


def _busy(count: int) -> Callable[[], Any]:
    def busy() -> Any:
        updates = (gr.update(interactive=False), gr.update(visible=True))[:count]
        return updates if count > 1 else updates[0]
    return busy


def _idle(count: int) -> Callable[[], Any]:
    def idle() -> Any:
        updates = (gr.update(interactive=True), gr.update(visible=False))[:count]
        return updates if count > 1 else updates[0]
    return idle


def afterwards(event: Any, fn: Callable[..., Any], inputs: Any, outputs: Any, **options: Any) -> None:
    """Run *fn* after *event*, whether it succeeded or not.

    Gradio 6.31's page runs a `.then()` step only after a success (after a failure it starts only `.failure()`
    steps, whatever its docstring says), so a step that must always follow is registered as both.
    """
    event.then(fn, inputs, outputs, **options)
    event.failure(fn, inputs, outputs, **options)


def run_button(button: gr.Button, fn: Callable[..., Any], inputs: Sequence[Any], outputs: Sequence[Any], *,
               answer_at: str, stop: gr.Button | None = None, bring_up: bool = False, **event: Any) -> Any:
    """Wire *button* to *fn*: disabled from the click until *fn* has ended, *stop* shown only meanwhile.

    The element *answer_at* is scrolled to the top when it is out of view, on a phone, and with *bring_up* always.

    *fn*'s own event is a step after the click, so it keeps its name and parameters on the API; it shows no
    progress overlay of Gradio's (its outputs say where the run stands, and a refusal is said there once).
    Returns *fn*'s event (to chain on, or to cancel).
    """
    controls = [button] if stop is None else [button, stop]
    began = button.click(_busy(len(controls)), None, controls, queue=False,
                         js=_BEGIN_JS % {"button": button.elem_id, "target": answer_at,
                                         "always": "true" if bring_up else "false"}, **HIDDEN)
    ran = began.then(fn, list(inputs), list(outputs), show_progress="hidden", **event)
    afterwards(ran, _idle(len(controls)), None, controls, queue=False, js=_END_JS % {"target": answer_at}, **HIDDEN)
    return ran
