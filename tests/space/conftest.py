"""Fixtures for deploy tests: the fake Hub on loopback, a copy of the app with junk around it, and the real command."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from avatar_demo.space.files import SECRET_VARIABLES
from tests.space.fake_hub import WRITE_TOKEN, FakeHub

ROOT = Path(__file__).resolve().parents[2]
#: Secret values the tests put in the environment (and in junk files that must never be uploaded).
FAL_VALUE = "fal-test-secret-value-0001"
KLING_VALUE = "kling-ambient-secret-0002"


@dataclass
class Project:
    root: Path
    expected: set[str]  # the app files, as paths in the Space


@pytest.fixture
def hub() -> FakeHub:
    fake = FakeHub()
    server = fake.serve().start()
    fake.url = server.url
    yield fake
    server.stop()


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """The real app copied to a fresh folder, surrounded by everything a deploy must leave behind."""
    root = tmp_path / "project"
    root.mkdir()
    for name in ("app.py", "requirements.txt", "packages.txt", "README.md"):
        shutil.copyfile(ROOT / name, root / name)
    shutil.copytree(ROOT / "avatar_demo", root / "avatar_demo", ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyi", ".*"))
    expected = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    junk = {
        ".env": f"FAL_KEY={FAL_VALUE}\nKLING_SECRET_KEY={KLING_VALUE}\n",
        "tests/test_app.py": f"KEY = '{FAL_VALUE}'\n",
        "benchmarks/bench.py": "print('bench')\n",
        "data/history.sqlite3": "not really sqlite",
        "scripts/test": "#!/bin/sh\n",
        "notes.md": "not part of the app\n",
        "__pycache__/app.cpython-311.pyc": "bytecode",
        "avatar_demo/__pycache__/cli.cpython-311.pyc": "bytecode",
        "avatar_demo/ui/stale.pyc": "bytecode",
        "avatar_demo/ui/components.pyi": "a stub Gradio writes beside a component subclass",
        "avatar_demo/.env": f"FAL_KEY={FAL_VALUE}\n",
        ".venv/lib/python3.11/site-packages/pkg.py": "x = 1\n",
        ".git/HEAD": "ref: refs/heads/main\n",
        ".gradio/flagged/log.csv": "a,b\n",
        ".pytest_cache/v/cache/nodeids": "[]",
    }
    for name, text in junk.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    # A link inside the package to a file full of secrets: following it would upload (or refuse on) the .env.
    (root / "avatar_demo" / "linked_env.py").symlink_to(root / ".env")
    return Project(root, expected)


def hub_env(hub: FakeHub, home: Path, *, token: str | None = WRITE_TOKEN, **extra: str | None) -> dict[str, str]:
    """The machine's environment minus any Hub setting or app key, pointed at the fake Hub."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HF_", "HUGGING")) and k not in SECRET_VARIABLES}
    env.update(HF_ENDPOINT=hub.url, HF_HOME=str(home), HF_HUB_DISABLE_XET="1", HF_HUB_DISABLE_TELEMETRY="1")
    if token is not None:
        env["HF_TOKEN"] = token
    env.update({k: v for k, v in extra.items() if v is not None})
    return env


def run_deploy(project: Project, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`python -m avatar_demo deploy ...` run from the project copy, so the copied package is the one deployed."""
    return subprocess.run([sys.executable, "-m", "avatar_demo", "deploy", *args], cwd=project.root, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
