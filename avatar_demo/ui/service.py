"""What the page does, without Gradio: providers, preparation (cached), jobs, resume, secrets."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from collections.abc import AsyncIterator
from pathlib import Path

from ..callbacks import CallbackHub
from ..config import Settings
from ..errors import AvatarDemoError
from ..history import History
from ..hosting import DirectoryHost, MediaHost, media_host_for
from ..jobs import Event, follow_task, run_job
from ..media import PreparedMedia, prepare_media
from ..media.audio import MIN_AUDIO_S
from ..media.ffmpeg import media_duration
from ..providers import AvatarRequest, Provider, make_provider, provider_class
from ..providers.local import LocalProvider

__all__ = ["AppService", "VoiceWindow"]

_PREPARED_CACHE = 64


def _digest(path: str | Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


@dataclass(frozen=True)
class VoiceWindow:
    """The part of a clip a generation will use, before anything is prepared."""

    start: float
    end: float
    total: float | None
    #: Seconds of video it makes (a window under 2 s is padded to 2 s).
    used: float

    @property
    def padded(self) -> bool:
        """Whether the window is shorter than the 2 s minimum."""
        return self.end - self.start < MIN_AUDIO_S


class AppService:
    """One per app process: settings, the history store, the offline renderer and follow bookkeeping."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        data = settings.data_dir
        data.mkdir(parents=True, exist_ok=True)
        self.history = History(data / "history.sqlite3")
        self.videos_dir = data / "videos"
        self.jobs_dir = data / "jobs"
        self.public_dir = data / "public"
        for folder in (self.videos_dir, self.jobs_dir, self.public_dir):
            folder.mkdir(parents=True, exist_ok=True)
        # One renderer for the process: a reload must find its preview tasks again.
        self.local = LocalProvider(data / "previews")
        self.media_host: MediaHost | None = media_host_for(settings) or (
            DirectoryHost.behind_gradio(self.public_dir, settings.public_url) if settings.public_url else None
        )
        self.state_secret = settings.state_secret or self._stored_secret(data / "browser-state.secret")
        # Gateways can only call back when the app has a public address (AVATAR_PUBLIC_URL or the Space's).
        self.callbacks = CallbackHub(settings.public_url, self.state_secret)
        self._prepared: OrderedDict[str, PreparedMedia] = OrderedDict()
        self._following: set[int] = set()

    @staticmethod
    def _stored_secret(path: Path) -> str:
        # BrowserState needs the same secret after a restart, or every browser loses its history.
        if path.exists():
            return path.read_text().strip()
        secret = secrets.token_urlsafe(32)
        path.write_text(secret)
        path.chmod(0o600)
        return secret

    @property
    def served_dirs(self) -> list[str]:
        """Folders the web server may serve files from (videos, published media)."""
        return [str(self.videos_dir.resolve()), str(self.public_dir.resolve()), str(self.local.work_dir.resolve())]

    def provider(self, name: str, user_key: str | None = None) -> Provider:
        """The provider for one request; a bring-your-own key lives only in this object."""
        if name == "local":
            return self.local
        return make_provider(name, self.settings, user_key=user_key, media_host=self.media_host)

    def max_seconds(self, provider: str) -> float:
        """The longest voice window *provider* accepts under the app's cap."""
        return min(self.settings.max_audio_s, provider_class(provider).max_audio_s)

    def voice_window(self, audio: str, start: float | None, length: float | None, provider: str) -> VoiceWindow:
        """Where [start, start+length) falls in *audio*, capped by the provider's limit."""
        limit = self.max_seconds(provider)
        start = max(0.0, float(start or 0))
        length = min(float(length or limit), limit)
        total = media_duration(audio)
        end = start + length if total is None else min(total, start + length)
        return VoiceWindow(start, end, total, max(MIN_AUDIO_S, end - start))

    async def prepare(self, image: str, audio: str, *, start: float, length: float) -> PreparedMedia:
        """Prepare once per distinct (photo, clip, window): the prompt lab and retries reuse it."""
        image_hash, audio_hash = await asyncio.gather(asyncio.to_thread(_digest, image), asyncio.to_thread(_digest, audio))
        key = f"{image_hash[:24]}-{audio_hash[:24]}-{start:.2f}-{length:.2f}"
        cached = self._prepared.get(key)
        if cached and cached.image.path.exists() and cached.audio.path.exists():
            self._prepared.move_to_end(key)
            return cached
        media = await prepare_media(image, audio, self.jobs_dir / uuid.uuid4().hex, start=start, max_seconds=length)
        self._prepared[key] = media
        while len(self._prepared) > _PREPARED_CACHE:
            self._prepared.popitem(last=False)
        return media

    async def run(self, provider: Provider, request: AvatarRequest, *, owner: str | None,
                  changes: list[str]) -> AsyncIterator[Event]:
        """Run one job, marking its row as followed by this process while it runs."""
        row = None
        try:
            async for event in run_job(provider, request, history=self.history, videos_dir=self.videos_dir,
                                       owner=owner, changes=changes, deadline_s=self.settings.poll_deadline_s,
                                       callbacks=self.callbacks):
                row = getattr(event, "row", row)
                if row is not None:
                    self._following.add(row)
                yield event
        finally:
            if row is not None:
                self._following.discard(row)

    async def resume(self, owner: str) -> int:
        """Follow this browser's in-flight tasks that nothing in this process follows; returns how many."""
        started = []
        for record in self.history.active(owner):
            if record.id in self._following:
                continue
            if record.provider != "local" and not self.settings.provider(record.provider).configured:
                self.history.update(record.id, message="waiting: this task was started with your own key; "
                                                       "it can only be followed while that key is set on the server")
                continue
            self._following.add(record.id)
            started.append(asyncio.create_task(self._follow(record.id, record.provider)))
        if started:
            await asyncio.gather(*started)
        return len(started)

    async def _follow(self, row: int, provider_name: str) -> None:
        try:
            provider = self.provider(provider_name)
            async for _event in follow_task(provider, row, history=self.history, videos_dir=self.videos_dir,
                                            deadline_s=self.settings.poll_deadline_s, callbacks=self.callbacks):
                pass  # follow_task records every outcome in the history
        except AvatarDemoError as exc:
            self.history.update(row, message=str(exc))
        finally:
            self._following.discard(row)
