"""What the page says, without a browser: money where the price is known, statuses in our own words first (the
task id and the gateway's word behind a toggle)."""

from __future__ import annotations

import pytest

from avatar_demo import providers
from avatar_demo.core.status import Status
from avatar_demo.providers.spec import Cost
from avatar_demo.ui.present import cost_text, status_markdown

#: (gateway, cost, estimate?, English, Chinese)
COSTS = [
    ("kling", Cost(5.11, "units", 5.11), True, "≈ $0.72 (5.11 units)", "约 0.72 美元（5.11 点）"),
    ("kling", Cost(1.0, "units", 1.0), False, "$0.14 (1 unit)", "0.14 美元（1 点）"),
    ("fal", Cost(0.56, "USD", 4.0), True, "≈ $0.56", "约 0.56 美元"),
    ("cometapi", Cost(2.0, "units", 2.0), True, "≈ 2 units (at Kling's list price; this gateway's own price is not "
     "published)", "约 2 点（按可灵标价估算；该网关自己的价格未公开）"),
    ("crun", Cost(3.0, "credits", 3.0), False, "3 credits (crun.ai's price per credit is not published)",
     "3 积分（crun.ai 未公开每个积分的价格）"),
]


@pytest.mark.parametrize(("name", "cost", "about", "en", "zh"), COSTS, ids=[f"{c[0]}-{c[1].amount:g}" for c in COSTS])
def test_money_where_the_price_is_known_and_units_explained_where_not(name, cost, about, en, zh) -> None:
    shown = cost_text(cost, providers.spec(name).pricing, about=about)
    assert (shown.render("en"), shown.render("zh")) == (en, zh)


def test_a_status_says_our_word_first_and_keeps_the_gateways_behind_details() -> None:
    estimate = providers.spec("kling").estimate("std", 10.0)
    status = status_markdown(Status.RUNNING, provider="kling", detail="processing", elapsed_s=12.4,
                             task_id="8800123", estimate=estimate)
    first, _, behind = status.partition("<details")
    assert first.strip() == "**Status:** running · Kling (official) · 12 s · ≈ $0.56 (4 units)"
    assert "**Task id:** `8800123`" in behind and "processing" in behind and "processing" not in first
    zh = status_markdown(Status.RUNNING, provider="kling", detail="processing", task_id="8800123", lang="zh")
    assert "生成中" in zh.partition("<details")[0] and "processing" not in zh.partition("<details")[0]


def test_a_lab_total_is_summed_per_gateway_never_across_currencies() -> None:
    from avatar_demo.ui.present import total_cost

    kling, fal = providers.spec("kling"), providers.spec("fal")
    total = total_cost({"kling": [kling.estimate("std", 10.0), kling.estimate("pro", 10.0)],
                        "fal": [fal.estimate("std", 10.0)], "local": [None]})
    assert total.render("en") == "≈ $1.68 (12 units) + ≈ $0.56"
    assert total_cost({"local": [None, None]}) == ""
