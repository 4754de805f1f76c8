"""Deploy the app to a Hugging Face Space: check locally, plan against the Space's file list, then write."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from huggingface_hub import CommitOperationAdd, CommitOperationDelete, RepoFile, Volume
from huggingface_hub.errors import RepositoryNotFoundError

from ..core.errors import ConfigError, DeployError
from .files import LocalFile, app_files, check_no_secrets, project_root, watched_secrets
from .hub import Hub
from .plan import Plan, RemoteFile, VolumeMount, diff

__all__ = ["DeployRequest", "deploy"]


@dataclass(frozen=True)
class DeployRequest:
    """The deploy command's arguments, already parsed."""

    repo_id: str
    private: bool = False
    secrets: tuple[str, ...] = ()
    variables: Mapping[str, str] = field(default_factory=dict)
    hardware: str | None = None
    volumes: tuple[tuple[str, str], ...] = ()  # (bucket, mount path)
    dry_run: bool = False


def deploy(request: DeployRequest, *, environ: Mapping[str, str] = os.environ) -> int:
    """Run one deploy, printing the plan and the next steps; a refusal raises ConfigError or DeployError."""
    secrets = _read_secrets(request.secrets, environ)
    files = app_files(project_root())
    token = Hub.token()
    watched = watched_secrets(secrets, environ, token)
    # Before any call to the Hub: even the preupload call sends the first bytes of every file.
    check_no_secrets(files, watched, request.variables)
    if token is None:
        raise ConfigError("no Hugging Face token: set HF_TOKEN or log in with `hf auth login`")
    hub = Hub(token, redact=watched.values())
    _check_can_write(hub)
    plan = _plan(hub, request, files)
    print("\n".join(plan.lines()))
    if request.dry_run:
        print("Dry run: nothing was changed on the Hub (it was only read: the token's user, the Space and its files).")
        return 0
    commit = _apply(hub, plan, files, secrets)
    _print_next_steps(hub, plan, commit)
    return 0


def _read_secrets(names: tuple[str, ...], environ: Mapping[str, str]) -> dict[str, str]:
    missing = [name for name in names if not environ.get(name)]
    if missing:
        raise ConfigError(f"--secret {missing[0]}: the environment variable {missing[0]} is not set (or empty); "
                          "export it first. Nothing was sent")
    return {name: environ[name] for name in names}


def _check_can_write(hub: Hub) -> None:
    with hub.step("check the token"):
        me = hub.api.whoami()
    role = (me.get("auth") or {}).get("accessToken", {}).get("role")
    if role == "read":
        raise DeployError(f"the token of {me.get('name', 'this user')} is read-only; create one with write access "
                          f"at {hub.endpoint}/settings/tokens and set HF_TOKEN to it. Nothing was sent")


def _plan(hub: Hub, request: DeployRequest, files: list[LocalFile]) -> Plan:
    repo_id = request.repo_id
    with hub.step(f"look up the Space {repo_id}"):
        try:
            info = hub.api.space_info(repo_id)
        except RepositoryNotFoundError:
            info = None
    remote: dict[str, RemoteFile] = {}
    if info is not None:
        with hub.step(f"list the files of the Space {repo_id}"):
            # Listed at the head that the commit will name as its parent, so the deletes match what is there.
            for item in hub.api.list_repo_tree(repo_id, repo_type="space", recursive=True, revision=info.sha):
                if isinstance(item, RepoFile):
                    remote[item.path] = RemoteFile(item.blob_id, item.lfs.sha256 if item.lfs else None)
    add, update, delete, unchanged = diff(files, remote)
    owner = repo_id.split("/")[0]
    return Plan(
        repo_id=repo_id, url=hub.space_url(repo_id), create=info is None, private=request.private,
        make_private=request.private and info is not None and not info.private,
        add=add, update=update, delete=delete, unchanged=unchanged,
        secrets=list(request.secrets), variables=dict(request.variables), hardware=request.hardware,
        volumes=[VolumeMount(b if "/" in b else f"{owner}/{b}", path) for b, path in request.volumes],
        parent_commit=info.sha if info is not None else None,
    )


