"""The deploy plan: which files are added, updated, kept or deleted, and what the printed plan shows."""

from __future__ import annotations

import hashlib

from avatar_demo.space.files import LocalFile
from avatar_demo.space.plan import Plan, RemoteFile, diff


def test_diff_compares_git_blob_ids_and_lfs_hashes_and_never_deletes_gitattributes() -> None:
    app, big, readme = LocalFile("app.py", b"print(1)\n"), LocalFile("avatar_demo/a.bin", b"\0" * 10), LocalFile(
        "README.md", b"new")
    remote = {
        "app.py": RemoteFile(app.git_oid),  # same bytes as a regular file
        "avatar_demo/a.bin": RemoteFile("pointer-blob-id", hashlib.sha256(big.data).hexdigest()),  # same bytes in LFS
        "README.md": RemoteFile(LocalFile("README.md", b"old").git_oid),
        ".gitattributes": RemoteFile("x"),
        "old.py": RemoteFile("y"),
    }
    assert diff([app, big, readme, LocalFile("new.py", b"")], remote) == (["new.py"], ["README.md"], ["old.py"], 2)


def test_git_oid_is_the_blob_id_git_computes() -> None:
    # `printf 'hello\n' | git hash-object --stdin`
    assert LocalFile("x", b"hello\n").git_oid == "ce013625030ba8dba906f756967f9e9ca394464a"


def test_printed_plan_names_secrets_but_shows_variables() -> None:
    plan = Plan("alice/demo", "https://hub/spaces/alice/demo", create=False, make_private=True, add=["app.py"],
                delete=["old.py"], unchanged=3, secrets=["FAL_KEY"], variables={"MODE": "fast"}, hardware="t4-small")
    assert plan.lines() == [
        "Plan: update the Space alice/demo and make it private",
        "  url       https://hub/spaces/alice/demo",
        "  add       app.py",
        "  delete    old.py",
        "  unchanged 3 file(s)",
        "  secret    FAL_KEY (value from the local environment, not shown)",
        "  variable  MODE=fast",
        "  hardware  t4-small",
    ]
