"""download_video against httpx.MockTransport: type and size checks, retries, file:// moves, no partial files."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import stamina

from avatar_demo.core.errors import DownloadError
from avatar_demo.web.download import download_video

pytestmark = pytest.mark.anyio

#: The first bytes of an MP4 file: a box size, then "ftyp".
MP4 = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00" + b"\x00" * 200
URL = "https://cdn.example/out/video.mp4"


@pytest.fixture(autouse=True)
def no_waits() -> Iterator[None]:
    """stamina's testing mode: no waits, and the download's own attempt count (4) kept."""
    with stamina.set_testing(True, attempts=100, cap=True):
        yield


class Server:
    """A MockTransport handler: one scripted reply per request on the video's path, counted."""

    def __init__(self, *replies: httpx.Response | Exception) -> None:
        self.replies = list(replies)
        self.requests = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/moved":
            return httpx.Response(302, headers={"location": URL})
        assert request.url.path == "/out/video.mp4"
        self.requests += 1
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        if isinstance(reply, Exception):
            raise type(reply)(str(reply), request=request)
        return reply

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


def video(content: bytes = MP4, kind: str | None = "video/mp4", **headers: str) -> httpx.Response:
    all_headers = {**({"content-type": kind} if kind is not None else {}), **headers}
    return httpx.Response(200, content=content, headers=all_headers)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.mark.parametrize(
    "kind",
    ["video/mp4", "video/mp4; codecs=avc1", "VIDEO/MP4", "application/octet-stream", "binary/octet-stream",
     "application/mp4", None],
)
async def test_a_video_is_stored_at_dest(tmp_path: Path, kind: str | None) -> None:
    """A video reply (any accepted content type, or none) is written to dest byte for byte."""
    dest = tmp_path / "videos" / "out.mp4"
    server = Server(video(kind=kind))
    assert await download_video(URL, dest, transport=server.transport) == dest
    assert dest.read_bytes() == MP4
    assert leftovers(dest.parent) == ["out.mp4"]
    assert server.requests == 1


@pytest.mark.parametrize("kind", ["text/html", "application/json", "image/png", "text/plain; charset=utf-8"])
async def test_a_non_video_content_type_is_refused(tmp_path: Path, kind: str) -> None:
    """A reply whose content type is not a video is refused, naming the type, and leaves no file."""
    dest = tmp_path / "videos" / "out.mp4"
    with pytest.raises(DownloadError, match="not a video") as caught:
        await download_video(URL, dest, transport=Server(video(kind=kind)).transport)
    assert kind.split(";")[0] in str(caught.value)
    assert leftovers(dest.parent) == []


@pytest.mark.parametrize("kind", ["application/octet-stream", "binary/octet-stream", "application/mp4", None])
@pytest.mark.parametrize("body", [b"<html><body>expired</body></html>", b'{"error": "no such object"}' + b" " * 20])
async def test_octet_stream_without_mp4_magic_is_refused(tmp_path: Path, kind: str | None, body: bytes) -> None:
    """A generic binary type must start like an MP4; an error page served as octet-stream is refused."""
    dest = tmp_path / "videos" / "out.mp4"
    with pytest.raises(DownloadError, match="not an MP4"):
        await download_video(URL, dest, transport=Server(video(body, kind=kind)).transport)
    assert leftovers(dest.parent) == []


@pytest.mark.parametrize("box", [b"ftyp", b"moov", b"mdat", b"free", b"wide"])
async def test_octet_stream_with_any_mp4_box_is_accepted(tmp_path: Path, box: bytes) -> None:
    """Every top-level MP4 box type accepted at offset 4 passes the magic check."""
    body = b"\x00\x00\x00\x10" + box + b"\x00" * 64
    dest = tmp_path / "out.mp4"
    await download_video(URL, dest, transport=Server(video(body, kind="application/octet-stream")).transport)
    assert dest.read_bytes() == body


