"""KKIAI: Kling's contract under /kling ("only change the domain name and key")."""

from __future__ import annotations

from .kling_family import KlingFamily, kling_spec

__all__ = ["SPEC", "KkiaiProvider"]

SPEC = kling_spec(
    "kkiai", "KKIAI", "kkiai:KkiaiProvider", key_groups=(("KKIAI_API_KEY",),), base_url="https://www.kkiai.com",
    # Tokens are made after signing in on its site; its docs name no deeper page to link to.
    key_url="https://www.kkiai.com/",
)


class KkiaiProvider(KlingFamily):
    """KKIAI's pass-through of Kling Avatar."""

    spec = SPEC
    prefix = "/kling"
