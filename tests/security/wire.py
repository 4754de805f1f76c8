"""Raw HTTP against the launched app, the way a stranger without gradio_client would talk to it.

Each `Stranger` connects from its own loopback address (127.0.0.0/8 all reaches the app on
127.0.0.1), so to the app it is a different visitor, exactly like a different person on the
internet; headers it sends (X-Forwarded-For…) are its own choice and must not change that.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

__all__ = ["Reply", "Stranger", "dependency_ids", "file_data", "generate_args", "lab_args", "raw_status"]

#: The order of /generate's inputs (ui/generate.py): image, audio, prompt, mode, provider, start, length, audio_id,
#: api_key, watermark, callback_url, external_task_id, owner, allow_no_face.
GENERATE_FIELDS = ("image", "audio", "prompt", "mode", "provider", "start", "length", "audio_id", "api_key",
                   "watermark", "callback_url", "external_task_id", "owner", "allow_no_face")
#: /lab's inputs: image, audio, prompts, modes, provider, start, length, api_key, owner, gateways, allow_no_face.
LAB_FIELDS = ("image", "audio", "prompts", "modes", "provider", "start", "length", "api_key", "owner", "gateways",
              "allow_no_face")


def file_data(server_path: str) -> dict[str, Any]:
    """An uploaded file as an event input."""
    return {"path": server_path, "orig_name": Path(server_path).name, "meta": {"_type": "gradio.FileData"}}


def generate_args(**values: Any) -> list[Any]:
    """The /generate data list with defaults for everything not given."""
    defaults: dict[str, Any] = {"image": None, "audio": None, "prompt": "", "mode": "std", "provider": "kling",
                                "start": 0, "length": 60, "audio_id": "", "api_key": "", "watermark": False,
                                "callback_url": "", "external_task_id": "", "owner": "", "allow_no_face": False}
    unknown = set(values) - set(defaults)
    assert not unknown, unknown
    return [values.get(name, defaults[name]) for name in GENERATE_FIELDS]


def lab_args(**values: Any) -> list[Any]:
    """The /lab data list with defaults for everything not given."""
    defaults: dict[str, Any] = {"image": None, "audio": None, "prompts": "", "modes": ["std"], "provider": "kling",
                                "start": 0, "length": 60, "api_key": "", "owner": "", "gateways": [],
                                "allow_no_face": False}
    unknown = set(values) - set(defaults)
    assert not unknown, unknown
    return [values.get(name, defaults[name]) for name in LAB_FIELDS]


def dependency_ids(config: dict[str, Any]) -> dict[str, int]:
    """Every event's api_name (private ones included) to its fn_index, from GET /config."""
    return {dep["api_name"]: dep["id"] for dep in config["dependencies"] if dep.get("api_name")}


@dataclass
class Reply:
    """The end of one queued event as the SSE stream told it."""

    success: bool
    output: dict[str, Any]
    #: Every message of the stream (for "was X ever sent" assertions).
    messages: list[dict[str, Any]] = field(default_factory=list)
    #: The join's status code when the queue refused it outright.
    join_status: int = 200

    @property
    def data(self) -> list[Any]:
        return self.output.get("data") or []

    @property
    def error(self) -> str:
        return str(self.output.get("error") or "")

    @property
    def text(self) -> str:
        """Everything the caller received, as one string."""
        return json.dumps(self.messages) + json.dumps(self.output)


class Stranger:
    """One visitor: their own source address, their own sessions, any headers they like."""

    def __init__(self, base_url: str, address: str = "127.0.0.1", *, headers: dict[str, str] | None = None) -> None:
        self.base_url = base_url
        self.address = address
        self.http = httpx.Client(base_url=base_url, headers=headers or {}, timeout=httpx.Timeout(60.0),
                                 transport=httpx.HTTPTransport(local_address=address))
        self._uploads: dict[Path, str] = {}

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Stranger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def config(self) -> dict[str, Any]:
        return self.http.get("/config").json()

    def upload(self, path: Path) -> dict[str, Any]:
        """Upload *path* once (per stranger) and return it as an event input."""
        path = Path(path)
        if path not in self._uploads:
            reply = self.http.post("/gradio_api/upload", files={"files": (path.name, path.read_bytes())})
            assert reply.status_code == 200, (reply.status_code, reply.text)
            self._uploads[path] = reply.json()[0]
        return file_data(self._uploads[path])

    def join(self, fn_index: int, data: list[Any], session_hash: str | None = None,
             headers: dict[str, str] | None = None) -> tuple[httpx.Response, str]:
        session = session_hash or secrets.token_hex(8)
        reply = self.http.post("/gradio_api/queue/join", json={"fn_index": fn_index, "data": data,
                                                               "session_hash": session, "trigger_id": None},
                               headers=headers or {})
        return reply, session

    def read(self, session_hash: str, timeout: float = 120.0) -> Reply:
        """Follow the session's stream to the end of its event."""
        messages: list[dict[str, Any]] = []
        with self.http.stream("GET", "/gradio_api/queue/data", params={"session_hash": session_hash},
                              timeout=httpx.Timeout(timeout)) as stream:
            for line in stream.iter_lines():
                if not line.startswith("data:"):
                    continue
                message = json.loads(line[5:])
                messages.append(message)
                if message.get("msg") == "process_completed":
                    return Reply(bool(message.get("success")), message.get("output") or {}, messages)
                if message.get("msg") == "close_stream":
                    break
        raise AssertionError(f"the stream ended without process_completed: {messages}")

    def call(self, fn_index: int, data: list[Any], *, session_hash: str | None = None,
             headers: dict[str, str] | None = None, timeout: float = 120.0) -> Reply:
        """Join the queue with any event (private ones too, by index) and wait for its end."""
        joined, session = self.join(fn_index, data, session_hash, headers)
        if joined.status_code != 200:
            return Reply(False, {"error": joined.text}, [], join_status=joined.status_code)
        return self.read(session, timeout)


def raw_status(base_url: str, path: str, method: str = "GET") -> tuple[int, str]:
    """The status code and Location for *path* sent byte for byte (no client normalizes dots or encodings)."""
    import socket
    import urllib.parse

    parts = urllib.parse.urlsplit(base_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        request = f"{method} {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n\r\n"
        sock.sendall(request.encode("utf-8", "surrogateescape"))
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                break
            head += chunk
    lines = head.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    location = next((line.split(":", 1)[1].strip() for line in lines[1:] if line.lower().startswith("location:")), "")
    return int(lines[0].split(" ", 2)[1]), location


def ids(person: Stranger) -> dict[str, int]:
    """The page's event numbers, by the names the attacks use."""
    return dependency_ids(person.config())


def generate(person: Stranger, media_dir: Path, **values: object) -> Reply:
    """The session's portrait and speech sent through the page's generate event."""
    image, audio = person.upload(media_dir / "portrait.jpg"), person.upload(media_dir / "speech.mp3")
    return person.call(ids(person)["generate"], generate_args(image=image, audio=audio, **values))


def allowance(person: Stranger) -> str:
    """The allowance line the page shows this visitor."""
    reply = person.call(ids(person)["allowance"], [])
    assert reply.success, reply.output
    return reply.data[0]
