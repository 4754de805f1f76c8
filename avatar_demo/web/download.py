"""Fetch a finished video into local storage: gateway URLs expire, and Gradio must get a local path."""

from __future__ import annotations

import os
import shutil
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path

import httpx
import stamina

from ..core.errors import DownloadError
from ..core.text import Text
from ..providers.http import tls_context

__all__ = ["MAX_VIDEO_BYTES", "download_video"]

MAX_VIDEO_BYTES = 512 * 1024 * 1024
_TIMEOUT = httpx.Timeout(connect=10.0, read=60.0, write=10.0, pool=10.0)
_VIDEO_TYPES = ("video/", "application/octet-stream", "binary/octet-stream", "application/mp4")


def _looks_like_mp4(head: bytes) -> bool:
    return len(head) >= 8 and head[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide")


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code == 429 or exc.response.status_code >= 500
    return isinstance(exc, httpx.TransportError)


async def download_video(
    url: str,
    dest: Path,
    *,
    local: bool = False,
    max_bytes: int = MAX_VIDEO_BYTES,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Path:
    """Download *url* to *dest*, checking type and size; returns *dest*.

    A file:// URL is taken only when *local* (a render of this process: the offline preview) and checked
    like a download; from a gateway it is refused, or a reply could name any file on this machine.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == "file":
        if not local:
            raise DownloadError(Text("download.local_file"))
        source = Path(urllib.request.url2pathname(parsed.path))
        if not source.is_file():
            raise DownloadError(Text("download.render_missing", name=source.name))
        with source.open("rb") as fh:
            head = fh.read(12)
        if not _looks_like_mp4(head) or source.stat().st_size > max_bytes:
            raise DownloadError(Text("download.render_not_mp4", name=source.name))
        if source.resolve() != dest.resolve():
            shutil.move(str(source), dest)
        return dest
    if parsed.scheme not in ("http", "https"):
        raise DownloadError(Text("download.not_web"))

    fd, tmp_name = tempfile.mkstemp(prefix=".video-", suffix=".mp4", dir=dest.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        async with httpx.AsyncClient(timeout=_TIMEOUT, transport=transport, follow_redirects=True,
                                     verify=tls_context()) as client:
            async for attempt in stamina.retry_context(on=_retryable, attempts=4, timeout=120.0, wait_max=8.0):
                with attempt:
                    await _fetch(client, url, tmp, max_bytes)
        tmp.replace(dest)
    except DownloadError:
        raise
    except httpx.HTTPStatusError as exc:
        raise DownloadError(Text("download.http", status=exc.response.status_code)) from None
    except httpx.HTTPError as exc:
        raise DownloadError(Text("download.failed", error=type(exc).__name__)) from None
    finally:
        tmp.unlink(missing_ok=True)
    return dest


async def _fetch(client: httpx.AsyncClient, url: str, tmp: Path, max_bytes: int) -> None:
    async with client.stream("GET", url) as response:
        response.raise_for_status()
        kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind and not kind.startswith(_VIDEO_TYPES):
            raise DownloadError(Text("download.not_video", kind=kind))
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > max_bytes:
            raise DownloadError(Text("download.too_large", limit=max_bytes // (1024 * 1024)))
        size = 0
        head = b""
        with tmp.open("wb") as fh:
            async for chunk in response.aiter_bytes():
                if len(head) < 12:
                    head += chunk[: 12 - len(head)]
                    if len(head) >= 12 and not kind.startswith("video/") and not _looks_like_mp4(head):
                        raise DownloadError(Text("download.not_mp4"))
                size += len(chunk)
                if size > max_bytes:
                    raise DownloadError(Text("download.too_large", limit=max_bytes // (1024 * 1024)))
                fh.write(chunk)
        if 0 < len(head) < 12 and not kind.startswith("video/"):
            raise DownloadError(Text("download.not_mp4"))
    if size == 0:
        raise DownloadError(Text("download.empty"))
