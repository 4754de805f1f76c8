"""The catalogs are split by area the same way in every language, and no key is in two areas."""

from __future__ import annotations

import pytest

from avatar_demo.core.locales import CATALOGS
from avatar_demo.core.locales import en, zh


@pytest.mark.parametrize("package", [en, zh], ids=["en", "zh"])
def test_each_key_lives_in_one_area(package) -> None:  # type: ignore[no-untyped-def]
    """A key in two areas would be overwritten silently when the areas are merged."""
    keys = [key for words in package.AREAS.values() for key in words]
    assert len(keys) == len(set(keys)), sorted(k for k in set(keys) if keys.count(k) > 1)


def test_every_language_puts_a_key_in_the_same_area() -> None:
    """So a translator finds a key where the English one is."""
    assert {area: set(words) for area, words in zh.AREAS.items()} == \
        {area: set(words) for area, words in en.AREAS.items()}
    assert set(CATALOGS) == {"en", "zh"}