def _apply(hub: Hub, plan: Plan, files: list[LocalFile], secrets: Mapping[str, str]) -> str | None:
    """Settings first, so the build that the commit starts already has them; returns the new commit id."""
    repo_id = plan.repo_id
    pay = (f"Gradio Spaces on compute and upgraded hardware need a payment method or a PRO/Team plan "
           f"({hub.endpoint}/settings/billing)")
    volumes = [Volume(type="bucket", source=v.bucket, mount_path=v.mount_path) for v in plan.volumes]
    if plan.create:
        hints = {402: pay, 403: f"the token may not create repositories in the namespace {repo_id.split('/')[0]}",
                 409: "that name is already used by another repository (a model or a dataset?); choose another name"}
        with hub.step(f"create the Space {repo_id}", hints):
            hub.api.create_repo(
                repo_id, repo_type="space", space_sdk="gradio", private=True if plan.private else None,
                space_hardware=plan.hardware, space_volumes=volumes or None,
                space_secrets=[{"key": k, "value": v} for k, v in secrets.items()] or None,
                space_variables=[{"key": k, "value": v} for k, v in plan.variables.items()] or None,
            )
    else:
        denied = {403: f"the token may not change the Space {repo_id}"}
        # Hardware first: it is the likeliest refusal (402), and then nothing else has changed yet.
        if plan.hardware:
            with hub.step(f"request the hardware {plan.hardware}", {**denied, 402: pay}):
                hub.api.request_space_hardware(repo_id, plan.hardware)
        if plan.make_private:
            with hub.step(f"make the Space {repo_id} private", denied):
                hub.api.update_repo_settings(repo_id, private=True, repo_type="space")
        for name, value in secrets.items():
            with hub.step(f"set the secret {name}", denied):
                hub.api.add_space_secret(repo_id, name, value)
        for name, value in plan.variables.items():
            with hub.step(f"set the variable {name}", denied):
                hub.api.add_space_variable(repo_id, name, value)
        if volumes:
            with hub.step("mount the volumes", denied):
                hub.api.set_space_volumes(repo_id, volumes)
    if not plan.changes_files:
        return None
    changed = set(plan.add) | set(plan.update)
    operations = [CommitOperationAdd(path_in_repo=f.path, path_or_fileobj=f.data) for f in files if f.path in changed]
    operations += [CommitOperationDelete(path_in_repo=path) for path in plan.delete]
    summary = f"{len(plan.add)} added, {len(plan.update)} updated, {len(plan.delete)} deleted"
    with hub.step(f"upload the app to {repo_id}", {403: f"the token may not write to {repo_id}",
                                                   412: "the Space changed during the deploy; run it again"}):
        info = hub.api.create_commit(repo_id, repo_type="space", operations=operations, parent_commit=plan.parent_commit,
                                     commit_message=f"Deploy Avatar Demo ({summary})")
    return info.oid


def _print_next_steps(hub: Hub, plan: Plan, commit: str | None) -> None:
    if commit:
        print(f"Deployed: {len(plan.add)} added, {len(plan.update)} updated, {len(plan.delete)} deleted "
              f"(commit {commit[:7]}).")
    else:
        print("The Space's files were already up to date: no commit.")
    print(f"Space: {plan.url}")
    print(f"Watch the build: {plan.url}?logs=build")
    if not plan.secrets:
        print(f"Next: without a provider key the app runs the free offline preview. Add one as a secret, e.g. "
              f"`FAL_KEY=... python -m avatar_demo deploy {plan.repo_id} --secret FAL_KEY`, or at {plan.url}/settings")
    if plan.create and not plan.volumes:
        print(f"Note: history and videos live on the Space's ephemeral disk; to keep them, mount a storage bucket "
              f"at /data with --volume {plan.repo_id.split('/')[0]}/avatar-data:/data")
