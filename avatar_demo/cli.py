"""Command line: prepare media, generate a video through any provider, or serve the simulator."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path

from .config import PROVIDERS, load_settings
from .errors import AvatarDemoError, InputError

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
    gen.add_argument("--provider", choices=PROVIDERS, default=None, help="default: AVATAR_PROVIDER, else the first with a key, else local")
    gen.add_argument("--image", required=True, type=Path)
    voice = gen.add_mutually_exclusive_group(required=True)
    voice.add_argument("--audio", type=Path)
    voice.add_argument("--audio-id", help="an audio id from Kling text to speech")
    gen.add_argument("--prompt", default="")
    gen.add_argument("--mode", choices=("std", "pro"), default="std")
    gen.add_argument("--out", type=Path, default=None, help="copy the video here")
    gen.add_argument("--start", type=float, default=0.0)
    gen.add_argument("--max-seconds", type=float, default=None)
    gen.add_argument("--watermark", action=argparse.BooleanOptionalAction, default=None)
    gen.add_argument("--callback-url", default=None)
    gen.add_argument("--external-task-id", default=None)

    sim = sub.add_parser("simulate", help="serve the offline gateway simulator")
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=int, default=8123)
    sim.add_argument("--job-seconds", type=float, default=8.0, help="how long each simulated task runs")
    return parser


def _prepare(args: argparse.Namespace) -> int:
    from .media import prepare_media

    settings = load_settings()
    media = asyncio.run(
        prepare_media(args.image, args.audio, args.out_dir, start=args.start, max_seconds=args.max_seconds or settings.max_audio_s)
    )
    print(json.dumps({
        "image": {"path": str(media.image.path), "width": media.image.width, "height": media.image.height,
                  "bytes": media.image.bytes, "changes": media.image.changes},
        "audio": {"path": str(media.audio.path), "duration_s": media.audio.duration_s,
                  "bytes": media.audio.bytes, "changes": media.audio.changes},
    }))
    return 0


async def _generate(args: argparse.Namespace) -> int:
    from .history import History
    from .hosting import LoopbackFileServer, media_host_for
    from .jobs import Failed, Progress, Submitted, Succeeded, run_job
    from .media import prepare_image, prepare_media
    from .providers import AvatarRequest, make_provider

    settings = load_settings(default_provider=args.provider)
    name = settings.default_provider
    job_dir = settings.data_dir / "jobs" / uuid.uuid4().hex
    with contextlib.ExitStack() as stack:
        host = None
        if name == "crun":
            host = media_host_for(settings) or stack.enter_context(LoopbackFileServer(settings.data_dir / "public"))
        provider = make_provider(name, settings, media_host=host)
        try:
            limit = min(args.max_seconds or settings.max_audio_s, provider.max_audio_s)
            if args.audio is not None:
                media = await prepare_media(args.image, args.audio, job_dir, start=args.start, max_seconds=limit)
                image, audio, duration, changes = media.image.path, media.audio.path, media.audio.duration_s, media.changes
            else:
                prepared = await asyncio.to_thread(prepare_image, args.image, job_dir)
                image, audio, duration, changes = prepared.path, None, None, [f"Photo: {c}" for c in prepared.changes]
            for change in changes:
                print(f"prepared: {change}", file=sys.stderr)
            request = AvatarRequest(
                image=image, audio=audio, audio_id=args.audio_id, prompt=args.prompt, mode=args.mode,
                audio_duration_s=duration, watermark=args.watermark, callback_url=args.callback_url,
                external_task_id=args.external_task_id,
            )
            history = History(settings.data_dir / "history.sqlite3")
            async for event in run_job(provider, request, history=history, videos_dir=settings.data_dir / "videos",
                                       changes=changes, deadline_s=settings.poll_deadline_s):
                if isinstance(event, Submitted):
                    print(f"submitted to {provider.label}: task {event.task_id}", file=sys.stderr)
                elif isinstance(event, Progress):
                    extra = f" — {event.note}" if event.note else ""
                    print(f"[{event.elapsed_s:6.1f} s] {event.raw_status}{extra}", file=sys.stderr)
                elif isinstance(event, Failed):
                    print(f"error: {event.reason}", file=sys.stderr)
                    return 1
                elif isinstance(event, Succeeded):
                    path = event.video_path
                    if args.out is not None:
                        args.out.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copyfile(path, args.out)
                        path = args.out
                    print(json.dumps({"provider": name, "task_id": event.task_id, "video_path": str(path),
                                      "duration_s": event.duration_s, "units": event.units}))
                    return 0
            return 1
        finally:
            await provider.aclose()


def _simulate(args: argparse.Namespace) -> int:
    import uvicorn

    from .simulator import SimulatorConfig, create_app

    app = create_app(SimulatorConfig(job_seconds=args.job_seconds))
    for gateway in ("kling", "cometapi", "kkiai", "modellix", "crun"):
        print(f"{gateway.upper()}_BASE_URL=http://{args.host}:{args.port}/{gateway}", file=sys.stderr)
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
        return _simulate(args)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except AvatarDemoError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
