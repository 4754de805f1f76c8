"""A lean asyncio client that presses Generate the way the page does: upload, queue/join, the SSE stream, the video.

gradio_client starts threads, a fresh connection per upload and a heartbeat thread per user; on a
two-core machine that shares its cores with the app, 100 of them cost more CPU than the app itself.
This client speaks the same HTTP protocol as the browser page, so the app does the same work.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

API = "/gradio_api"


@dataclass(frozen=True)
class Endpoint:
    """How to call one named event: its fn_index, its inputs in order, and the defaults of the rest."""

    fn_index: int
    names: list[str | None]  # None marks an input the client never sends (gr.State, BrowserState)
    defaults: dict[str, Any]


async def discover(http: httpx.AsyncClient, base: str, api_name: str) -> Endpoint:
    """Read the page's config and the API info, as the page and gradio_client do on load."""
    config = (await http.get(f"{base}/config")).json()
    info = (await http.get(f"{base}{API}/info")).json()
    parameters = info["named_endpoints"][f"/{api_name}"]["parameters"]
    components = {c["id"]: c for c in config["components"]}
    dependency = next(d for d in config["dependencies"] if d.get("api_name") == api_name)
    names: list[str | None] = []
    visible = iter(p["parameter_name"] for p in parameters)
    for component_id in dependency["inputs"]:
        skip = components[component_id].get("skip_api") or components[component_id]["type"] in ("state",)
        names.append(None if skip else next(visible))
    defaults = {p["parameter_name"]: p.get("parameter_default") for p in parameters if p.get("parameter_has_default")}
    return Endpoint(dependency["id"], names, defaults)


async def _upload(http: httpx.AsyncClient, base: str, path: Path) -> dict[str, Any]:
    reply = await http.post(f"{base}{API}/upload", files={"files": (path.name, path.read_bytes())})
    reply.raise_for_status()
    return {"path": reply.json()[0], "orig_name": path.name, "meta": {"_type": "gradio.FileData"}}


async def generate(http: httpx.AsyncClient, base: str, endpoint: Endpoint, values: dict[str, Any],
                   files: dict[str, Path]) -> tuple[float, float, str]:
    """One user's job; returns (seconds to the video, seconds to the task id, the final status)."""
    began = time.monotonic()
    session = uuid.uuid4().hex[:11]
    uploaded = dict(zip(files, await asyncio.gather(*(_upload(http, base, p) for p in files.values()))))
    arguments = {**endpoint.defaults, **values, **uploaded}
    data = [arguments.get(name) if name else None for name in endpoint.names]
    join = await http.post(f"{base}{API}/queue/join", json={
        "data": data, "fn_index": endpoint.fn_index, "session_hash": session, "event_data": None, "trigger_id": None})
    join.raise_for_status()
    submitted, status, video = float("nan"), "", None
    async with http.stream("GET", f"{base}{API}/queue/data", params={"session_hash": session}) as stream:
        async for line in stream.aiter_lines():
            if not line.startswith("data:"):
                continue
            message = json.loads(line[5:])
            kind = message.get("msg")
            if kind == "process_generating" and submitted != submitted and "Task id" in line:
                submitted = time.monotonic() - began
            elif kind == "process_completed":
                output = message.get("output") or {}
                if not message.get("success"):
                    return time.monotonic() - began, submitted, f"error: {output.get('error')}"
                status = str(output["data"][0])
                video = output["data"][2]
            elif kind == "close_stream":
                break
    if isinstance(video, dict) and video.get("url"):
        # The page fetches the finished video to show it.
        async with http.stream("GET", video["url"]) as reply:
            reply.raise_for_status()
            async for _ in reply.aiter_bytes():
                pass
    elif "done" in status:
        raise RuntimeError(f"a finished job came without a video: {video!r}")
    return time.monotonic() - began, submitted, status
