"""A small in-memory fake of the Hugging Face Hub's HTTP API: what huggingface_hub 2.4.0 calls to deploy a Space."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from avatar_demo.web.serving import ThreadedServer

__all__ = ["Call", "FakeHub", "Repo", "READ_TOKEN", "WRITE_TOKEN", "git_oid"]

WRITE_TOKEN = "hf_alice_write_token_0123456789"
READ_TOKEN = "hf_alice_read_token_0123456789"
#: What the Hub puts in a new Space: its LFS rules and a README with the Space config.
GITATTRIBUTES = b"*.bin filter=lfs diff=lfs merge=lfs -text\n"
FREE_HARDWARE = "cpu-basic"


def git_oid(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _sha() -> str:
    return uuid.uuid4().hex + uuid.uuid4().hex[:8]


class Refusal(Exception):
    """Answered as the Hub answers errors: a JSON {"error"} body plus the X-Error-* headers hfh reads."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


@dataclass
class Call:
    """One request the fake received."""

    method: str
    path: str
    body: Any
    token: str | None

    @property
    def route(self) -> str:
        return f"{self.method} {self.path}"


@dataclass
class Repo:
    """A repository and, for a Space, its settings."""

    type: str
    id: str
    files: dict[str, bytes] = field(default_factory=dict)
    private: bool = False
    sdk: str | None = None
    sha: str = field(default_factory=_sha)
    secrets: dict[str, str] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)
    hardware: str = FREE_HARDWARE
    volumes: list[dict[str, Any]] = field(default_factory=list)
    commits: list[list[dict[str, Any]]] = field(default_factory=list)


