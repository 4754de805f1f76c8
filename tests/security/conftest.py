"""The real app in public mode (a Space or share link: strangers, the owner's house key), against the simulator.

Every test module gets its own launched app (module scope), so allowances spent in one module never
leak into another. Within a module, tests that need their own allowance use `stranger()`, which
connects from a fresh loopback address: a different visitor, as far as the app can tell.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from avatar_demo.simulator import Faults, SimulatorServer
from tests.conftest import KEYS, PLAIN_KEYS
from tests.security.wire import Stranger
from tests.ui.conftest import launched

#: The allowance every public app here gets (small, so running out is quick).
FREE_RUNS = 3
FREE_SECONDS = 15.0
DAILY_UNITS = 50.0
MAX_JOBS = 2
UPLOAD_MB = 4
#: The key a visitor brings for Kling (the simulator accepts it as a plain Bearer key).
VISITOR_KEY = PLAIN_KEYS["kling"]

_addresses = itertools.count(2)


def next_address() -> str:
    """A loopback address no earlier test used (127.0.0.0/8 all reaches the app on 127.0.0.1)."""
    n = next(_addresses)
    return f"127.0.{10 + n // 250}.{n % 250 + 2}"


def public_env(sim: SimulatorServer, data_dir: Path, **extra: str) -> dict[str, str]:
    """The whole environment of a public app: house keys, simulator URLs, a small allowance."""
    return {**sim.env(), **KEYS, "AVATAR_DATA_DIR": str(data_dir), "AVATAR_PUBLIC": "1",
            "AVATAR_FREE_RUNS": str(FREE_RUNS), "AVATAR_FREE_SECONDS": f"{FREE_SECONDS:g}",
            "AVATAR_DAILY_UNITS": f"{DAILY_UNITS:g}", "AVATAR_MAX_JOBS_PER_VISITOR": str(MAX_JOBS),
            "AVATAR_UPLOAD_MB_PER_HOUR": str(UPLOAD_MB), "AVATAR_PROXY_HOPS": "0",
            "GRADIO_ANALYTICS_ENABLED": "False", **extra}


def _launch(sim: SimulatorServer, tmp_path_factory: pytest.TempPathFactory, **extra: str) -> Iterator[object]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRADIO_ANALYTICS_ENABLED", "False")
        demo = launched(public_env(sim, tmp_path_factory.mktemp("public-data"), **extra))
    try:
        yield demo
    finally:
        demo.close()


@pytest.fixture(scope="module")
def app(sim: SimulatorServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """The launched app in public mode with the house key and the small allowance."""
    yield from _launch(sim, tmp_path_factory)


@pytest.fixture(scope="module")
def house_off_app(sim: SimulatorServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """The same, with the owner's key turned off for visitors (AVATAR_HOUSE_KEY=off)."""
    yield from _launch(sim, tmp_path_factory, AVATAR_HOUSE_KEY="off")


@pytest.fixture(scope="module")
def burst_app(sim: SimulatorServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """Public, with a generous jobs-at-once limit: only the allowance ledger stands between a burst and the key."""
    yield from _launch(sim, tmp_path_factory, AVATAR_MAX_JOBS_PER_VISITOR="50")


@pytest.fixture(scope="module")
def tight_app(sim: SimulatorServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """Public, with a shared daily budget of 3 units (two 3 s std runs at 1.2 units each fit, a third does not)."""
    yield from _launch(sim, tmp_path_factory, AVATAR_DAILY_UNITS="3")


@pytest.fixture(autouse=True)
def calm_sim(sim: SimulatorServer) -> Iterator[SimulatorServer]:
    """No faults, 1 s jobs, for every test (some tests slow the jobs down)."""
    fresh = Faults()
    for name in vars(fresh):
        setattr(sim.state.faults, name, getattr(fresh, name))
    sim.state.config.job_seconds = 1.0
    sim.state.config.max_in_flight = 0
    yield sim
    sim.state.config.job_seconds = 1.0


@pytest.fixture
def stranger() -> Iterator[Callable[..., Stranger]]:
    """Make strangers, each from a fresh address unless one is given; closed after the test."""
    made: list[Stranger] = []

    def make(app: object, address: str | None = None, **kwargs: object) -> Stranger:
        person = Stranger(app.test_url, address or next_address(), **kwargs)  # type: ignore[attr-defined]
        made.append(person)
        return person

    yield make
    for person in made:
        person.close()


def creates(sim: SimulatorServer) -> int:
    """Creates every simulated gateway has accepted so far."""
    return sum(sim.state.creates.values())


def tts_calls(sim: SimulatorServer) -> int:
    """Text-to-speech calls the simulated Kling family has served so far."""
    return len(sim.state.tts_audio)
