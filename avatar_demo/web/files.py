"""The app's own file routes: finished videos and published media, served by unguessable name only.

Nothing here lists a folder or accepts a path: a name that is not exactly one of ours is a 404.
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from ..store.storage import Storage
from .hosting import MEDIA_ROUTE

__all__ = ["VIDEO_ROUTE", "file_routes", "video_url"]

VIDEO_ROUTE = "/avatar-demo/video"
_FOLDER = re.compile(r"[A-Za-z0-9_-]{24}")
_MEDIA_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_TYPES = {".mp4": "video/mp4", ".jpg": "image/jpeg", ".mp3": "audio/mpeg", ".wav": "audio/wav"}


def video_url(name: str) -> str:
    """The app-relative URL of a stored video (no server path in it)."""
    return f"{VIDEO_ROUTE}/{name}"


def file_routes(storage: Storage) -> list[Route]:
    """GET routes for videos and for media published to URL-only gateways."""

    def missing() -> Response:
        return JSONResponse({"error": "not found"}, status_code=404)

    async def video(request: Request) -> Response:
        path = storage.video(request.path_params["name"])
        return FileResponse(path, media_type="video/mp4") if path else missing()

    async def media(request: Request) -> Response:
        folder, name = request.path_params["folder"], request.path_params["name"]
        if not (_FOLDER.fullmatch(folder) and _MEDIA_NAME.fullmatch(name)) or name.startswith("."):
            return missing()
        path = storage.public / folder / name
        kind = _TYPES.get(path.suffix)
        return FileResponse(path, media_type=kind) if kind and path.is_file() else missing()

    return [Route(VIDEO_ROUTE + "/{name}", video, methods=["GET", "HEAD"]),
            Route(MEDIA_ROUTE + "/{folder}/{name}", media, methods=["GET", "HEAD"])]
