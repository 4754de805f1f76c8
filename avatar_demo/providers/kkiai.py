"""KKIAI: Kling's contract under /kling ("only change the domain name and key")."""

from __future__ import annotations

from .kling_family import KlingFamily

__all__ = ["KkiaiProvider"]


class KkiaiProvider(KlingFamily):
    """KKIAI's pass-through of Kling Avatar."""

    name = "kkiai"
    label = "KKIAI"
    prefix = "/kling"
