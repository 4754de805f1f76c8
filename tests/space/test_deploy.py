"""`python -m avatar_demo deploy`, run as a real subprocess against the fake Hub through the real huggingface_hub."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from avatar_demo.web.serving import free_port
from tests.space.conftest import FAL_VALUE, KLING_VALUE, Project, hub_env, run_deploy
from tests.space.fake_hub import GITATTRIBUTES, READ_TOKEN, WRITE_TOKEN, FakeHub

NEW_SPACE_CALLS = [
    "GET /api/whoami-v2",
    "GET /api/spaces/alice/demo",
    "POST /api/repos/create",
    "POST /api/validate-yaml",
    "POST /api/spaces/alice/demo/preupload/main",
    "POST /api/spaces/alice/demo/commit/main",
]
ALL_OPTIONS = ("--private", "--secret", "FAL_KEY", "--variable", "AVATAR_PROVIDER=fal", "--hardware", "cpu-upgrade",
               "--volume", "avatar-data:/data")


def committed(space) -> tuple[set[str], set[str]]:
    """(paths written, paths deleted) by the Space's last commit."""
    lines = space.commits[-1][1:]
    return ({line["value"]["path"] for line in lines if line["key"] == "file"},
            {line["value"]["path"] for line in lines if line["key"] == "deletedFile"})


def assert_no_secret_shown(proc, *values: str) -> None:
    for value in (FAL_VALUE, KLING_VALUE, WRITE_TOKEN, READ_TOKEN, *values):
        assert value not in proc.stdout + proc.stderr


def assert_one_line_refusal(proc, *fragments: str) -> None:
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    for fragment in fragments:
        assert fragment in lines[0]
    assert_no_secret_shown(proc)


def seed_space(hub: FakeHub, project: Project, **kw) -> dict[str, bytes]:
    """An earlier deploy: .gitattributes, an old README, the current app.py, and files the app no longer has."""
    stale = {"old_app.py": b"print('old')\n", "avatar_demo/removed.py": b"x = 1\n", "tests/test_old.py": b"def t(): ...\n"}
    hub.add_repo("space", "alice/demo", {".gitattributes": GITATTRIBUTES, "README.md": b"---\nsdk: gradio\n---\n",
                                         "app.py": (project.root / "app.py").read_bytes(), **stale}, sdk="gradio", **kw)
    return stale


def test_full_deploy_creates_the_space_with_only_the_app_and_its_settings(hub: FakeHub, project: Project,
                                                                            tmp_path: Path) -> None:
    """A new Space: the exact call list, the exact files, secrets/variables/hardware/volume set, nothing leaked."""
    env = hub_env(hub, tmp_path / "hf", FAL_KEY=FAL_VALUE, KLING_SECRET_KEY=KLING_VALUE,
                  KLING_API_KEY="import")  # too short to be a real key, and app.py holds it
    proc = run_deploy(project, "alice/demo", *ALL_OPTIONS, env=env)
    assert b"import" in (project.root / "app.py").read_bytes()
    assert proc.returncode == 0, proc.stderr
    assert [c.route for c in hub.calls] == NEW_SPACE_CALLS
    space = hub.space("alice/demo")
    written, deleted = committed(space)
    assert written == project.expected and not deleted
    assert set(space.files) == project.expected | {".gitattributes"}
    assert all(space.files[p] == (project.root / p).read_bytes() for p in project.expected)
    assert (space.private, space.sdk, space.hardware) == (True, "gradio", "cpu-upgrade")
    assert space.secrets == {"FAL_KEY": FAL_VALUE}
    assert space.variables == {"AVATAR_PROVIDER": "fal"}
    assert space.volumes == [{"type": "bucket", "source": "alice/avatar-data", "mountPath": "/data"}]
    for value in (FAL_VALUE, KLING_VALUE, WRITE_TOKEN):
        assert not any(value.encode() in data for data in space.files.values())
    assert_no_secret_shown(proc)
    assert "secret    FAL_KEY" in proc.stdout
    assert f"Space: {hub.url}/spaces/alice/demo" in proc.stdout and "?logs=build" in proc.stdout
    assert proc.stderr == ""


def test_new_space_without_secrets_says_what_to_do_next(hub: FakeHub, project: Project, tmp_path: Path) -> None:
    """No --secret: public by default, and the output says how to add a key and keep data."""
    proc = run_deploy(project, "alice/demo", env=hub_env(hub, tmp_path / "hf"))
    assert proc.returncode == 0, proc.stderr
    create = next(c for c in hub.calls if c.route == "POST /api/repos/create")
    assert create.body == {"name": "demo", "organization": "alice", "type": "space", "sdk": "gradio"}
    assert "--secret FAL_KEY" in proc.stdout and "/spaces/alice/demo/settings" in proc.stdout
    assert "--volume alice/avatar-data:/data" in proc.stdout


