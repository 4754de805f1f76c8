"""The Hub client for a deploy: endpoint and token resolution, and every failure turned into one readable line."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterable, Iterator, Mapping

import httpx2  # huggingface_hub's HTTP client: a refused connection surfaces as its TransportError
from huggingface_hub import HfApi, constants, get_token
from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

from ..core.errors import AvatarDemoError, DeployError

__all__ = ["Hub"]

_GENERIC = {
    401: "the Hub refused the token (401): check HF_TOKEN, or log in again with `hf auth login`",
    402: "the Hub asks for payment (402)",
    403: "no permission (403)",
    404: "not found (404)",
    409: "conflict (409)",
}


def endpoint() -> str:
    """HF_ENDPOINT as it is now; huggingface_hub itself only reads it once, at import time."""
    return (os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")


class Hub:
    """An HfApi bound to one endpoint and token, plus the secret values no message may ever show."""

    def __init__(self, token: str, *, redact: Iterable[str] = ()) -> None:
        self.endpoint = endpoint()
        self.api = HfApi(endpoint=self.endpoint, token=token)
        self._redact = sorted(set(redact) | {token}, key=len, reverse=True)

    @staticmethod
    def token() -> str | None:
        """HF_TOKEN, else the cached login: huggingface_hub's own lookup."""
        return get_token()

    def space_url(self, repo_id: str) -> str:
        return f"{self.endpoint}/spaces/{repo_id}"

    @contextlib.contextmanager
    def step(self, action: str, hints: Mapping[int, str] | None = None) -> Iterator[None]:
        """Run one Hub call; any failure becomes a DeployError saying what was being done and why it failed."""
        try:
            yield
        except AvatarDemoError:
            raise
        except Exception as exc:  # noqa: BLE001 - every failure must reach the user as one line, never a traceback
            raise DeployError(self._explain(exc, action, hints or {})) from None

    def _explain(self, exc: Exception, action: str, hints: Mapping[int, str]) -> str:
        if isinstance(exc, HfHubHTTPError) and exc.response is not None:
            status = exc.response.status_code
            head = _GENERIC.get(status, f"the Hub answered {status}")
            detail = exc.server_message  # hfh's own text spans lines and repeats the URL
            text = f"could not {action}: {head}" + (f": {detail}" if detail else "")
            if status in hints:
                text += f" — {hints[status]}"
        elif isinstance(exc, OfflineModeIsEnabled):
            text = f"could not {action}: HF_HUB_OFFLINE is set; unset it to deploy"
        elif isinstance(exc, (httpx2.TransportError, ConnectionError, TimeoutError)):
            text = f"could not {action}: no answer from the Hub at {self.endpoint} ({type(exc).__name__}: {exc})"
        else:
            text = f"could not {action}: unexpected {type(exc).__name__}: {exc}"
        return self.redact(text)

    def redact(self, text: str) -> str:
        """One line, with every known secret value replaced."""
        for value in self._redact:
            text = text.replace(value, "***")
        return re.sub(r"\s+", " ", text).strip()
