"""CometAPI: Kling's contract under /kling, with its own error envelope and a 60 s audio limit."""

from __future__ import annotations

from .kling_family import KlingFamily

__all__ = ["CometApiProvider"]


class CometApiProvider(KlingFamily):
    """CometAPI's pass-through of Kling Avatar."""

    name = "cometapi"
    label = "CometAPI"
    prefix = "/kling"
    max_audio_s = 60.0
    # Several translations of CometAPI's page say requests without a prompt are refused.
    fallback_prompt = "Speak naturally to the camera."
