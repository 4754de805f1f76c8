"""CometAPI: Kling's contract under /kling, with its own error envelope and a 60 s audio limit."""

from __future__ import annotations

from .kling_family import KlingFamily, kling_spec

__all__ = ["SPEC", "CometApiProvider"]

SPEC = kling_spec(
    "cometapi", "CometAPI", "cometapi:CometApiProvider", key_groups=(("COMETAPI_KEY",),),
    base_url="https://api.cometapi.com", max_audio_s=60.0,
    # CometAPI's console page that lists and makes API keys.
    key_url="https://www.cometapi.com/console/token",
)


class CometApiProvider(KlingFamily):
    """CometAPI's pass-through of Kling Avatar."""

    spec = SPEC
    prefix = "/kling"
    # Several translations of CometAPI's page say requests without a prompt are refused.
    fallback_prompt = "Speak naturally to the camera."
    # A bad key is refused by CometAPI itself, in its own envelope, before anything reaches Kling.
    refusal_envelope = "error-object"
