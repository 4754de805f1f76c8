"""The one exception tree of the app; every message is written for the person using it.

    AvatarDemoError
    ├── ConfigError            a key or setting is missing or malformed (names the variable)
    ├── InputError             the photo, voice clip or form values were refused
    ├── NotAllowed             public mode: the visitor may not spend the house key now (says what to do)
    ├── DiskFull               the server has no room to prepare the inputs; nothing was sent
    ├── GatewayError           the gateway answered with a refusal
    │   ├── AuthError          bad or missing key, expired token
    │   ├── QuotaError         out of credit, arrears, no access to the model
    │   ├── RequestRejected    invalid parameters or content blocked by policy
    │   ├── NotFound           the task or resource does not exist
    │   ├── UnexpectedReply    the reply could not be understood (unknown status word, bad JSON)
    │   ├── RateLimited        too many requests; retry later
    │   ├── CapacityError      too many tasks in flight; wait, then try again
    │   └── ServerError        the gateway failed (5xx, maintenance)
    │       └── UnclearReply   a reply that may mean the task was made (a 2xx we cannot read, an unknown code)
    ├── GatewayUnreachable     no answer: connection refused, dropped, timed out
    ├── DownloadError          the finished video could not be fetched
    └── DeployError            a Space deploy was refused, by the Hub or before anything was sent
"""

from __future__ import annotations

import errno
import sqlite3

from .text import Text

_SQLITE_FULL = getattr(sqlite3, "SQLITE_FULL", 13)

__all__ = [
    "AuthError",
    "AvatarDemoError",
    "CapacityError",
    "ConfigError",
    "DeployError",
    "DiskFull",
    "DownloadError",
    "GatewayError",
    "GatewayUnreachable",
    "InputError",
    "NotAllowed",
    "NotFound",
    "QuotaError",
    "RateLimited",
    "RequestRejected",
    "ServerError",
    "UnclearReply",
    "UnexpectedReply",
]


class AvatarDemoError(Exception):
    """Base of every error the app raises on purpose; str() is safe to show a user (in English)."""

    @property
    def text(self) -> Text:
        """The message as a Text, to render in the reader's language (words from elsewhere are kept as they are)."""
        message = self.args[0] if self.args else ""
        return message if isinstance(message, Text) else Text.verbatim(str(message))


class ConfigError(AvatarDemoError):
    """A required setting or key is missing or malformed."""


class InputError(AvatarDemoError):
    """The user's media or form input was refused."""


class NotAllowed(AvatarDemoError):
    """In public mode the visitor may not spend the house key now: allowance used, sign-in needed, and so on."""


class DiskFull(AvatarDemoError):
    """The server's disk cannot take the prepared inputs (below AVATAR_MIN_FREE_MB, or a write failed with ENOSPC).

    Raised before any create, so the message can promise that nothing was sent or charged.
    """

    def __init__(self, detail: str = "") -> None:
        self.detail = detail
        # The detail is for the owner (free space, the setting): it stays in English in every language.
        super().__init__(Text("error.disk_full", detail=f" ({detail})" if detail else ""))

    @staticmethod
    def caused(exc: BaseException) -> bool:
        """Whether *exc* is a write that failed for lack of space (the OS's ENOSPC or SQLite's "disk is full")."""
        # SQLAlchemy wraps the driver's error; psycopg says "No space left on device" in Postgres's words.
        inner = getattr(exc, "orig", None)
        if isinstance(inner, BaseException) and inner is not exc:
            return DiskFull.caused(inner) or "No space left on device" in str(inner)
        if isinstance(exc, OSError):
            return exc.errno in (errno.ENOSPC, errno.EDQUOT)
        if isinstance(exc, sqlite3.Error):
            # sqlite3.SQLITE_FULL (13) and sqlite_errorcode arrived in Python 3.11; older ones only say it in words.
            return getattr(exc, "sqlite_errorcode", None) == _SQLITE_FULL or "disk is full" in str(exc)
        return False


class GatewayError(AvatarDemoError):
    """A gateway answered, and the answer was a refusal."""

    retryable = False

    def __init__(
        self,
        provider: str,
        message: str,
        *,
        status_code: int | None = None,
        code: int | str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        hint: str | None = None,
    ) -> None:
        """*message* and *hint* are ours (a Text) or the gateway's own words (a str, shown as they are)."""
        self.provider = provider
        self.message = message
        self.status_code = status_code
        self.code = code
        self.request_id = request_id
        self.retry_after = retry_after
        self.hint = hint
        super().__init__(self._render())

    def _render(self) -> Text:
        code = f" ({self.code})" if self.code not in (None, "") else ""
        hint = Text("error.gateway.hint", hint=self.hint) if self.hint else ""
        return Text("error.gateway", provider=self.provider, message=self.message, code=code, hint=hint)


class AuthError(GatewayError):
    """The key was missing, wrong, disabled or expired."""


class QuotaError(GatewayError):
    """The account cannot pay for, or may not use, this model."""


class RequestRejected(GatewayError):
    """The request was invalid or its content was blocked."""


class NotFound(GatewayError):
    """The task (or route) does not exist on the gateway."""


class UnexpectedReply(GatewayError):
    """The gateway's reply did not match its documented contract."""


class RateLimited(GatewayError):
    """Too many requests; safe to retry after a pause."""

    retryable = True


class CapacityError(GatewayError):
    """Too many tasks in flight on the account; wait, then try again."""

    retryable = True


class ServerError(GatewayError):
    """The gateway failed on its side; safe to retry a read."""

    retryable = True


class UnclearReply(ServerError):
    """The gateway answered, but not in a way that says whether it acted: a 2xx that is not a JSON object or names
    no task, or a business code this app does not know on a 2xx or 5xx. A create answered so may have made its
    task, so it is unclear (looked up, never re-sent blind), never a refusal; a read answered so is tried again."""


class GatewayUnreachable(AvatarDemoError):
    """No usable answer arrived: connection refused, dropped or timed out.

    *sent* says whether the request may have reached the gateway: a connection that never opened
    sent nothing (a create that failed so is definite and safe to retry), while a timeout or a
    dropped reply leaves a create's outcome unknown.
    """

    retryable = True

    def __init__(self, provider: str, detail: str, *, sent: bool = True) -> None:
        self.provider = provider
        self.sent = sent
        key = "error.unreachable" if sent else "error.unreachable.not_sent"
        super().__init__(Text(key, provider=provider, detail=detail))


class DownloadError(AvatarDemoError):
    """The finished video could not be downloaded or was not a video."""


class DeployError(AvatarDemoError):
    """A Space deploy was refused, by the Hub or by a local check; names files and variables, never values."""
