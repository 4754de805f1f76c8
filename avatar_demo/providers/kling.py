"""The official Kling API: JWT from an access/secret key pair, or a plain API key."""

from __future__ import annotations

import time
from dataclasses import replace

from ..core.text import Text
from .kling_family import KlingFamily, kling_spec
from .spec import KLING_LIST_PRICE, KLING_UNIT_USD

__all__ = ["SPEC", "TOKEN_LIFETIME_S", "KlingProvider"]

SPEC = kling_spec(
    "kling", Text("provider.kling"), "kling:KlingProvider",
    key_groups=(("KLING_ACCESS_KEY", "KLING_SECRET_KEY"), ("KLING_API_KEY",)),
    base_url="https://api-singapore.klingai.com", watermark=True,
    # Kling sells its units itself: at list price one is $0.14 (0.4 units = $0.056), so a price can be shown in money.
    pricing=replace(KLING_LIST_PRICE, usd_each=KLING_UNIT_USD, unit_meaning=Text("unit.kling")),
    # The developer console, where access/secret key pairs are made.
    key_url="https://app.klingai.com/global/dev",
)

#: Kling's documented token shape: valid 30 minutes, and 5 s early to absorb clock skew.
TOKEN_LIFETIME_S = 1800
_NOT_BEFORE_SKEW_S = 5
_RENEW_MARGIN_S = 60


class KlingProvider(KlingFamily):
    """Kling's own endpoint at api-singapore.klingai.com."""

    spec = SPEC
    _token: str | None = None
    _token_expires = 0.0

    def _authorization(self) -> str:
        access = self.config.credential("KLING_ACCESS_KEY")
        secret = self.config.credential("KLING_SECRET_KEY")
        if not (access and secret):
            return super()._authorization()
        now = time.time()
        if self._token is None or now > self._token_expires - _RENEW_MARGIN_S:
            import jwt  # with the first signed request: PyJWT loads the cryptography package (~30 ms at start-up)

            self._token = jwt.encode(
                {"iss": access, "exp": int(now) + TOKEN_LIFETIME_S, "nbf": int(now) - _NOT_BEFORE_SKEW_S},
                secret,
                algorithm="HS256",
                headers={"typ": "JWT"},
            )
            self._token_expires = now + TOKEN_LIFETIME_S
        return f"Bearer {self._token}"