async def test_a_declared_length_over_the_cap_is_refused(tmp_path: Path) -> None:
    """A Content-Length above max_bytes is refused before anything is stored."""
    dest = tmp_path / "videos" / "out.mp4"
    reply = httpx.Response(200, headers={"content-type": "video/mp4", "content-length": "1001"}, content=MP4)
    with pytest.raises(DownloadError, match="larger than"):
        await download_video(URL, dest, max_bytes=1000, transport=Server(reply).transport)
    assert leftovers(dest.parent) == []


async def _chunks(total: int, size: int = 64) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        chunk = (MP4 * (size // len(MP4) + 1))[: min(size, total - sent)]
        sent += len(chunk)
        yield chunk


@pytest.mark.parametrize(("total", "accepted"), [(1000, True), (1001, False), (5000, False)])
async def test_streamed_bytes_are_capped_without_a_declared_length(tmp_path: Path, total: int,
                                                                   accepted: bool) -> None:
    """A streamed body (no Content-Length) is cut off once it passes max_bytes; exactly max_bytes is fine."""
    dest = tmp_path / "videos" / "out.mp4"
    reply = httpx.Response(200, headers={"content-type": "video/mp4"}, content=_chunks(total))
    assert "content-length" not in reply.headers
    if accepted:
        await download_video(URL, dest, max_bytes=1000, transport=Server(reply).transport)
        assert dest.stat().st_size == total
    else:
        with pytest.raises(DownloadError, match="larger than"):
            await download_video(URL, dest, max_bytes=1000, transport=Server(reply).transport)
        assert leftovers(dest.parent) == []


async def test_an_empty_body_is_refused(tmp_path: Path) -> None:
    """A 200 with no bytes is a DownloadError, not an empty video file."""
    dest = tmp_path / "videos" / "out.mp4"
    with pytest.raises(DownloadError, match="empty"):
        await download_video(URL, dest, transport=Server(video(b"")).transport)
    assert leftovers(dest.parent) == []


@pytest.mark.parametrize(
    "failures",
    [
        [httpx.Response(503)],
        [httpx.Response(500), httpx.Response(502), httpx.Response(504)],
        [httpx.Response(429)],
        [httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("dropped")],
    ],
    ids=["503", "500-502-504", "429", "transport"],
)
async def test_server_errors_are_retried_then_the_video_stored(tmp_path: Path,
                                                              failures: list[httpx.Response | Exception]) -> None:
    """5xx, 429 and transport errors are retried; the first good reply is stored."""
    dest = tmp_path / "out.mp4"
    server = Server(*failures, video())
    await download_video(URL, dest, transport=server.transport)
    assert dest.read_bytes() == MP4
    assert server.requests == len(failures) + 1
    assert leftovers(tmp_path) == ["out.mp4"]


@pytest.mark.parametrize("code", [400, 403, 404, 410])
async def test_client_errors_are_not_retried_and_read_well(tmp_path: Path, code: int) -> None:
    """A 4xx (an expired link) is tried once and becomes a DownloadError naming the HTTP status."""
    dest = tmp_path / "videos" / "out.mp4"
    server = Server(httpx.Response(code), video())
    with pytest.raises(DownloadError) as caught:
        await download_video(URL, dest, transport=server.transport)
    assert server.requests == 1
    assert f"HTTP {code}" in str(caught.value)
    assert "may have expired" in str(caught.value)
    assert leftovers(dest.parent) == []


async def test_persistent_server_errors_give_up_after_four_attempts(tmp_path: Path) -> None:
    """A link that keeps answering 500 is tried four times, then a DownloadError names the status."""
    server = Server(httpx.Response(500))
    with pytest.raises(DownloadError, match="HTTP 500"):
        await download_video(URL, tmp_path / "out.mp4", transport=server.transport)
    assert server.requests == 4
    assert leftovers(tmp_path) == []


async def test_persistent_transport_errors_become_a_download_error(tmp_path: Path) -> None:
    """A link that never connects ends in a DownloadError naming the failure, after four attempts."""
    server = Server(httpx.ConnectError("refused"))
    with pytest.raises(DownloadError, match="ConnectError"):
        await download_video(URL, tmp_path / "out.mp4", transport=server.transport)
    assert server.requests == 4
    assert leftovers(tmp_path) == []


async def test_a_bad_reply_is_not_retried(tmp_path: Path) -> None:
    """A reply that is not a video is a final answer: one request only."""
    server = Server(video(kind="text/html"), video())
    with pytest.raises(DownloadError):
        await download_video(URL, tmp_path / "out.mp4", transport=server.transport)
    assert server.requests == 1


async def test_redirects_are_followed(tmp_path: Path) -> None:
    """A redirect to the video (signed CDN links) is followed."""
    server = Server(video())
    await download_video("https://cdn.example/moved", tmp_path / "out.mp4", transport=server.transport)
    assert (tmp_path / "out.mp4").read_bytes() == MP4


async def test_a_failed_download_keeps_an_existing_dest(tmp_path: Path) -> None:
    """A failed download leaves an existing file at dest untouched (it only replaces it on success)."""
    dest = tmp_path / "out.mp4"
    dest.write_bytes(b"earlier")
    with pytest.raises(DownloadError):
        await download_video(URL, dest, transport=Server(httpx.Response(404)).transport)
    assert dest.read_bytes() == b"earlier"
    assert leftovers(tmp_path) == ["out.mp4"]


async def test_file_urls_are_moved(tmp_path: Path) -> None:
    """A file:// result (the offline preview) is moved to dest, not copied."""
    source = tmp_path / "render" / "preview.mp4"
    source.parent.mkdir()
    source.write_bytes(MP4)
    dest = tmp_path / "videos" / "out.mp4"
    assert await download_video(source.as_uri(), dest, local=True) == dest
    assert dest.read_bytes() == MP4
    assert not source.exists()


async def test_a_file_url_to_something_not_a_video_is_refused(tmp_path: Path) -> None:
    """A file:// result that is not an MP4 is refused like a download would be, and left where it was."""
    secret = tmp_path / "data" / "server.secret"
    secret.parent.mkdir()
    secret.write_text("not a video at all")
    with pytest.raises(DownloadError):
        await download_video(secret.as_uri(), tmp_path / "data" / "videos" / "out.mp4", local=True)
    assert secret.read_text() == "not a video at all"


async def test_a_gateway_cannot_name_a_local_file(tmp_path: Path) -> None:
    """Only the offline preview's own render may come as file://; from a gateway even a real MP4 is left alone."""
    video = tmp_path / "someone-elses.mp4"
    video.write_bytes(MP4)
    with pytest.raises(DownloadError, match="named a file on this machine"):
        await download_video(video.as_uri(), tmp_path / "videos" / "out.mp4")
    assert video.read_bytes() == MP4


async def test_a_file_url_onto_itself_is_kept(tmp_path: Path) -> None:
    """A file:// URL that already points at dest leaves the file where it is."""
    dest = tmp_path / "out.mp4"
    dest.write_bytes(MP4)
    assert await download_video(dest.as_uri(), dest, local=True) == dest
    assert dest.read_bytes() == MP4


async def test_a_missing_file_url_is_a_download_error(tmp_path: Path) -> None:
    """A file:// URL whose file is gone is a DownloadError naming the file."""
    with pytest.raises(DownloadError, match="gone.mp4"):
        await download_video((tmp_path / "gone.mp4").as_uri(), tmp_path / "out.mp4", local=True)


@pytest.mark.parametrize("url", ["ftp://cdn.example/v.mp4", "javascript:alert(1)", "data:video/mp4;base64,AAAA",
                                 "/local/path.mp4", "gopher://x/1"])
async def test_other_schemes_are_refused(tmp_path: Path, url: str) -> None:
    """Only http(s) and file:// are fetched; anything else is refused without a request."""
    server = Server(video())
    with pytest.raises(DownloadError, match="not a web URL"):
        await download_video(url, tmp_path / "out.mp4", transport=server.transport)
    assert server.requests == 0
    assert leftovers(tmp_path) == []
