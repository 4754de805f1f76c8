"""Publish prepared media at a URL a URL-only gateway (crun.ai, fal.ai) can fetch: the MediaHost implementations."""

from __future__ import annotations

import asyncio
import functools
import http.server
import shutil
import threading
import urllib.parse
from collections.abc import Callable
from pathlib import Path

from ..core.errors import ConfigError

__all__ = ["MEDIA_ROUTE", "DirectoryHost", "HubDatasetHost", "LoopbackFileServer"]

#: Where the app serves published media (see files.py).
MEDIA_ROUTE = "/avatar-demo/media"


class DirectoryHost:
    """Copies files into a folder per job of a directory some web server already serves.

    The app serves it on its own route (`/avatar-demo/media/<folder>/<name>`) behind its public
    address; the CLI and tests use LoopbackFileServer.
    """

    def __init__(self, directory: Path, url_for: Callable[[str, str], str]) -> None:
        self.directory = Path(directory).resolve()
        self._url_for = url_for

    async def publish(self, folder: str, path: Path) -> str:
        """Copy *path* into the job's folder and return its URL."""
        target = self.directory / folder / Path(path).name
        target.parent.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(shutil.copyfile, path, target)
        return self._url_for(folder, target.name)

    async def withdraw(self, folder: str) -> None:
        """Delete the job's folder."""
        await asyncio.to_thread(shutil.rmtree, self.directory / folder, True)


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
        return DirectoryHost(self.directory, lambda folder, name: f"{self.base_url}/{folder}/{urllib.parse.quote(name)}")

    def close(self) -> None:
        """Stop serving (a server that never started has nothing to shut down)."""
        if self._thread.is_alive():
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

    async def publish(self, folder: str, path: Path) -> str:
        """Upload *path* under the job's folder and return its public resolve URL."""
        path_in_repo = f"avatar-demo/{folder}/{Path(path).name}"
        await asyncio.to_thread(
            self._api.upload_file,
            path_or_fileobj=str(path),
            path_in_repo=path_in_repo,
            repo_id=self.repo_id,
            repo_type="dataset",
            commit_message="avatar-demo: media for one generation",
        )
        return f"{self._endpoint}/datasets/{self.repo_id}/resolve/main/{path_in_repo}"

    async def withdraw(self, folder: str) -> None:
        """Delete the job's folder from the dataset."""
        from huggingface_hub.errors import EntryNotFoundError

        try:
            await asyncio.to_thread(self._api.delete_folder, path_in_repo=f"avatar-demo/{folder}", repo_id=self.repo_id,
                                    repo_type="dataset", commit_message="avatar-demo: media no longer needed")
        except EntryNotFoundError:
            pass
