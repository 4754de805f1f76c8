"""The simulator's shared state: tasks with timed status progression, fault knobs, media checks, videos."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import io
import itertools
import random
import shutil
import tempfile
import time
import uuid
import wave
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from PIL import Image, UnidentifiedImageError

from ..media.ffmpeg import probe_duration, run_ffmpeg

__all__ = ["Faults", "MediaProblem", "SimTask", "SimulatorConfig", "SimulatorState"]

#: The first part of a task's time it spends queued, then running.
QUEUED_PART = 0.2
#: Pauses before each delivery attempt of a callback (the first is immediate).
CALLBACK_RETRIES_S = (0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)


@dataclass
class Faults:
    """Knobs for misbehaviour; tests change them on the live state, people via POST /sim/faults."""

    latency_s: float = 0.0
    #: Probability that a poll (GET) answers 5xx.
    poll_error_rate: float = 0.0
    #: Every Nth poll answers 429 with Retry-After (0 = never).
    poll_429_every: int = 0
    retry_after_s: float = 1.0
    #: The next N creates are refused for capacity (Kling 1303 / crun 429).
    capacity_refusals: int = 0
    #: The next N creates are refused for their content, before any task exists (Kling 1301; a 4xx elsewhere).
    refused_creates: int = 0
    #: The next N creates store the task, then answer oddly (ambiguous_mode says how).
    ambiguous_creates: int = 0
    #: "gateway_timeout" answers 504/5002; "drop" cuts the connection mid-reply; "unknown_status" accepts the task
    #: under the status word odd_status_word; "not_json" answers 200 with an HTML page; "unknown_code" answers a 5xx
    #: with a business code no table names.
    ambiguous_mode: str = "gateway_timeout"
    odd_status_word: str = "pending"
    #: The next N tasks end "failed".
    failing_tasks: int = 0
    #: The next N downloads of a finished video answer 503.
    video_errors: int = 0
    seed: int = 7


@dataclass
class SimulatorConfig:
    """How the simulated gateways behave."""

    job_seconds: float = 8.0
    #: Accepted plain keys per gateway; None accepts any non-empty key.
    keys: dict[str, set[str]] | None = None
    #: Kling access key -> secret key, for verifying JWTs.
    jwt_secrets: dict[str, str] = field(default_factory=dict)
    #: At most this many unfinished tasks per gateway before capacity refusals (0 = unlimited).
    max_in_flight: int = 0
    faults: Faults = field(default_factory=Faults)


class MediaProblem(ValueError):
    """Input media a real gateway would refuse."""


@dataclass
class SimTask:
    """One simulated task."""

    gateway: str
    task_id: str
    created: float
    created_ms: int
    duration_s: float
    will_fail: bool
    audio: bytes | None
    audio_s: float
    mode: str
    prompt: str
    external_task_id: str | None = None
    callback_url: str | None = None

    def phase(self, now: float) -> str:
        """'queued', 'running', 'succeeded' or 'failed' at time *now*."""
        age = now - self.created
        if age >= self.duration_s:
            return "failed" if self.will_fail else "succeeded"
        return "queued" if age < self.duration_s * QUEUED_PART else "running"

    def next_change(self) -> float:
        """When (monotonic) the phase changes next."""
        queued_until = self.created + self.duration_s * QUEUED_PART
        return queued_until if time.monotonic() < queued_until else self.created + self.duration_s


def _b64(value: str, what: str) -> bytes:
    if value.startswith("data:"):
        raise MediaProblem(f"{what} must be raw base64 without a data: prefix")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise MediaProblem(f"{what} is neither a URL nor valid base64") from None


class SimulatorState:
    """Tasks, counters and fault knobs shared by every simulated gateway."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.faults = config.faults
        self.tasks: dict[str, SimTask] = {}
        self.by_external: dict[tuple[str, str], SimTask] = {}
        self.creates: dict[str, int] = {}
        #: Creates refused for capacity, per gateway (the account was full).
        self.refused: dict[str, int] = {}
        self.polls: dict[str, int] = {}
        self.callbacks_sent: list[tuple[str, dict]] = []
        #: Tasks a client asked to cancel.
        self.cancelled: set[str] = set()
        self.tts_audio: dict[str, float] = {}
        self._ids = itertools.count(880_000_000_000_000_001)
        self._random = random.Random(self.faults.seed)
        self._poll_counter = 0
        self._outage_until = 0.0
        self._client: httpx.AsyncClient | None = None
        self._work = Path(tempfile.mkdtemp(prefix="avatar-sim-"))
        self._background: set[asyncio.Task[None]] = set()
        # Identical inputs are measured and rendered once: concurrency runs reuse one clip.
        self._audio_seconds: dict[str, float] = {}
        self._renders: dict[float, Path] = {}
        self._render_lock = asyncio.Lock()

    # -- ids, faults -------------------------------------------------------------------------
    def new_id(self, style: str = "numeric") -> str:
        """A task id in a gateway's own style: numeric (Kling), task-hex (Modellix), task_n (crun), uuid (fal)."""
        n = next(self._ids)
        if style == "uuid":
            return str(uuid.UUID(int=n))
        return {"task-hex": f"task-{n:x}", "task_n": f"task_{n}"}.get(style, str(n))

    def key_ok(self, gateway: str, key: str | None) -> bool:
        """Whether a plain key is accepted by *gateway*."""
        if not key:
            return False
        keys = self.config.keys
        return keys is None or key in keys.get(gateway, set())

    def poll_fault(self) -> str | None:
        """'429', '5xx' or None for this poll."""
        if time.monotonic() < self._outage_until:
            return "5xx"
        self._poll_counter += 1
        every = self.faults.poll_429_every
        if every and self._poll_counter % every == 0:
            return "429"
        if self.faults.poll_error_rate and self._random.random() < self.faults.poll_error_rate:
            return "5xx"
        return None

    def start_outage(self, seconds: float) -> None:
        """From now on, every poll of every gateway answers 5xx for *seconds*."""
        self._outage_until = time.monotonic() + seconds

    def take(self, knob: str) -> bool:
        """Consume one unit of a counting fault knob."""
        left = getattr(self.faults, knob)
        if left > 0:
            setattr(self.faults, knob, left - 1)
            return True
        return False

    def over_capacity(self, gateway: str) -> bool:
        """Whether a new task would exceed the account's parallel limit (or a capacity fault fires); counted."""
        refused = self.take("capacity_refusals")
        limit = self.config.max_in_flight
        if not refused and limit:
            now = time.monotonic()
            running = sum(1 for t in self.tasks.values()
                          if t.gateway == gateway and t.phase(now) in ("queued", "running"))
            refused = running >= limit
        if refused:
            self.refused[gateway] = self.refused.get(gateway, 0) + 1
        return refused

    # -- media ---------------------------------------------------------------------------------
    async def fetch(self, value: str, what: str) -> bytes:
        """The bytes of a URL or raw base64 field, as a gateway would obtain them."""
        if value.startswith(("http://", "https://")):
            try:
                response = await self.client().get(value)
            except httpx.HTTPError:
                raise MediaProblem(f"{what} URL could not be fetched") from None
            if response.status_code != 200:
                raise MediaProblem(f"{what} URL answered HTTP {response.status_code}")
            return response.content
        return _b64(value, what)

    @staticmethod
    def check_image(data: bytes) -> None:
        """Kling's image rules: JPG/PNG, ≤10 MB, sides ≥300 px, aspect 1:2.5–2.5:1."""
        if len(data) > 10 * 1024 * 1024:
            raise MediaProblem("image exceeds 10MB")
        try:
            with Image.open(io.BytesIO(data)) as img:
                fmt, (w, h) = img.format, img.size
        except (UnidentifiedImageError, OSError):
            raise MediaProblem("image format is not supported") from None
        if fmt not in ("JPEG", "PNG"):
            raise MediaProblem(f"image format {fmt} is not supported (jpg/jpeg/png)")
        if min(w, h) < 300:
            raise MediaProblem(f"image dimensions {w}x{h} are below 300px")
        if not 0.4 <= w / h <= 2.5:
            raise MediaProblem(f"image aspect ratio {w}:{h} is outside 1:2.5~2.5:1")

    async def check_audio(self, data: bytes, limit_s: float) -> float:
        """Kling's audio rules: mp3/wav/m4a/aac, ≤5 MB, 2 s to *limit_s*; returns the duration."""
        if len(data) > 5 * 1024 * 1024:
            raise MediaProblem("sound_file exceeds 5MB")
        digest = hashlib.sha256(data).hexdigest()
        duration = self._audio_seconds.get(digest)
        if duration is None:
            duration = self._audio_seconds[digest] = await self._measure_audio(data)
        if not 2.0 <= duration <= limit_s + 0.05:
            raise MediaProblem(f"sound_file duration {duration:.1f}s is outside 2-{limit_s:.0f}s")
        return duration

    async def _measure_audio(self, data: bytes) -> float:
        # The container's header is enough to learn the length and the codec, as a gateway's check would; a WAV
        # that is more than its `fmt ` and one `data` chunk is read by ffmpeg, as a gateway would play it.
        try:
            with wave.open(io.BytesIO(data), "rb") as wav:
                if 44 + wav.getnframes() * wav.getsampwidth() * wav.getnchannels() == len(data):
                    return wav.getnframes() / wav.getframerate()
        except (wave.Error, EOFError, ZeroDivisionError):
            pass  # not a PCM WAV: ffmpeg reads the header
        path = self._work / f"in-{next(self._ids)}"
        path.write_bytes(data)
        proc = await asyncio.to_thread(run_ffmpeg, ["-i", str(path)])
        path.unlink(missing_ok=True)
        text = proc.stderr.decode("utf-8", "replace")
        duration = probe_duration(text)
        if duration is None or not any(f"Audio: {codec}" in text for codec in ("mp3", "pcm_", "aac")):
            raise MediaProblem("sound_file format is not supported (mp3/wav/m4a/aac)")
        return duration

    # -- tasks -----------------------------------------------------------------------------------
    def add_task(self, gateway: str, *, audio: bytes | None, audio_s: float, mode: str, prompt: str,
                 external_task_id: str | None = None, callback_url: str | None = None,
                 id_style: str = "numeric") -> SimTask:
        """Store a new task that starts its clock now."""
        task = SimTask(
            gateway=gateway, task_id=self.new_id(id_style), created=time.monotonic(),
            created_ms=int(time.time() * 1000), duration_s=self.config.job_seconds,
            will_fail=self.take("failing_tasks"), audio=audio, audio_s=audio_s, mode=mode, prompt=prompt,
            external_task_id=external_task_id, callback_url=callback_url,
        )
        self.tasks[task.task_id] = task
        self.creates[gateway] = self.creates.get(gateway, 0) + 1
        if external_task_id:
            self.by_external[(gateway, external_task_id)] = task
        return task

    def find(self, gateway: str, task_id: str) -> SimTask | None:
        """A task of *gateway* by task id or (Kling family) external id."""
        task = self.tasks.get(task_id)
        if task is None:
            task = self.by_external.get((gateway, task_id))
        return task if task is not None and task.gateway == gateway else None

    def count_poll(self, task: SimTask) -> None:
        """Count a poll for the benchmarks and tests."""
        self.polls[task.task_id] = self.polls.get(task.task_id, 0) + 1

    async def video(self, task: SimTask) -> Path:
        """A real MP4 as long as the task's audio: a placeholder picture and tone, rendered once per length.

        What the video shows does not matter to the app; rendering one per task would make the
        simulator, not the app, the busiest process in a benchmark.
        """
        length = round(task.audio_s, 1)
        # Tasks that end together ask at once: one render per length, written aside and moved in, so no
        # request streams a file another render is rewriting (the app then stored a broken video).
        async with self._render_lock:
            rendered = self._renders.get(length)
            if rendered is None or not rendered.exists():
                rendered = self._work / f"placeholder-{length:.1f}s.mp4"
                partial = rendered.with_suffix(".partial.mp4")
                proc = await asyncio.to_thread(run_ffmpeg, [
                    "-y", "-v", "error", "-f", "lavfi", "-i", "color=c=0x335577:s=320x320:r=10",
                    "-f", "lavfi", "-i", "sine=frequency=220", "-map", "0:v", "-map", "1:a", "-c:a", "aac",
                    "-t", f"{task.audio_s:.3f}", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                    "-movflags", "+faststart", str(partial)])
                if proc.returncode != 0:
                    raise RuntimeError(proc.stderr.decode("utf-8", "replace"))
                partial.replace(rendered)
                self._renders[length] = rendered
        return rendered

    def spawn(self, coro) -> None:  # type: ignore[no-untyped-def]
        """Run a background coroutine (callbacks), keeping a reference until it ends."""
        job = asyncio.get_running_loop().create_task(coro)
        self._background.add(job)
        job.add_done_callback(self._background.discard)

    def client(self) -> httpx.AsyncClient:
        """The one client for the simulator's own requests (media fetches, callbacks): building one per request
        loads the CA bundle each time, which made the simulator the busiest process in a benchmark."""
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=httpx.Timeout(10.0))
        return self._client

    async def aclose(self) -> None:
        """Close the shared client and remove the received media and placeholder renders."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        await asyncio.to_thread(shutil.rmtree, self._work, True)

    async def _deliver(self, url: str, body: dict) -> None:
        # Like fal's webhooks, a delivery that fails is tried again with growing pauses.
        for pause in CALLBACK_RETRIES_S:
            await asyncio.sleep(pause)
            try:
                if (await self.client().post(url, json=body)).status_code == 200:
                    return
            except httpx.HTTPError:
                continue

    async def send_callbacks(self, task: SimTask, payload_for) -> None:  # type: ignore[no-untyped-def]
        """POST the gateway's payload to the task's callback URL on every status change."""
        assert task.callback_url
        seen = None
        while True:
            phase = task.phase(time.monotonic())
            if phase != seen:
                seen = phase
                body = payload_for(task)
                if body is not None:
                    self.callbacks_sent.append((task.task_id, body))
                    self.spawn(self._deliver(task.callback_url, body))
            if phase in ("succeeded", "failed"):
                return
            # Sleep until the next change of status rather than checking all the time.
            await asyncio.sleep(max(0.005, task.next_change() - time.monotonic()))
