"""Command line: prepare media, generate a video through any provider, serve the simulator, deploy to a Space."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from . import providers, space
from .app.config import load_settings
from .core.errors import AvatarDemoError, InputError
from .providers.base import MODES

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m avatar_demo", description="Kling Avatar demo tools")
    sub = parser.add_subparsers(dest="command", required=True)

    prep = sub.add_parser("prepare", help="prepare a portrait and a voice clip, print what was done as JSON")
    prep.add_argument("--image", required=True, type=Path)
    prep.add_argument("--audio", required=True, type=Path)
    prep.add_argument("--out-dir", required=True, type=Path)
    prep.add_argument("--start", type=float, default=0.0, help="start offset into the voice clip, seconds")
    prep.add_argument("--max-seconds", type=float, default=None, help="longest window kept (default AVATAR_MAX_AUDIO_S or 60)")

    gen = sub.add_parser("generate", help="generate a talking-avatar video")
    gen.add_argument("--provider", choices=providers.names(), default=None,
                     help="default: AVATAR_PROVIDER, else the first with a key, else the free preview")
    gen.add_argument("--image", required=True, type=Path)
    voice = gen.add_mutually_exclusive_group(required=True)
    voice.add_argument("--audio", type=Path)
    voice.add_argument("--audio-id", help="an audio id from text to speech (providers that offer it)")
    gen.add_argument("--prompt", default="")
    gen.add_argument("--mode", choices=MODES, default=MODES[0])
    gen.add_argument("--out", type=Path, default=None, help="copy the video here")
    gen.add_argument("--start", type=float, default=0.0)
    gen.add_argument("--max-seconds", type=float, default=None)
    gen.add_argument("--watermark", action=argparse.BooleanOptionalAction, default=None)
    gen.add_argument("--callback-url", default=None)
    gen.add_argument("--external-task-id", default=None)
    gen.add_argument("--allow-no-face", action="store_true",
                     help="send to a paid gateway even when no face, or several faces, are found on the photo "
                          "(cartoons, animals, groups)")

    sim = sub.add_parser("simulate", help="serve the offline gateway simulator")
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=int, default=8123)
    sim.add_argument("--job-seconds", type=float, default=8.0, help="how long each simulated task runs")
    space.add_parser(sub)
    return parser


def _prepare(args: argparse.Namespace) -> int:
    from .media import prepare_media

    settings = load_settings()
    media = asyncio.run(
        prepare_media(args.image, args.audio, args.out_dir, start=args.start, max_seconds=args.max_seconds or settings.max_audio_s)
    )
    print(json.dumps({
        "image": {"path": str(media.image.path), "width": media.image.width, "height": media.image.height,
                  "bytes": media.image.bytes, "changes": media.image.changes,
                  "warnings": list(getattr(media.image, "warnings", []))},
        "audio": {"path": str(media.audio.path), "duration_s": media.audio.duration_s,
                  "bytes": media.audio.bytes, "changes": media.audio.changes},
    }))
    return 0


async def _generate(args: argparse.Namespace) -> int:
    from .app.generations import Generations
    from .app.services import Services
    from .jobs import Failed, Progress, Submitted, Succeeded, Unresolved
    from .jobs.plan import JobInput
    from .policy import Visitor
    from .web.hosting import LoopbackFileServer

    # The command line serves no web routes: no callbacks, no media at a public address, and the person at the
    # keyboard is the owner, not a visitor spending a house key.
    # A replica name of its own: the app on this machine must not take the command line's running runs for its
    # own (a command that is interrupted has them taken over by the app once its heartbeat stops).
    settings = load_settings(default_provider=args.provider, max_audio_s=args.max_seconds)
    settings = dataclasses.replace(settings, public=False, public_url=None,
                                   replica_id=f"{settings.replica_id}-cli-{os.getpid()}")
    spec = providers.spec(settings.default_provider)
    services = Services(settings)
    services.start_engine()
    watch = asyncio.create_task(services.keep_watch())
    with contextlib.ExitStack() as stack:
        stack.callback(services.close)
        stack.callback(watch.cancel)
        if spec.public_media and services.jobs.media_host is None:
            # A URL-only gateway on this machine (the simulator) fetches the media from a loopback file server.
            services.jobs.media_host = stack.enter_context(LoopbackFileServer(services.storage.public))
        started = await Generations(services).start(Visitor("cli:local", "command line"), spec.name, JobInput(
            image=args.image, audio=args.audio, audio_id=args.audio_id, prompt=args.prompt, mode=args.mode,
            start=args.start, watermark=args.watermark, callback_url=args.callback_url,
            external_task_id=args.external_task_id, allow_no_face=args.allow_no_face))
        for change in started.plan.changes:
            print(f"prepared: {change}", file=sys.stderr)
        for warning in started.plan.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        shown: tuple[object, ...] | None = None
        async for event in services.runs.watch(started.row):
            if isinstance(event, Submitted):
                print(f"submitted to {spec.label}: task {event.task_id}", file=sys.stderr)
            elif isinstance(event, Progress):
                if (event.status, event.detail, event.note) == shown:
                    continue
                shown = (event.status, event.detail, event.note)
                extra = f" ({event.detail})" if event.detail and event.detail != event.status.value else ""
                note = f" — {event.note}" if event.note else ""
                print(f"[{event.elapsed_s:6.1f} s] {event.status.value}{extra}{note}", file=sys.stderr)
            elif isinstance(event, (Failed, Unresolved)):
                print(f"error: {event.reason}", file=sys.stderr)
                return 1
            elif isinstance(event, Succeeded):
                path = event.video_path
                if args.out is not None:
                    args.out.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(path, args.out)
                    path = args.out
                print(json.dumps({"provider": spec.name, "task_id": event.task_id, "video_path": str(path),
                                  "duration_s": event.duration_s,
                                  "units": event.charged.amount if event.charged else None}))
                return 0
        return 1


def _simulate(args: argparse.Namespace) -> int:
    import uvicorn

    from .simulator import SimulatorConfig, create_app, simulated

    app = create_app(SimulatorConfig(job_seconds=args.job_seconds))
    for spec in simulated():
        print(f"{spec.env_prefix}_BASE_URL=http://{args.host}:{args.port}/{spec.name}", file=sys.stderr)
    print(f"simulator on http://{args.host}:{args.port} — point <NAME>_BASE_URL here; any key is accepted "
          "except for Kling JWTs, which must be signed with KLING_SECRET_KEY", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; refused input exits 2, other failures 1, each with a one-line reason."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "prepare":
            return _prepare(args)
        if args.command == "generate":
            return asyncio.run(_generate(args))
        if args.command == "deploy":
            return space.run(args)
        return _simulate(args)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except AvatarDemoError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
