"""The app's own secrets, split by purpose, and the signed browser ids they make.

- The server secret signs callback URLs and browser ids; it never reaches a page.
- The browser-state secret only keeps Gradio's BrowserState readable across restarts. Gradio sends
  it to every browser, so it is public by design and protects nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

from ..core.errors import InputError
from ..core.text import Text

__all__ = ["Keys", "stored_secret"]

_OWNER = re.compile(r"b1\.([A-Za-z0-9_-]{22})\.([0-9a-f]{32})")


def stored_secret(path: Path) -> str:
    """The secret kept in *path* (mode 0600), made on first use so it survives restarts."""
    if path.exists():
        value = path.read_text().strip()
        if value:
            return value
    value = secrets.token_urlsafe(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
    return value


class Keys:
    """The server secret, the (public) browser-state secret, and the browser ids signed with the first."""

    def __init__(self, server_secret: str, state_secret: str) -> None:
        self.server_secret = server_secret
        self.state_secret = state_secret
        self._owner_key = hashlib.sha256(f"avatar-demo-owner:{server_secret}".encode()).digest()

    @classmethod
    def load(cls, data_dir: Path, server_secret: str | None, state_secret: str | None) -> Keys:
        """AVATAR_SERVER_SECRET / AVATAR_STATE_SECRET when set, else secrets kept in the data dir."""
        return cls(server_secret or stored_secret(data_dir / "server.secret"),
                   state_secret or stored_secret(data_dir / "browser-state.secret"))

    def _mac(self, nonce: str) -> str:
        return hmac.new(self._owner_key, nonce.encode(), hashlib.sha256).hexdigest()[:32]

    def new_owner(self) -> str:
        """A fresh browser id: 128 random bits and their signature, so nobody can make one up or pick one."""
        nonce = secrets.token_urlsafe(16)
        return f"b1.{nonce}.{self._mac(nonce)}"

    def owner(self, value: object) -> str | None:
        """The browser id *value* if it is one this server signed; None when empty; InputError otherwise."""
        if value in (None, ""):
            return None
        if not isinstance(value, str):
            raise InputError(Text("owner.not_a_string"))
        match = _OWNER.fullmatch(value)
        if match is None or not hmac.compare_digest(match.group(2), self._mac(match.group(1))):
            raise InputError(Text("owner.unknown"))
        return value
