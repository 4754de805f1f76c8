"""Throwaway real servers for the tests: a PostgreSQL cluster and an nginx, each started in a temp dir on a free port.

Debian's server binaries are used as they are (`.ci/run` and `scripts/test` install them when missing). PostgreSQL
refuses to run as root, so as root the cluster runs as the `postgres` user.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from avatar_demo.web.serving import free_port

__all__ = ["NGINX", "PG_BIN", "nginx", "postgres"]

#: Debian's server binaries, newest version installed.
PG_BIN = max(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name) if p.parent.name.isdigit()
             else 0, default=Path("/usr/lib/postgresql/15/bin"))
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def _as_postgres(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextlib.contextmanager
def postgres() -> Iterator[str]:
    """A fresh cluster with one database; yields its URL (postgresql://postgres@127.0.0.1:PORT/avatar)."""
    if not (PG_BIN / "initdb").exists():
        raise RuntimeError(f"PostgreSQL server binaries are missing ({PG_BIN}): apt-get install postgresql")
    root = Path(tempfile.mkdtemp(prefix="avatar-pg-"))
    sock = root / "sock"
    sock.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        shutil.chown(sock, "postgres", "postgres")
    port = free_port()
    data = root / "data"

    def run(*command: str) -> None:
        subprocess.run(_as_postgres(list(command)), check=True, cwd=root, capture_output=True)

    run(str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C",
        "--no-sync")
    run(str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(root / "pg.log"), "-w", "-t", "60", "-o",
        f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", "start")
    try:
        run(str(PG_BIN / "createdb"), "-h", str(sock), "-p", str(port), "-U", "postgres", "avatar")
        yield f"postgresql://postgres@127.0.0.1:{port}/avatar"
    finally:
        subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]),
                       cwd=root, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def nginx(config: str) -> Iterator[int]:
    """nginx in the foreground with *config* (its `{port}` and `{root}` filled in); yields the port it listens on."""
    root = Path(tempfile.mkdtemp(prefix="avatar-nginx-"))
    root.chmod(0o755)  # nginx's workers (not root) keep request bodies under it
    port = free_port()
    conf = root / "nginx.conf"
    conf.write_text(config.replace("{port}", str(port)).replace("{root}", str(root)))
    process = subprocess.Popen([NGINX, "-p", str(root), "-c", str(conf), "-g", "daemon off;"],
                               stdout=subprocess.DEVNULL, stderr=(root / "stderr.log").open("wb"))
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError((root / "stderr.log").read_text())
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(10)
        shutil.rmtree(root, ignore_errors=True)
