"""The files a Space runs, found by an allow-list walk of the project root, and the check that none holds a secret."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from .. import providers
from ..core.errors import ConfigError, DeployError

__all__ = ["APP_FILES", "LocalFile", "SECRET_VARIABLES", "app_files", "check_no_secrets", "project_root", "watched_secrets"]

#: Top-level files the Space needs: the entry point, its dependencies, and the README that holds the Space config.
APP_FILES = ("app.py", "requirements.txt", "packages.txt", "README.md")
REQUIRED = ("app.py", "README.md")
#: Packages uploaded whole (minus caches and hidden files).
PACKAGES = ("avatar_demo",)
#: Secret-looking variables the app reads (every provider's keys, from the registry); their values must
#: never end up in an uploaded file.
SECRET_VARIABLES = (
    "HF_TOKEN", *(variable for spec in providers.specs() for group in spec.key_groups for variable in group),
    "AVATAR_SERVER_SECRET", "AVATAR_STATE_SECRET",
)
#: Shorter values ("1", "true", "fal") would match by chance everywhere.
MIN_SECRET_LENGTH = 8


@dataclass(frozen=True)
class LocalFile:
    """One file to upload; its bytes are read once, so what is checked for secrets is exactly what is sent."""

    path: str
    data: bytes

    @property
    def git_oid(self) -> str:
        """The git blob id, which is what the Hub lists for a regular file."""
        return hashlib.sha1(b"blob %d\0" % len(self.data) + self.data).hexdigest()

    @property
    def sha256(self) -> str:
        """What the Hub lists for a file it stores with LFS."""
        return hashlib.sha256(self.data).hexdigest()


def project_root() -> Path:
    """The folder holding app.py next to the avatar_demo package that is running."""
    return Path(__file__).resolve().parents[2]


def _kept(name: str) -> bool:
    # Hidden names cover .env, .venv, .git, .pytest_cache; compiled files and the .pyi stubs Gradio writes
    # beside a component subclass are rebuilt on the Space.
    return not name.startswith(".") and name != "__pycache__" and not name.endswith((".pyc", ".pyo", ".pyi"))


def app_files(root: Path) -> list[LocalFile]:
    """Every file the Space runs, sorted by path; anything not named here (tests, data, benchmarks) stays home."""
    for name in REQUIRED:
        if not (root / name).is_file():
            raise ConfigError(f"{name} not found in {root}: deploy from a checkout of the app (the folder with app.py)")
    paths = [root / name for name in APP_FILES if (root / name).is_file() and not (root / name).is_symlink()]
    for package in PACKAGES:
        for folder, dirs, names in os.walk(root / package):
            dirs[:] = sorted(d for d in dirs if _kept(d))
            # A symlink could pull in a file from outside the project, so links are never followed.
            paths += [Path(folder, n) for n in sorted(names) if _kept(n) and not Path(folder, n).is_symlink()]
    return [LocalFile(p.relative_to(root).as_posix(), p.read_bytes()) for p in paths]


def watched_secrets(named: Mapping[str, str], environ: Mapping[str, str], token: str | None) -> dict[str, str]:
    """Label → value of every secret that must not be uploaded: the named ones, the app's keys, the Hub token."""
    watched = {name: environ[name] for name in SECRET_VARIABLES if environ.get(name)}
    watched.update(named)
    if token and token not in watched.values():
        watched["your Hugging Face token"] = token
    return {label: value for label, value in watched.items() if len(value) >= MIN_SECRET_LENGTH}


def check_no_secrets(files: Iterable[LocalFile], secrets: Mapping[str, str], variables: Mapping[str, str]) -> None:
    """Refuse, naming files and variables but never a value, when a secret would be uploaded or made public."""
    for name, value in variables.items():
        for label, secret in secrets.items():
            if secret in value:
                raise DeployError(f"variable {name} holds the value of {label}; Space variables are public, "
                                  f"pass it with --secret {name} instead. Nothing was sent")
    leaks = [f"{file.path} ({label})" for file in files for label, secret in secrets.items()
             if secret.encode() in file.data]
    if leaks:
        shown = ", ".join(leaks[:5]) + (f" and {len(leaks) - 5} more" if len(leaks) > 5 else "")
        raise DeployError(f"refusing to upload files that contain a secret's value: {shown}; "
                          "remove the value from the file and deploy again. Nothing was sent")
