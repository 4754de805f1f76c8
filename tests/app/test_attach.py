"""One click, one run: identical requests still starting share one start; afterwards the same request is new."""

from __future__ import annotations

import asyncio

import pytest

from avatar_demo.app.attach import Starting, same_request
from avatar_demo.core.errors import NotAllowed
from avatar_demo.jobs.plan import JobInput

pytestmark = pytest.mark.anyio


async def test_identical_requests_share_one_start_until_it_has_sent(anyio_backend) -> None:
    starting: Starting[str] = Starting()
    starts, sent = [], asyncio.Event()
    go = asyncio.Event()

    async def start() -> str:
        starts.append(1)
        made = f"run-{len(starts)}"
        await go.wait()
        return made

    async def until_sent(_: str) -> None:
        await sent.wait()

    first = asyncio.ensure_future(starting.once("k", start, until_sent))
    second = asyncio.ensure_future(starting.once("k", start, until_sent))
    other = asyncio.ensure_future(starting.once("other", start, until_sent))
    await asyncio.sleep(0)
    go.set()
    assert (await first, await second) == ("run-1", "run-1") and await other == "run-2"
    # Still attachable while the creates have not left...
    assert await starting.once("k", start, until_sent) == "run-1"
    sent.set()
    await asyncio.sleep(0.01)
    # ...then the same request is another take.
    assert await starting.once("k", start, until_sent) == "run-3" and len(starts) == 3


async def test_a_refusal_is_everyones_and_the_next_request_starts_afresh(anyio_backend) -> None:
    starting: Starting[str] = Starting()
    calls = []

    async def refused() -> str:
        calls.append(1)
        await asyncio.sleep(0.01)
        raise NotAllowed("no free runs left")

    results = await asyncio.gather(*(starting.once("k", refused, _never) for _ in range(3)), return_exceptions=True)
    assert all(isinstance(r, NotAllowed) for r in results) and len(calls) == 1
    with pytest.raises(NotAllowed):
        await starting.once("k", refused, _never)
    assert len(calls) == 2 and len(starting) == 0


async def test_a_first_request_dropped_while_preparing_hands_over_to_the_next(anyio_backend) -> None:
    starting: Starting[str] = Starting()
    gate = asyncio.Event()

    async def slow() -> str:
        await gate.wait()
        return "made by the second"

    first = asyncio.ensure_future(starting.once("k", slow, _never))
    await asyncio.sleep(0)
    second = asyncio.ensure_future(starting.once("k", slow, _never))
    await asyncio.sleep(0)
    first.cancel()  # its caller closed the page before anything was sent
    await asyncio.sleep(0)
    gate.set()
    assert await second == "made by the second"


async def _never(_: object) -> None:
    await asyncio.Event().wait()


def test_what_makes_two_requests_the_same() -> None:
    job = JobInput(image="/tmp/a.jpg", audio="/tmp/v.mp3", prompt="nod")
    base = same_request("ip:1", "kling", job, [("nod", "std")], user_key=None, owner="b1.x")
    assert base == same_request("ip:1", "kling", JobInput(image="/tmp/a.jpg", audio="/tmp/v.mp3", prompt="nod"),
                                [("nod", "std")], user_key=None, owner="b1.x")
    for other in (same_request("ip:2", "kling", job, [("nod", "std")], user_key=None, owner="b1.x"),
                  same_request("ip:1", "kling", job, [("nod", "pro")], user_key=None, owner="b1.x"),
                  same_request("ip:1", "kling", job, [("nod", "std")], user_key="sk-1", owner="b1.x"),
                  same_request("ip:1", "kling", job, [("nod", "std")], user_key=None, owner="b1.y"),
                  same_request("ip:1", "fal", job, [("nod", "std")], user_key=None, owner="b1.x")):
        assert other != base
    assert "sk-1" not in same_request("ip:1", "kling", job, [], user_key="sk-1", owner=None)
