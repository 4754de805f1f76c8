"""简体中文：应用自己的文字，按键排列（缺少的键显示英文），每个领域一个模块。"""

from .gateways import GATEWAYS
from .media import MEDIA
from .page import PAGE
from .runs import RUNS

__all__ = ["AREAS", "ZH"]

#: Each area's words; a key lives in exactly one of them.
AREAS: dict[str, dict[str, str]] = {"runs": RUNS, "gateways": GATEWAYS, "media": MEDIA, "page": PAGE}
ZH: dict[str, str] = {**RUNS, **GATEWAYS, **MEDIA, **PAGE}
