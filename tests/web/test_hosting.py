"""Publishing media for URL-only gateways: a folder per job, a real loopback server, and the host chosen by settings."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from avatar_demo.app.config import load_settings
from avatar_demo.app.services import media_host_for
from avatar_demo.core.errors import ConfigError
from avatar_demo.jobs import MediaHost
from avatar_demo.web.hosting import MEDIA_ROUTE, DirectoryHost, HubDatasetHost, LoopbackFileServer

pytestmark = pytest.mark.anyio


@pytest.fixture
def portrait(tmp_path: Path) -> Path:
    path = tmp_path / "inputs" / "portrait photo.jpg"
    path.parent.mkdir()
    path.write_bytes(b"\xff\xd8\xff\xe0 a jpeg " + bytes(range(256)))
    return path


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LoopbackFileServer, DirectoryHost]]:
    """A LoopbackFileServer on 127.0.0.1 (shared by the module; each test uses its own folders)."""
    server = LoopbackFileServer(tmp_path_factory.mktemp("served"))
    with server as host:
        yield server, host


@pytest.fixture
async def web() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(trust_env=False, follow_redirects=False) as client:
        yield client


def url_for(folder: str, name: str) -> str:
    return f"https://app.example/m/{folder}/{name}"


async def test_directory_host_copies_into_a_folder_per_job(tmp_path: Path, portrait: Path) -> None:
    """publish() copies the file into <dir>/<folder>/<name> and returns url_for(folder, name)."""
    host = DirectoryHost(tmp_path / "public", url_for)
    url = await host.publish("job-a", portrait)
    assert url == "https://app.example/m/job-a/portrait photo.jpg"
    copy = tmp_path / "public" / "job-a" / portrait.name
    assert copy.read_bytes() == portrait.read_bytes()
    assert portrait.exists()
    assert isinstance(host, MediaHost)


async def test_withdraw_removes_only_that_job(tmp_path: Path, portrait: Path) -> None:
    """withdraw(folder) deletes that job's folder, keeps other jobs', and is quiet when already gone."""
    host = DirectoryHost(tmp_path / "public", url_for)
    await host.publish("job-a", portrait)
    await host.publish("job-b", portrait)
    await host.withdraw("job-a")
    assert sorted(p.name for p in (tmp_path / "public").iterdir()) == ["job-b"]
    await host.withdraw("job-a")
    await host.withdraw("never-published")
    assert (tmp_path / "public" / "job-b" / portrait.name).is_file()


async def test_loopback_server_serves_a_published_file(served: tuple[LoopbackFileServer, DirectoryHost],
                                                      portrait: Path, web: httpx.AsyncClient) -> None:
    """A published file is downloadable from its URL on 127.0.0.1, byte for byte (names are URL-quoted)."""
    server, host = served
    url = await host.publish("serve789", portrait)
    assert url == f"{server.base_url}/serve789/portrait%20photo.jpg"
    assert server.base_url.startswith("http://127.0.0.1:")
    reply = await web.get(url)
    assert reply.status_code == 200
    assert reply.content == portrait.read_bytes()


async def test_loopback_server_forgets_a_withdrawn_file(served: tuple[LoopbackFileServer, DirectoryHost],
                                                       portrait: Path, web: httpx.AsyncClient) -> None:
    """After withdraw() the file's URL answers 404."""
    _, host = served
    url = await host.publish("gone456", portrait)
    assert (await web.get(url)).status_code == 200
    await host.withdraw("gone456")
    assert (await web.get(url)).status_code == 404


@pytest.mark.parametrize("path", ["/", "/tok123/", "/tok123", "/other/"])
async def test_loopback_server_never_lists_a_directory(served: tuple[LoopbackFileServer, DirectoryHost],
                                                      portrait: Path, web: httpx.AsyncClient, path: str) -> None:
    """Folders are never listed: the root and a job folder answer 404 (after at most a redirect), no names leak."""
    server, host = served
    await host.publish("tok123", portrait)
    await host.publish("other", portrait)
    reply = await web.get(server.base_url + path, follow_redirects=True)
    assert reply.status_code == 404
    assert b"tok123" not in reply.content and b"portrait" not in reply.content


async def test_loopback_server_uses_a_given_public_url(tmp_path: Path, portrait: Path) -> None:
    """With public_url the host's URLs start with it (trailing slash dropped) instead of the bound address."""
    with LoopbackFileServer(tmp_path / "public", public_url="https://tunnel.example/media/") as host:
        url = await host.publish("tok", portrait)
    assert url == "https://tunnel.example/media/tok/portrait%20photo.jpg"
    assert (tmp_path / "public" / "tok" / portrait.name).is_file()


def test_closing_a_server_that_was_never_started_returns(tmp_path: Path) -> None:
    """close() on a server that was built but never entered releases its port instead of hanging."""
    server = LoopbackFileServer(tmp_path / "public")
    closer = threading.Thread(target=server.close, daemon=True)
    closer.start()
    closer.join(timeout=1)  # a hang detector, not a timing assertion: close() has nothing to wait for
    assert not closer.is_alive()


def test_media_host_is_a_hub_dataset_when_one_is_set(tmp_path: Path) -> None:
    """AVATAR_HF_DATASET (with HF_TOKEN) picks the Hub dataset host, even when a public URL is known."""
    settings = load_settings({"AVATAR_HF_DATASET": "me/media", "HF_TOKEN": "hf_x",
                              "AVATAR_PUBLIC_URL": "https://app.example"}, space_volume=tmp_path / "none")
    host = media_host_for(settings, tmp_path / "public")
    assert isinstance(host, HubDatasetHost)
    assert host.repo_id == "me/media"


def test_hub_dataset_without_a_token_names_hf_token(tmp_path: Path) -> None:
    """A Hub dataset without HF_TOKEN is a ConfigError naming HF_TOKEN."""
    settings = load_settings({"AVATAR_HF_DATASET": "me/media"}, space_volume=tmp_path / "none")
    with pytest.raises(ConfigError, match="HF_TOKEN"):
        media_host_for(settings, tmp_path / "public")


async def test_media_host_is_the_apps_own_route_at_its_public_url(tmp_path: Path, portrait: Path) -> None:
    """With only a public URL, media are copied under the directory and served at <url>/avatar-demo/media/..."""
    settings = load_settings({"AVATAR_PUBLIC_URL": "https://app.example/"}, space_volume=tmp_path / "none")
    host = media_host_for(settings, tmp_path / "public")
    assert isinstance(host, DirectoryHost)
    url = await host.publish("tok", portrait)
    assert MEDIA_ROUTE == "/avatar-demo/media"
    assert url == "https://app.example/avatar-demo/media/tok/portrait%20photo.jpg"
    assert (tmp_path / "public" / "tok" / portrait.name).is_file()


def test_no_media_host_without_a_public_address(tmp_path: Path) -> None:
    """Without a dataset or a public URL nothing can publish media: None."""
    assert media_host_for(load_settings({}, space_volume=tmp_path / "none"), tmp_path / "public") is None
