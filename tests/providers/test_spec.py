"""Provider facts the page shows: where each gateway's keys are made, and what its prices are in money."""

from __future__ import annotations

import pytest

from avatar_demo import providers
from avatar_demo.providers.spec import KLING_UNIT_USD, Cost


@pytest.mark.parametrize("spec", [s for s in providers.specs() if not s.free], ids=lambda s: s.name)
def test_every_paid_gateway_says_where_its_keys_are_made(spec) -> None:
    assert spec.key_url.startswith("https://") and " " not in spec.key_url


#: (provider, a cost in its own currency, its dollars or None when the gateway publishes no money price)
MONEY = [
    ("kling", Cost(4.0, "units", 4.0), 4.0 * KLING_UNIT_USD),  # Kling sells its own units at list price
    ("cometapi", Cost(4.0, "units", 4.0), None),  # resellers' own prices are not published
    ("kkiai", Cost(4.0, "units", 4.0), None),
    ("modellix", Cost(4.0, "units", 4.0), None),
    ("crun", Cost(4.0, "credits", 4.0), None),
    ("fal", Cost(0.56, "USD", 4.0), 0.56),
]


@pytest.mark.parametrize(("name", "cost", "usd"), MONEY, ids=[m[0] for m in MONEY])
def test_a_price_is_money_only_where_the_gateway_publishes_one(name: str, cost: Cost, usd: float | None) -> None:
    pricing = providers.spec(name).pricing
    assert pricing is not None
    assert pricing.usd(cost) == (pytest.approx(usd) if usd is not None else None)
    # Where there is no money, the page says what a unit is instead.
    assert bool(pricing.unit_meaning) or usd is not None
