"""The official Kling API: JWT from an access/secret key pair, or a plain API key."""

from __future__ import annotations

import time

import jwt

from .kling_family import KlingFamily

__all__ = ["KlingProvider", "TOKEN_LIFETIME_S"]

#: Kling's documented token shape: valid 30 minutes, and 5 s early to absorb clock skew.
TOKEN_LIFETIME_S = 1800
_NOT_BEFORE_SKEW_S = 5
_RENEW_MARGIN_S = 60


class KlingProvider(KlingFamily):
    """Kling's own endpoint at api-singapore.klingai.com."""

    name = "kling"
    label = "Kling"
    supports_watermark = True
    _token: str | None = None
    _token_expires = 0.0

    def _authorization(self) -> str:
        if not (self.config.access_key and self.config.secret_key):
            return super()._authorization()
        now = time.time()
        if self._token is None or now > self._token_expires - _RENEW_MARGIN_S:
            self._token = jwt.encode(
                {"iss": self.config.access_key, "exp": int(now) + TOKEN_LIFETIME_S, "nbf": int(now) - _NOT_BEFORE_SKEW_S},
                self.config.secret_key,
                algorithm="HS256",
                headers={"typ": "JWT"},
            )
            self._token_expires = now + TOKEN_LIFETIME_S
        return f"Bearer {self._token}"