def test_redeploy_sends_changes_and_deletes_stale_files_but_keeps_gitattributes(hub: FakeHub, project: Project,
                                                                             tmp_path: Path) -> None:
    """One commit on top of the listed head: changed files in, unchanged app.py not resent, leftovers out."""
    stale = seed_space(hub, project)
    head = hub.space("alice/demo").sha
    proc = run_deploy(project, "alice/demo", env=hub_env(hub, tmp_path / "hf"))
    assert proc.returncode == 0, proc.stderr
    space = hub.space("alice/demo")
    written, deleted = committed(space)
    assert written == project.expected - {"app.py"}
    assert deleted == set(stale)
    assert space.commits[-1][0]["value"]["parentCommit"] == head
    assert set(space.files) == project.expected | {".gitattributes"}
    assert space.files[".gitattributes"] == GITATTRIBUTES
    assert [c.route for c in hub.calls] == [
        "GET /api/whoami-v2", "GET /api/spaces/alice/demo", f"GET /api/spaces/alice/demo/tree/{head}",
        "POST /api/validate-yaml", "POST /api/spaces/alice/demo/preupload/main",
        "POST /api/spaces/alice/demo/commit/main",
    ]
    assert "delete    old_app.py" in proc.stdout and "update    README.md" in proc.stdout
    assert "unchanged 1 file(s)" in proc.stdout

    hub.calls.clear()
    again = run_deploy(project, "alice/demo", env=hub_env(hub, tmp_path / "hf"))
    assert again.returncode == 0, again.stderr
    assert hub.writes() == [] and len(space.commits) == 1
    assert "already up to date" in again.stdout


def test_redeploy_applies_settings_before_the_commit(hub: FakeHub, project: Project, tmp_path: Path) -> None:
    """An existing public Space: made private, secret, variable, hardware and volume set, then the commit."""
    seed_space(hub, project)
    env = hub_env(hub, tmp_path / "hf", FAL_KEY=FAL_VALUE)
    proc = run_deploy(project, "alice/demo", *ALL_OPTIONS, env=env)
    assert proc.returncode == 0, proc.stderr
    assert [c.route for c in hub.writes()] == [
        "POST /api/spaces/alice/demo/hardware", "PUT /api/spaces/alice/demo/settings",
        "POST /api/spaces/alice/demo/secrets", "POST /api/spaces/alice/demo/variables",
        "PUT /api/spaces/alice/demo/volumes", "POST /api/validate-yaml",
        "POST /api/spaces/alice/demo/preupload/main", "POST /api/spaces/alice/demo/commit/main",
    ]
    space = hub.space("alice/demo")
    assert (space.private, space.hardware, space.secrets, space.variables) == (
        True, "cpu-upgrade", {"FAL_KEY": FAL_VALUE}, {"AVATAR_PROVIDER": "fal"})
    assert space.volumes == [{"type": "bucket", "source": "alice/avatar-data", "mountPath": "/data"}]
    assert_no_secret_shown(proc)


@pytest.mark.parametrize("existing", [False, True], ids=["new", "existing"])
def test_dry_run_prints_the_whole_plan_and_changes_nothing(hub: FakeHub, project: Project, tmp_path: Path,
                                                           existing: bool) -> None:
    stale = seed_space(hub, project) if existing else {}
    before = copy.deepcopy(hub.repos)
    proc = run_deploy(project, "alice/demo", "--dry-run", *ALL_OPTIONS,
                      env=hub_env(hub, tmp_path / "hf", FAL_KEY=FAL_VALUE))
    assert proc.returncode == 0, proc.stderr
    assert hub.writes() == [] and hub.repos == before
    out = proc.stdout
    assert ("update the Space alice/demo and make it private" if existing else
            "create the Space alice/demo (sdk gradio, private)") in out
    adds = project.expected - {"app.py"} if existing else project.expected
    assert all(f"add       {p}" in out or f"update    {p}" in out for p in adds)
    assert all(f"delete    {p}" in out for p in stale)
    for line in ("secret    FAL_KEY (value from the local environment, not shown)", "variable  AVATAR_PROVIDER=fal",
                 "hardware  cpu-upgrade", "volume    bucket alice/avatar-data mounted read-write at /data",
                 "Dry run: nothing was changed"):
        assert line in out
    for junk in ("tests/test_app.py", "benchmarks", "history.sqlite3", "notes.md", ".env", ".venv", ".pyc", "linked"):
        assert junk not in out
    assert_no_secret_shown(proc)


@pytest.mark.parametrize(("path", "label", "args", "env"), [
    ("app.py", "FAL_KEY", ("--secret", "FAL_KEY"), {"FAL_KEY": FAL_VALUE}),
    ("avatar_demo/ui/leaky.py", "KLING_SECRET_KEY", (), {"KLING_SECRET_KEY": KLING_VALUE}),
    ("README.md", "HF_TOKEN", (), {}),
], ids=["named-secret", "app-key-in-environment", "hub-token"])
def test_a_file_holding_a_secret_is_refused_before_anything_is_sent(hub: FakeHub, project: Project, tmp_path: Path,
                                                                    path: str, label: str, args, env) -> None:
    value = env.get(label, WRITE_TOKEN)
    target = project.root / path
    target.write_text((target.read_text() if target.exists() else "") + f"\nKEY = {value!r}\n")
    proc = run_deploy(project, "alice/demo", *args, env=hub_env(hub, tmp_path / "hf", **env))
    assert_one_line_refusal(proc, path, label, "Nothing was sent")
    assert hub.calls == []


