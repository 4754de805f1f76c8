"""English: the app's own words, by key (the fallback for every other language), one module per area of the app."""

from .gateways import GATEWAYS
from .media import MEDIA
from .page import PAGE
from .runs import RUNS

__all__ = ["AREAS", "EN"]

#: Each area's words; a key lives in exactly one of them.
AREAS: dict[str, dict[str, str]] = {"runs": RUNS, "gateways": GATEWAYS, "media": MEDIA, "page": PAGE}
EN: dict[str, str] = {**RUNS, **GATEWAYS, **MEDIA, **PAGE}
