"""Publish prepared media at a URL a URL-only gateway (crun.ai) can fetch."""

from __future__ import annotations

import asyncio
import functools
import http.server
import secrets
import shutil
import threading
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from .errors import ConfigError

if TYPE_CHECKING:
    from .config import Settings

__all__ = ["DirectoryHost", "HubDatasetHost", "LoopbackFileServer", "MediaHost", "media_host_for"]


@runtime_checkable
class MediaHost(Protocol):
    """Somewhere a file can be put so that a gateway can download it."""

    async def publish(self, path: Path) -> str:
        """Make *path* downloadable and return its public URL."""
        ...


class DirectoryHost:
    """Copies files under an unguessable folder of a directory some web server already serves.

    The app uses it with Gradio's own file route (`/gradio_api/file=<path>`) and the public
    address from AVATAR_PUBLIC_URL or the Space's host; the CLI and tests with LoopbackFileServer.
    """

    def __init__(self, directory: Path, url_for: Callable[[Path], str]) -> None:
        self.directory = Path(directory).resolve()
        self._url_for = url_for

    @classmethod
    def behind_gradio(cls, directory: Path, public_url: str) -> DirectoryHost:
        """Files served by the Gradio app itself, reachable at *public_url*."""
        base = public_url.rstrip("/")
        return cls(directory, lambda path: f"{base}/gradio_api/file={urllib.parse.quote(str(path))}")

    async def publish(self, path: Path) -> str:
        """Copy *path* into a fresh random folder and return its URL."""
        folder = self.directory / secrets.token_urlsafe(18)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / Path(path).name
        await asyncio.to_thread(shutil.copyfile, path, target)
        return self._url_for(target)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass

    def list_directory(self, path: str):  # type: ignore[no-untyped-def]
        self.send_error(404)  # never list the published folders
        return None


class LoopbackFileServer:
    """A static file server on one address, for the CLI and tests (a gateway on this machine)."""

    def __init__(self, directory: Path, *, host: str = "127.0.0.1", port: int = 0, public_url: str | None = None) -> None:
        self.directory = Path(directory).resolve()
        self.directory.mkdir(parents=True, exist_ok=True)
        handler = functools.partial(_QuietHandler, directory=str(self.directory))
        self._server = http.server.ThreadingHTTPServer((host, port), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="media-host", daemon=True)
        bound_host, bound_port = self._server.server_address[:2]
        self.base_url = (public_url or f"http://{bound_host}:{bound_port}").rstrip("/")

    def __enter__(self) -> DirectoryHost:
        self._thread.start()
        return self.host()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def host(self) -> DirectoryHost:
        """A DirectoryHost whose URLs this server answers."""

        def url_for(path: Path) -> str:
            return f"{self.base_url}/{urllib.parse.quote(str(path.relative_to(self.directory)))}"

        return DirectoryHost(self.directory, url_for)

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()


class HubDatasetHost:
    """Uploads files to a Hugging Face dataset repo and returns their resolve URLs."""

    def __init__(self, repo_id: str, token: str | None, *, endpoint: str | None = None) -> None:
        if not token:
            raise ConfigError("Publishing through a Hugging Face dataset needs HF_TOKEN (a write token)")
        from huggingface_hub import HfApi

        self.repo_id = repo_id
        self._api = HfApi(token=token, endpoint=endpoint)
        self._endpoint = (endpoint or "https://huggingface.co").rstrip("/")

    async def publish(self, path: Path) -> str:
        """Upload *path* under a random folder and return its public resolve URL."""
        path_in_repo = f"avatar-demo/{secrets.token_urlsafe(18)}/{Path(path).name}"
        await asyncio.to_thread(
            self._api.upload_file,
            path_or_fileobj=str(path),
            path_in_repo=path_in_repo,
            repo_id=self.repo_id,
            repo_type="dataset",
            commit_message="avatar-demo: media for one generation",
        )
        return f"{self._endpoint}/datasets/{self.repo_id}/resolve/main/{path_in_repo}"


def media_host_for(settings: Settings) -> MediaHost | None:
    """The configured media host for URL-only gateways: a Hub dataset when AVATAR_HF_DATASET is set."""
    if settings.hf_dataset:
        return HubDatasetHost(settings.hf_dataset, settings.hf_token)
    return None