def test_a_secret_from_the_cached_login_is_used_and_guarded(hub: FakeHub, project: Project, tmp_path: Path) -> None:
    """No HF_TOKEN: huggingface_hub's cached login is the token, and its value may not be uploaded either."""
    home = tmp_path / "hf"
    home.mkdir()
    (home / "token").write_text(WRITE_TOKEN)
    proc = run_deploy(project, "alice/demo", env=hub_env(hub, home, token=None))
    assert proc.returncode == 0, proc.stderr
    assert {c.token for c in hub.calls} == {WRITE_TOKEN}
    (project.root / "app.py").write_text(f"TOKEN = '{WRITE_TOKEN}'\n")
    hub.calls.clear()
    refused = run_deploy(project, "alice/demo", env=hub_env(hub, home, token=None))
    assert_one_line_refusal(refused, "app.py (your Hugging Face token)")
    assert hub.calls == []


@pytest.mark.parametrize(("args", "env", "token", "fragments"), [
    (("--secret", "FAL_KEY"), {}, WRITE_TOKEN, ("--secret FAL_KEY", "FAL_KEY is not set")),
    (("--secret", "FAL_KEY", "--variable", f"PUBLIC={FAL_VALUE}"), {"FAL_KEY": FAL_VALUE}, WRITE_TOKEN,
     ("variable PUBLIC holds the value of FAL_KEY",)),
    ((), {}, None, ("no Hugging Face token", "HF_TOKEN")),
], ids=["secret-not-set", "variable-holds-secret", "no-token"])
def test_local_refusals_are_one_line_and_send_nothing(hub: FakeHub, project: Project, tmp_path: Path,
                                                      args, env, token, fragments) -> None:
    proc = run_deploy(project, "alice/demo", *args, env=hub_env(hub, tmp_path / "hf", token=token, **env))
    assert_one_line_refusal(proc, *fragments)
    assert hub.calls == []


def _bad_token(hub, project):
    return "alice/demo", (), {"token": "hf_wrong_token_0000000000"}


def _read_token(hub, project):
    return "alice/demo", (), {"token": READ_TOKEN}


def _name_taken(hub, project):
    hub.add_repo("model", "alice/demo")
    return "alice/demo", (), {}


def _payment_on_create(hub, project):
    hub.billing = False
    return "alice/demo", ("--hardware", "t4-small"), {}


def _payment_on_update(hub, project):
    seed_space(hub, project)
    hub.billing = False
    return "alice/demo", ("--hardware", "t4-small"), {}


def _other_namespace(hub, project):
    return "bob/demo", (), {}


def _server_error(hub, project):
    hub.faults["commit"] = 500
    return "alice/demo", (), {}


def _echoing_secret(hub, project):
    seed_space(hub, project)
    hub.faults["secrets"] = (400, f"secret value {FAL_VALUE} is not allowed")  # a reply must never echo it
    return "alice/demo", ("--secret", "FAL_KEY"), {}


def _unreachable(hub, project):
    hub.url = f"http://127.0.0.1:{free_port()}"
    return "alice/demo", (), {}


@pytest.mark.parametrize(("setup", "fragments", "writes"), [
    (_bad_token, ("could not check the token", "401", "HF_TOKEN"), []),
    (_read_token, ("read-only", "write access"), []),
    (_name_taken, ("create the Space alice/demo", "409", "another repository"), ["POST /api/repos/create"]),
    (_payment_on_create, ("402", "payment method", "/settings/billing"), ["POST /api/repos/create"]),
    (_payment_on_update, ("request the hardware t4-small", "402", "payment method"),
     ["POST /api/spaces/alice/demo/hardware"]),
    (_other_namespace, ("create the Space bob/demo", "403", '"bob"'), ["POST /api/repos/create"]),
    (_server_error, ("upload the app to alice/demo", "500"), ["POST /api/repos/create", "POST /api/validate-yaml",
                                                              "POST /api/spaces/alice/demo/preupload/main",
                                                              "POST /api/spaces/alice/demo/commit/main"]),
    (_echoing_secret, ("set the secret FAL_KEY", "400", "secret value *** is not allowed"),
     ["POST /api/spaces/alice/demo/secrets"]),
    (_unreachable, ("no answer from the Hub",), []),
], ids=["bad-token", "read-only-token", "name-taken", "payment-create", "payment-hardware", "other-namespace",
        "server-error", "echoed-secret", "unreachable"])
def test_hub_refusals_are_one_line_exit_1(hub: FakeHub, project: Project, tmp_path: Path,
                                          setup, fragments, writes) -> None:
    repo_id, args, kw = setup(hub, project)
    proc = run_deploy(project, repo_id, *args, env=hub_env(hub, tmp_path / "hf", FAL_KEY=FAL_VALUE, **kw))
    assert_one_line_refusal(proc, *fragments)
    assert "Traceback" not in proc.stderr
    assert [c.route for c in hub.writes()] == writes
    assert not any(repo.commits for repo in hub.repos.values())
