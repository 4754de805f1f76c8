"""One click, one run: a request identical to one still starting is attached to that one instead of starting again.

A double click, or an API client that sends the same call twice, would otherwise prepare twice and pay for two
tasks. While the first request is preparing, and until each of its creates has been sent, an identical request
(same visitor, browser, gateway, key, inputs and settings) waits for it and watches the same runs. Once the
creates have left, the same request is a new take on purpose, and starts new runs.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import asdict
from typing import Any, Generic, TypeVar

from ..jobs.plan import JobInput

__all__ = ["Starting", "same_request"]

T = TypeVar("T")


def same_request(visitor: str, provider: str, job: JobInput, variants: list[tuple[str, str]], *,
                 user_key: str | None, owner: str | None, origin: Any = None) -> Hashable:
    """What makes two requests the same one (a lab batch's own name does not: a second click makes a new one)."""
    return json.dumps({
        "visitor": visitor, "owner": owner, "provider": provider,
        # The key itself is never kept here, only whether two requests carry the same one.
        "key": hashlib.sha256(user_key.encode()).hexdigest() if user_key else None,
        "job": asdict(job), "variants": variants, "origin": asdict(origin) if origin is not None else None,
    }, sort_keys=True, default=str)


class Starting(Generic[T]):
    """Requests still starting, by what they ask for; identical ones share one start."""

    def __init__(self) -> None:
        self._pending: dict[Hashable, asyncio.Future[T]] = {}
        self._forgetting: set[asyncio.Task[None]] = set()

    def __len__(self) -> int:
        return len(self._pending)

    async def once(self, key: Hashable, start: Callable[[], Awaitable[T]],
                   until_sent: Callable[[T], Awaitable[None]]) -> T:
        """*start()*'s result, or that of the identical request already starting; *until_sent(result)* returns when
        its creates have left (the request stays attachable until then)."""
        while True:
            pending = self._pending.get(key)
            if pending is None:
                break
            try:
                return await asyncio.shield(pending)
            except _StartOver:
                continue  # the first request was dropped before it started anything: this one starts it
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            result = await start()
        except asyncio.CancelledError:
            self._settle(key, future, _StartOver())
            raise
        except BaseException as exc:
            # The same refusal for everyone who asked (nothing was sent).
            self._settle(key, future, exc)
            raise
        future.set_result(result)
        forget = asyncio.get_running_loop().create_task(self._forget(key, future, until_sent(result)))
        self._forgetting.add(forget)
        forget.add_done_callback(self._forgetting.discard)
        return result

    def _settle(self, key: Hashable, future: asyncio.Future[T], exc: BaseException) -> None:
        if self._pending.get(key) is future:
            del self._pending[key]
        future.set_exception(exc)
        future.exception()  # retrieved here: every waiter raises it on its own

    async def _forget(self, key: Hashable, future: asyncio.Future[T], sent: Awaitable[None]) -> None:
        try:
            await sent
        finally:
            if self._pending.get(key) is future:
                del self._pending[key]


class _StartOver(Exception):
    """The request others were attached to was dropped (its caller left) before it started anything."""
