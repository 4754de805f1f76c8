"""The catalogs: every word the app shows a person, by key, in each language it speaks (English first)."""

from .en import EN
from .zh import ZH

__all__ = ["CATALOGS", "DEFAULT_LANGUAGE"]

DEFAULT_LANGUAGE = "en"
CATALOGS: dict[str, dict[str, str]] = {"en": EN, "zh": ZH}
