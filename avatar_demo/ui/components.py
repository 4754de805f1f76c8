"""Components the page needs beyond Gradio's own."""

from __future__ import annotations

from typing import Any

import gradio as gr

__all__ = ["PhotoInput"]


class PhotoInput(gr.Image):
    """A gr.Image that hands the app the upload as it arrived.

    Gradio's own preprocessing opens every upload with Pillow (and converts it to RGB) before the
    event runs: a HEIC photo, a transparent PNG or a broken file then fails or changes there, with
    Gradio's generic error. Here nothing opens the file before the app's own checks do.
    """

    def get_block_name(self) -> str:
        """The browser shows Gradio's own image component: only the server side differs."""
        return "image"

    def preprocess(self, payload: Any) -> str | None:
        """The uploaded file's path, untouched."""
        if payload is None:
            return None
        if getattr(payload, "path", None):
            return str(payload.path)
        # A pasted or captured image can arrive as a data: URL; Gradio writes it to a file unopened.
        return super().preprocess(payload)  # type: ignore[return-value]