@dataclass
class FakeHub:
    """State, knobs and the ASGI app; `billing=False` makes upgraded hardware answer 402."""

    tokens: dict[str, dict[str, Any]] = field(default_factory=lambda: {
        WRITE_TOKEN: {"name": "alice", "role": "write", "orgs": ["avatar-team"]},
        READ_TOKEN: {"name": "alice", "role": "read", "orgs": ["avatar-team"]},
    })
    repos: dict[tuple[str, str], Repo] = field(default_factory=dict)
    billing: bool = True
    #: Route name -> status (and optionally the error message), for unexpected failures.
    faults: dict[str, int | tuple[int, str]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    url: str = ""  # set once served

    # -- test helpers -------------------------------------------------------------------------------------------
    def add_repo(self, repo_type: str, repo_id: str, files: dict[str, bytes] | None = None, **kw: Any) -> Repo:
        repo = Repo(repo_type, repo_id, files=dict(files or {}), **kw)
        self.repos[(repo_type, repo_id)] = repo
        return repo

    def space(self, repo_id: str) -> Repo:
        return self.repos[("space", repo_id)]

    def writes(self) -> list[Call]:
        """Every call that sends something: only GETs merely read."""
        return [c for c in self.calls if c.method != "GET"]

    def serve(self) -> ThreadedServer:
        routes = [
            ("whoami", "GET", "/api/whoami-v2", self._whoami),
            ("create", "POST", "/api/repos/create", self._create),
            ("validate-yaml", "POST", "/api/validate-yaml", self._validate_yaml),
            ("info", "GET", "/api/spaces/{ns}/{name}", self._info),
            ("info", "GET", "/api/spaces/{ns}/{name}/revision/{rev}", self._info),
            ("tree", "GET", "/api/spaces/{ns}/{name}/tree/{rev}", self._tree),
            ("settings", "PUT", "/api/spaces/{ns}/{name}/settings", self._settings),
            ("secrets", "POST", "/api/spaces/{ns}/{name}/secrets", self._secret),
            ("variables", "POST", "/api/spaces/{ns}/{name}/variables", self._variable),
            ("hardware", "POST", "/api/spaces/{ns}/{name}/hardware", self._hardware),
            ("volumes", "PUT", "/api/spaces/{ns}/{name}/volumes", self._volumes),
            ("preupload", "POST", "/api/spaces/{ns}/{name}/preupload/{rev}", self._preupload),
            ("commit", "POST", "/api/spaces/{ns}/{name}/commit/{rev}", self._commit),
        ]
        app = Starlette(routes=[Route(path, self._wrap(name, handler), methods=[method])
                                for name, method, path, handler in routes])
        app.add_exception_handler(404, self._unknown)
        return ThreadedServer(app, name="fake-hub")

    # -- plumbing ------------------------------------------------------------------------------------------------
    def _wrap(self, name: str, handler: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            raw = await request.body()
            self.calls.append(Call(request.method, request.url.path, _parse(request, raw), _token(request)))
            try:
                if name in self.faults:
                    fault = self.faults[name]
                    status, message = fault if isinstance(fault, tuple) else (fault, "Internal Error")
                    raise Refusal(status, message)
                return JSONResponse(await handler(request, raw))
            except Refusal as exc:
                headers = {"X-Error-Message": exc.message, **({"X-Error-Code": exc.code} if exc.code else {})}
                return JSONResponse({"error": exc.message}, status_code=exc.status, headers=headers)
        return endpoint

    async def _unknown(self, request: Request, exc: Exception) -> Response:
        # Unrouted paths (e.g. hfh's daily GET /api/agent-harnesses) are recorded too, and answered 404.
        self.calls.append(Call(request.method, request.url.path, None, _token(request)))
        return JSONResponse({"error": "Sorry, we can't find the page you are looking for."}, status_code=404)

    def _user(self, request: Request) -> dict[str, Any]:
        user = self.tokens.get(_token(request) or "")
        if user is None:
            raise Refusal(401, "Invalid credentials in Authorization header")
        return user

    def _writer(self, request: Request, namespace: str) -> dict[str, Any]:
        user = self._user(request)
        if user["role"] == "read":
            raise Refusal(403, "You don't have the rights to write with a read access token")
        if namespace not in (user["name"], *user["orgs"]):
            raise Refusal(403, f'You don\'t have the rights to create a space under the namespace "{namespace}"')
        return user

    def _readable(self, request: Request) -> Repo:
        user = self._user(request)
        ns, name = request.path_params["ns"], request.path_params["name"]
        repo = self.repos.get(("space", f"{ns}/{name}"))
        if repo is None or (repo.private and ns not in (user["name"], *user["orgs"])):
            raise Refusal(404, "Repository not found", "RepoNotFound")
        return repo

    def _writable(self, request: Request) -> Repo:
        repo = self._readable(request)
        self._writer(request, request.path_params["ns"])
        return repo

    def _check_hardware(self, flavor: str | None) -> None:
        if flavor and flavor != FREE_HARDWARE and not self.billing:
            raise Refusal(402, f"Payment required: add a payment method to your account to use {flavor} hardware")

    # -- routes ----------------------------------------------------------------------------------------------------
    async def _whoami(self, request: Request, raw: bytes) -> Any:
        user = self._user(request)
        return {"type": "user", "name": user["name"], "fullname": user["name"].title(), "avatarUrl": "/a.png",
                "orgs": [{"type": "org", "name": org} for org in user["orgs"]],
                "auth": {"type": "access_token", "accessToken": {"displayName": "test", "role": user["role"]}}}

    async def _create(self, request: Request, raw: bytes) -> Any:
        body = json.loads(raw)
        user = self._user(request)
        ns = body.get("organization") or user["name"]
        repo_id, repo_type = f"{ns}/{body['name']}", body.get("type", "model")
        self._writer(request, ns)
        for kind, existing in self.repos:
            if existing.lower() == repo_id.lower():
                raise Refusal(409, f"You already created this {kind} repo")
        self._check_hardware(body.get("hardware"))
        readme = f"---\ntitle: {body['name']}\nsdk: {body.get('sdk')}\n---\n".encode()
        self.add_repo(repo_type, repo_id, {".gitattributes": GITATTRIBUTES, "README.md": readme},
                      private=body.get("visibility") == "private", sdk=body.get("sdk"),
                      secrets={s["key"]: s["value"] for s in body.get("secrets") or []},
                      variables={v["key"]: v["value"] for v in body.get("variables") or []},
                      hardware=body.get("hardware") or FREE_HARDWARE, volumes=list(body.get("volumes") or []))
        return {"url": f"https://huggingface.co/{'spaces/' if repo_type == 'space' else ''}{repo_id}"}

    async def _validate_yaml(self, request: Request, raw: bytes) -> Any:
        return {"errors": [], "warnings": []}

    async def _info(self, request: Request, raw: bytes) -> Any:
        repo = self._readable(request)
        return {"id": repo.id, "sha": repo.sha, "private": repo.private, "sdk": repo.sdk,
                "siblings": [{"rfilename": path} for path in sorted(repo.files)]}

    async def _tree(self, request: Request, raw: bytes) -> Any:
        repo = self._readable(request)
        if request.path_params["rev"] not in ("main", repo.sha):
            raise Refusal(404, "Invalid rev id", "RevisionNotFound")
        folders = {"/".join(p.split("/")[:i]) for p in repo.files for i in range(1, p.count("/") + 1)}
        return ([{"type": "directory", "oid": git_oid(d.encode()), "size": 0, "path": d} for d in sorted(folders)]
                + [{"type": "file", "oid": git_oid(data), "size": len(data), "path": path}
                   for path, data in sorted(repo.files.items())])

    async def _settings(self, request: Request, raw: bytes) -> Any:
        repo = self._writable(request)
        repo.private = json.loads(raw).get("visibility", "private" if repo.private else "public") == "private"
        return {}

    async def _secret(self, request: Request, raw: bytes) -> Any:
        body = json.loads(raw)
        self._writable(request).secrets[body["key"]] = body["value"]
        return {}

    async def _variable(self, request: Request, raw: bytes) -> Any:
        body = json.loads(raw)
        repo = self._writable(request)
        repo.variables[body["key"]] = body["value"]
        return {key: {"value": value} for key, value in repo.variables.items()}

    async def _hardware(self, request: Request, raw: bytes) -> Any:
        repo = self._writable(request)
        flavor = json.loads(raw)["flavor"]
        self._check_hardware(flavor)
        repo.hardware = flavor
        return {"stage": "BUILDING", "hardware": {"current": None, "requested": flavor}, "gcTimeout": None}

    async def _volumes(self, request: Request, raw: bytes) -> Any:
        self._writable(request).volumes = json.loads(raw)["volumes"]
        return {}

    async def _preupload(self, request: Request, raw: bytes) -> Any:
        repo = self._writable(request)
        # Everything "regular": no LFS or xet traffic. The oid of a file already there lets hfh skip it.
        return {"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False,
                           "oid": git_oid(repo.files[f["path"]]) if f["path"] in repo.files else None}
                          for f in json.loads(raw)["files"]]}

    async def _commit(self, request: Request, raw: bytes) -> Any:
        repo = self._writable(request)
        lines = [json.loads(line) for line in raw.splitlines() if line.strip()]
        header = lines[0]["value"]
        if header.get("parentCommit") not in (None, repo.sha):
            raise Refusal(412, "A commit has happened since. Please refresh and try again.")
        files = dict(repo.files)
        for line in lines[1:]:
            path = line["value"]["path"]
            if line["key"] == "file":
                files[path] = base64.b64decode(line["value"]["content"])
            elif line["key"] == "deletedFile" and path in files:
                del files[path]
            else:
                raise Refusal(404 if line["key"] == "deletedFile" else 400, f"fake hub cannot {line['key']} {path}",
                              "EntryNotFound" if line["key"] == "deletedFile" else None)
        repo.files, repo.sha = files, _sha()
        repo.commits.append(lines)
        return {"commitUrl": f"https://huggingface.co/spaces/{repo.id}/commit/{repo.sha}", "commitOid": repo.sha}


def _token(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    return auth[7:] if auth.lower().startswith("bearer ") else None


def _parse(request: Request, raw: bytes) -> Any:
    if not raw:
        return None
    if "ndjson" in request.headers.get("content-type", ""):
        return [json.loads(line) for line in raw.splitlines() if line.strip()]
    try:
        return json.loads(raw)
    except ValueError:
        return raw
