"""What a deploy will do to the Space, computed before anything is sent, and how it is printed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .files import LocalFile

__all__ = ["KEPT_REMOTE", "Plan", "RemoteFile", "VolumeMount", "diff"]

#: Remote files a deploy never deletes: the Hub's own LFS rules.
KEPT_REMOTE = frozenset({".gitattributes"})


@dataclass(frozen=True)
class RemoteFile:
    """A file already in the Space: its git blob id, or its sha256 when the Hub keeps it in LFS."""

    git_oid: str | None
    lfs_sha256: str | None = None

    def matches(self, local: LocalFile) -> bool:
        return local.sha256 == self.lfs_sha256 if self.lfs_sha256 else local.git_oid == self.git_oid


@dataclass(frozen=True)
class VolumeMount:
    """A storage bucket mounted read-write in the Space."""

    bucket: str
    mount_path: str


@dataclass
class Plan:
    """Every change one deploy makes; secrets are held by name only."""

    repo_id: str
    url: str
    create: bool
    private: bool = False
    make_private: bool = False
    add: list[str] = field(default_factory=list)
    update: list[str] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)
    unchanged: int = 0
    secrets: list[str] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)
    hardware: str | None = None
    volumes: list[VolumeMount] = field(default_factory=list)
    #: The Space's head when it was listed: the commit is refused if someone pushed since, so the deletes stay right.
    parent_commit: str | None = None

    @property
    def changes_files(self) -> bool:
        return bool(self.add or self.update or self.delete)

    def lines(self) -> list[str]:
        """The plan as the lines printed before a deploy (and by --dry-run)."""
        if self.create:
            head = f"create the Space {self.repo_id} (sdk gradio, {'private' if self.private else 'default visibility'})"
        else:
            head = f"update the Space {self.repo_id}" + (" and make it private" if self.make_private else "")
        out = [f"Plan: {head}", f"  url       {self.url}"]
        out += [f"  {verb:<9} {path}" for verb, paths in (("add", self.add), ("update", self.update),
                                                          ("delete", self.delete)) for path in paths]
        if self.unchanged:
            out.append(f"  unchanged {self.unchanged} file(s)")
        out += [f"  secret    {name} (value from the local environment, not shown)" for name in self.secrets]
        out += [f"  variable  {name}={value}" for name, value in self.variables.items()]
        if self.hardware:
            out.append(f"  hardware  {self.hardware}")
        out += [f"  volume    bucket {v.bucket} mounted read-write at {v.mount_path}" for v in self.volumes]
        return out


def diff(local: list[LocalFile], remote: Mapping[str, RemoteFile]) -> tuple[list[str], list[str], list[str], int]:
    """(add, update, delete, unchanged count): remote files that are no longer part of the app are deleted."""
    paths = {f.path for f in local}
    add = [f.path for f in local if f.path not in remote]
    update = [f.path for f in local if f.path in remote and not remote[f.path].matches(f)]
    delete = sorted(p for p in remote if p not in paths and p not in KEPT_REMOTE)
    return add, update, delete, len(local) - len(add) - len(update)
