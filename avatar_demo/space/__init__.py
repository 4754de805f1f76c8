"""`python -m avatar_demo deploy OWNER/NAME`: publish the app to a Hugging Face Space (arguments here, work in deploy).

It owns choosing and checking the files to upload (files), the plan of Hub calls (plan), talking to
the Hub through huggingface_hub (hub) and running a deploy (deploy). It may import `core` and
`providers` (to know every key variable that must never be uploaded); the app never imports it.
"""

from __future__ import annotations

import argparse
import re
from typing import Any

__all__ = ["add_parser", "run"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SPACE = re.compile(r"[\w.-]+/[\w.-]+")


def _space_id(text: str) -> str:
    if not _SPACE.fullmatch(text):
        raise argparse.ArgumentTypeError(f"expected OWNER/NAME, got {text!r}")
    return text


def _secret_name(text: str) -> str:
    if not _NAME.fullmatch(text):
        raise argparse.ArgumentTypeError(f"expected an environment variable name, got {text!r}")
    return text


def _variable(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not _NAME.fullmatch(name):
        raise argparse.ArgumentTypeError("expected NAME=VALUE")  # never echo the text: it may hold a value
    return name, value


def _volume(text: str) -> tuple[str, str]:
    bucket, _, mount = text.partition(":")
    mount = mount or "/data"
    if not bucket or not mount.startswith("/"):
        raise argparse.ArgumentTypeError(f"expected BUCKET:/PATH (e.g. alice/avatar-data:/data), got {text!r}")
    return bucket, mount


def add_parser(subparsers: Any) -> None:
    """Register the deploy subcommand."""
    p = subparsers.add_parser(
        "deploy", help="create or update a Hugging Face Space that runs this app",
        description="Upload app.py, requirements.txt, packages.txt, README.md and avatar_demo/ to a Gradio Space, "
                    "delete files an earlier deploy left, and set secrets, variables, hardware and volumes. "
                    "The token is HF_TOKEN, else the cached `hf auth login`; HF_ENDPOINT picks another Hub.")
    p.add_argument("space", metavar="OWNER/NAME", type=_space_id)
    p.add_argument("--private", action="store_true", help="create the Space private (or make an existing one private)")
    p.add_argument("--secret", action="append", default=[], metavar="NAME", type=_secret_name,
                   help="set the Space secret NAME from the local environment variable NAME (repeatable)")
    p.add_argument("--variable", action="append", default=[], metavar="NAME=VALUE", type=_variable,
                   help="set a public Space variable (repeatable)")
    p.add_argument("--hardware", metavar="FLAVOR", help="request hardware, e.g. cpu-upgrade or t4-small (paid)")
    p.add_argument("--volume", action="append", default=[], metavar="BUCKET:/data", type=_volume,
                   help="mount a storage bucket read-write; the app keeps its data in /data when it exists")
    p.add_argument("--dry-run", action="store_true", help="print the plan; change nothing on the Hub")


def run(args: argparse.Namespace) -> int:
    """Deploy as the parsed arguments say."""
    from .deploy import DeployRequest, deploy  # imports huggingface_hub: only when deploying

    return deploy(DeployRequest(
        repo_id=args.space, private=args.private, secrets=tuple(dict.fromkeys(args.secret)),
        variables=dict(args.variable), hardware=args.hardware, volumes=tuple(args.volume), dry_run=args.dry_run,
    ))
