"""One visitor's tasks, videos and history against another: chosen external ids, guessable video names,
served folders, private handlers reached by fn_index, forged browser ids, odd callback URLs.
"""

from __future__ import annotations

import concurrent.futures
import re
import secrets
import time
import urllib.parse
from pathlib import Path

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from tests.security.conftest import FREE_RUNS, creates
from tests.security.wire import Reply, Stranger, dependency_ids, generate_args, raw_status

#: What a stored video is called: 32 URL-safe base64 characters (192 random bits) and .mp4.
VIDEO_NAME = re.compile(r"[A-Za-z0-9_-]{32}\.mp4")
VIDEO_SRC = re.compile(r'<video src="/avatar-demo/video/([^"]+)"')
GENERIC = "has raised an exception but has not enabled verbose error reporting"


def ids(person: Stranger) -> dict[str, int]:
    return dependency_ids(person.config())


def browser_id(person: Stranger) -> str:
    """The browser id the page's load event hands a new browser."""
    reply = person.call(ids(person)["load"], [""])
    assert reply.success, reply.output
    return reply.data[0]


def generate(person: Stranger, media_dir: Path, **values: object) -> Reply:
    image, audio = person.upload(media_dir / "portrait.jpg"), person.upload(media_dir / "speech.mp3")
    return person.call(ids(person)["generate"], generate_args(image=image, audio=audio, **values))


def history(person: Stranger, owner: object) -> str:
    reply = person.call(ids(person)["history_page"], [owner])
    assert reply.success, reply.output
    return reply.data[0]


def task_id_of(status: str) -> str:
    return status.split("Task id:** `")[1].split("`")[0]


def test_reused_external_task_id_never_hands_over_anothers_task(app, sim, stranger, media_dir: Path) -> None:
    """Attack: the attacker sent the victim's external_task_id ("my-job-1") and got the victim's task and video."""
    victim, attacker = stranger(app), stranger(app)
    victim_id, attacker_id = browser_id(victim), browser_id(attacker)
    theirs = generate(victim, media_dir, external_task_id="my-job-1", owner=victim_id)
    assert theirs.success, theirs.output
    victim_task = task_id_of(theirs.data[0])
    victim_video = Path(theirs.data[2]["path"]).name
    sent_as = sim.state.tasks[victim_task].external_task_id
    assert sent_as.endswith("-my-job-1") and sent_as != "my-job-1"  # namespaced per visitor at the gateway

    # The same id, and the victim's id exactly as the gateway knows it (the attacker could compute it).
    for chosen in ("my-job-1", sent_as):
        before = set(sim.state.tasks)
        reply = generate(attacker, media_dir, external_task_id=chosen, owner=attacker_id)
        assert victim_task not in reply.text and victim_video not in reply.text
        made = [t for task_id, t in sim.state.tasks.items() if task_id not in before]
        if reply.success:
            # Served, but with a new task of the attacker's own, under the attacker's namespace.
            assert len(made) == 1 and made[0].task_id != victim_task
            assert made[0].external_task_id not in (sent_as, chosen)
        else:
            assert not made and "already used" in reply.error
    assert victim_task not in history(attacker, attacker_id)
    assert victim_task in history(victim, victim_id)

    # The victim sending its own id again is refused by the gateway; nothing made, nothing charged.
    before = creates(sim)
    again = generate(victim, media_dir, external_task_id="my-job-1", owner=victim_id)
    assert not again.success and "already used by another task" in again.error
    assert "choose another one, or leave it empty" in again.error
    assert creates(sim) == before
    line = victim.call(ids(victim)["allowance"], []).data[0]
    assert f"**{FREE_RUNS - 1} of {FREE_RUNS} free runs left today**" in line


def test_videos_are_named_randomly_and_no_server_path_is_shown(app, stranger, media_dir: Path) -> None:
    """Attack: videos were stored as videos/kling-<task id>.mp4 and the absolute data path was in the history HTML."""
    person = stranger(app)
    owner = browser_id(person)
    reply = generate(person, media_dir, owner=owner, prompt='<img src=x onerror="alert(1)"> nod')
    assert reply.success, reply.output
    data_dir = str(app.services.settings.data_dir)
    task = task_id_of(reply.data[0])
    video = reply.data[2]
    page = history(person, owner)
    everything = reply.text + page
    assert data_dir not in everything and str(Path(data_dir).resolve()) not in everything
    # The result the client gets: a copy in Gradio's cache under the stored random name.
    name = Path(video["path"]).name
    assert VIDEO_NAME.fullmatch(name) and task not in name
    assert "/gradio_api/file=" in video["url"] and data_dir not in video["url"]
    # The history links the app's own route by the same random name; nothing else.
    linked = VIDEO_SRC.findall(page)
    assert linked == [name]
    # A visitor's prompt is shown as text, never as markup.
    assert "<img" not in page and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; nod" in page
    assert (app.services.storage.videos / name).is_file()


def test_files_are_served_only_by_their_exact_stored_name(app, sim, stranger, media_dir: Path) -> None:
    """Attack: counting task ids downloaded every video; served folders exposed the data dir."""
    owner, other = stranger(app), stranger(app)
    reply = generate(owner, media_dir)
    assert reply.success, reply.output
    name = Path(reply.data[2]["path"]).name
    task = task_id_of(reply.data[0])
    data = app.services.settings.data_dir.resolve()
    # Whoever was given the name can fetch it (it is the capability)...
    assert other.http.get(f"/avatar-demo/video/{name}").status_code == 200
    # ...nothing else is a video.
    guesses = [f"kling-{task}.mp4", f"{task}.mp4", f"kling-{int(task) - 1}.mp4", secrets.token_urlsafe(24) + ".mp4",
               name[:-4], name + ".mp4", name.upper(), name[:-4] + ".jpg", "history.sqlite3", "server.secret"]
    for guess in guesses:
        assert other.http.get(f"/avatar-demo/video/{guess}").status_code == 404, guess
    quoted = urllib.parse.quote(str(data / "server.secret"), safe="")
    traversal = [
        "/avatar-demo/video/../history.sqlite3", "/avatar-demo/video/..%2Fhistory.sqlite3",
        "/avatar-demo/video/%2e%2e%2fhistory.sqlite3", "/avatar-demo/video/%2e%2e/%2e%2e/server.secret",
        "/avatar-demo/video/..%2F..%2Fserver.secret", f"/avatar-demo/video/{quoted}",
        "/avatar-demo/video/%2Fetc%2Fpasswd", f"/avatar-demo/video/..%2Fvideos%2F{name}",
        f"/avatar-demo/video/.%2F{name}", f"/avatar-demo/video/{name}%00", f"/avatar-demo/video/{name}%2F",
        f"/avatar-demo/video/{name[:-4]}%2Emp4%2F..%2F..%2Fserver.secret",
        "/avatar-demo/media/..%2F..%2Fhistory.sqlite3", "/avatar-demo/media/%2e%2e/history.sqlite3",
        "/avatar-demo/media/../../server.secret", "/avatar-demo/media/" + "A" * 24 + "/..",
        "/avatar-demo/media/" + "A" * 24 + "/.%2e", "/avatar-demo/media/" + "A" * 24 + "/..%2Fserver.secret",
        "/avatar-demo/media/" + "A" * 24 + "/%2e%2e%2f%2e%2e%2fserver.secret",
        "/avatar-demo/media/..%2F..%2F..%2F/server.secret", "/avatar-demo/media/videos/" + name,
        "/avatar-demo/media/" + "A" * 24 + "/image.jpg", f"/avatar-demo/media/{quoted}/x.jpg",
    ]
    for path in traversal:
        status, location = raw_status(app.test_url, path)
        if status in (307, 308):
            # Starlette's trailing-slash redirect: only ever to the stored name's own address.
            assert urllib.parse.urlsplit(location).path == f"/avatar-demo/video/{name}", (path, location)
        else:
            assert status == 404, (path, status)
    # Gradio's own file route serves none of the data dir's secrets or databases. (Control: it does serve the
    # videos folder, which launch() allows, to whoever knows both the absolute data path and the random name.)
    assert raw_status(app.test_url, f"/gradio_api/file={data}/videos/{name}")[0] == 200
    for secret in ("history.sqlite3", "allowance.sqlite3", "server.secret", "browser-state.secret", "videos",
                   "jobs", "", "videos/../server.secret"):
        for path in (f"/gradio_api/file={data}/{secret}", f"/gradio_api/file={urllib.parse.quote(f'{data}/{secret}')}"):
            status, _ = raw_status(app.test_url, path)
            assert status in (403, 404), (path, status)


def test_history_handler_by_fn_index_shows_only_the_callers_browser(app, stranger, media_dir: Path) -> None:
    """Attack: any owner's history could be read if its id was known (the history handler is private, not closed)."""
    victim, attacker = stranger(app), stranger(app)
    victim_id = browser_id(victim)
    done = generate(victim, media_dir, owner=victim_id)
    assert done.success, done.output
    task = task_id_of(done.data[0])
    assert task in history(victim, victim_id)  # control: the owner sees it
    nonce = victim_id.split(".")[1]
    forged = [browser_id(attacker), f"b1.{nonce}.{'0' * 32}", victim_id[:-1] + ("0" if victim_id[-1] != "0" else "1"),
              victim_id.upper(), f"b1.{nonce}", victim_id + " ", "*", "%", "' OR 1=1 --", "",
              {"owner": victim_id}, [victim_id], {"$ne": None}, 12345, None]
    dependencies = ids(attacker)
    for value in forged:
        for event, args in (("history_page", [value]), ("resume", [value]), ("history", [value, "", 0]),
                            ("history_table", [value, "", 0]), ("pick", [1, value])):
            reply = attacker.call(dependencies[event], args)
            assert task not in reply.text, (event, value)
            assert reply.success or "Traceback" not in reply.text
        loaded = attacker.call(dependencies["load"], [value])
        assert loaded.success and task not in loaded.text and loaded.data[0] != victim_id
    # The queue-less route that dispatches by fn_index does no better.
    reply = attacker.http.post("/gradio_api/run/predict", json={"fn_index": dependencies["history_page"],
                                                                "data": [f"b1.{nonce}.{'f' * 32}"],
                                                                "session_hash": secrets.token_hex(8)})
    assert task not in reply.text


FORGED_OWNER = "b1.madeUpMadeUpMadeUpMade.0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize("owner", [{"id": "b1.x.y"}, ["b1.x.y"], FORGED_OWNER, "alice"],
                         ids=["dict", "list", "forged-string", "plain-string"])
def test_owner_that_is_not_our_browser_id_is_refused_clearly(app, sim, owner: object, media_dir: Path) -> None:
    """Attack: an owner value that is a dict or a list got Gradio's generic error; a made-up one was accepted."""
    client = Client(app.test_url, verbose=False, ssl_verify=False)
    image, audio = handle_file(str(media_dir / "portrait.jpg")), handle_file(str(media_dir / "speech.mp3"))
    before = creates(sim)
    with pytest.raises(AppError) as generate_refused:
        client.predict(image=image, audio=audio, prompt="", mode="std", provider="kling", owner=owner,
                       api_name="/generate")
    with pytest.raises(AppError) as lab_refused:
        client.predict(image=image, audio=audio, prompts="hi", modes=["std"], provider="kling", owner=owner,
                       api_name="/lab")
    for refused in (generate_refused, lab_refused):
        message = str(refused.value)
        assert GENERIC not in message
        expected = ("owner must be the browser id this app gave you (a string), or left empty"
                    if not isinstance(owner, str) else "owner is not a browser id this app gave out; leave it empty")
        assert expected in message, message
    assert creates(sim) == before


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://127.0.0.1:70/_stats", "javascript:alert(1)",
                                 "ftp://example.com/hook", "//evil.example/hook", "http://", "data:,hello",
                                 "FILE:///etc/passwd", " file:///etc/passwd"])
def test_callback_url_other_than_http_is_refused(app, sim, stranger, media_dir: Path, url: str) -> None:
    """Attack: callback_url accepted file:///etc/passwd."""
    person = stranger(app)
    before = creates(sim)
    reply = generate(person, media_dir, callback_url=url)
    assert not reply.success
    assert "The callback URL must be an http:// or https:// address" in reply.error, reply.error
    assert creates(sim) == before
    line = person.call(ids(person)["allowance"], []).data[0]
    assert f"**{FREE_RUNS} of {FREE_RUNS} free runs left today**" in line


def test_a_stranger_cannot_cancel_anothers_task_by_fn_index(app, sim, stranger, media_dir: Path) -> None:
    """Attack: the private cancel handler, reached by fn_index with a made-up row, stops someone else's task."""
    sim.state.config.job_seconds = 4.0
    victim, attacker = stranger(app), stranger(app)
    before = set(sim.state.tasks)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        running = pool.submit(generate, victim, media_dir)
        deadline = time.monotonic() + 60
        while not set(sim.state.tasks) - before and time.monotonic() < deadline and not running.done():
            time.sleep(0.05)
        task = next(iter(set(sim.state.tasks) - before))
        rows = [r.id for r in app.services.history.all() if r.task_id == task or r.task_id is None]
        cancel = ids(attacker)["cancel"]
        for row in {*rows, *range(1, 40)}:
            attacker.call(cancel, [{"row": row, "provider": "kling", "task_id": task}])
            attacker.http.post("/gradio_api/run/predict", json={"fn_index": cancel, "session_hash": "x",
                                                                "data": [{"row": row, "provider": "kling"}]})
        finished = running.result()
    assert finished.success and "done ✓" in finished.data[0], finished.output
    assert task not in sim.state.cancelled


def test_another_visitors_speech_audio_id_is_refused(app, sim, stranger, media_dir: Path) -> None:
    """Attack: a visitor names another visitor's text-to-speech audio id and gets a video of that speech."""
    victim, attacker = stranger(app), stranger(app)
    speak = ids(victim)["speak"]
    made = victim.call(speak, ["my private words for my own video", "oversea_male1", "en", 1.0, "kling", ""])
    assert made.success, made.output
    audio_id = made.data[0]
    image = victim.upload(media_dir / "portrait.jpg")
    own = victim.call(ids(victim)["generate"], generate_args(image=image, audio_id=audio_id))
    assert own.success, own.output  # control: the visitor who made the speech may use it
    before = creates(sim)
    theirs = attacker.call(ids(attacker)["generate"], generate_args(image=attacker.upload(media_dir / "portrait.jpg"),
                                                                    audio_id=audio_id))
    assert not theirs.success and creates(sim) == before, theirs.output


@pytest.fixture(scope="module")
def mcp_app(sim, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Public, and an MCP server too: runs started by a tool call have no browser owner."""
    from tests.security.conftest import _launch

    yield from _launch(sim, tmp_path_factory, AVATAR_MCP="1")


def test_runs_without_an_owner_are_readable_by_no_browser(mcp_app, stranger, media_dir: Path,
                                                          tmp_path: Path) -> None:
    """Runs started without a browser id (the API without `owner`, the command line, an MCP tool call) belong to no
    browser: none can list, re-run, rate or export them, by their run number or with an empty or forged id, and no
    browser is ever shown their video's name."""
    import asyncio
    import base64
    import os
    import subprocess
    import sys

    from mcp import ClientSession
    from mcp.client.streamable_http import streamablehttp_client

    app = mcp_app
    api = stranger(app)
    dependencies = ids(api)
    made = generate(api, media_dir, provider="local")  # the API, owner left out
    assert made.success, made.output
    data = app.services.settings.data_dir
    cli = subprocess.run([sys.executable, "-m", "avatar_demo", "generate", "--provider", "local", "--image",
                          str(media_dir / "portrait.jpg"), "--audio", str(media_dir / "speech.mp3"), "--out",
                          str(tmp_path / "cli.mp4")], env={**os.environ, "AVATAR_DATA_DIR": str(data)},
                         capture_output=True, timeout=300)
    assert cli.returncode == 0, cli.stderr.decode()[-2000:]

    def uri(path: Path, kind: str) -> str:
        return f"data:{kind};base64,{base64.b64encode(path.read_bytes()).decode()}"

    async def tool() -> None:
        async with streamablehttp_client(f"{app.test_url}/gradio_api/mcp/") as (read, write, _), \
                ClientSession(read, write) as session:
            await session.initialize()
            result = await session.call_tool("make_avatar_video", {
                "image": uri(media_dir / "portrait.jpg", "image/jpeg"),
                "audio": uri(media_dir / "speech.mp3", "audio/mpeg"), "provider": "local"})
            assert not result.isError, result.content

    asyncio.run(tool())
    ownerless = [r for r in app.services.history.all() if r.owner is None and r.video_path]
    assert len(ownerless) >= 3, [(r.id, r.owner) for r in app.services.history.all()]

    browser = stranger(app)
    mine = browser_id(browser)
    seen: list[str] = []
    for owner in (mine, "", None):
        for event, args in (("history_page", [owner]), ("history", [owner, "", 0]),
                            ("history_table", [owner, "", 0])):
            reply = browser.call(dependencies[event], args)
            assert reply.success, reply.output
            seen.append(reply.text)
        for record in ownerless:
            for event, args in (("rerun", [record.id, "", "", "", "", owner, False]),
                                ("rate", [record.id, 5, "mine now", owner]),
                                ("export", [str(record.id), "", owner])):
                reply = browser.call(dependencies[event], args)
                assert not reply.success, (event, record.id, reply.output)
                seen.append(reply.text)
        everything = browser.call(dependencies["export"], ["", "", owner])
        assert not everything.success and "no runs to export" in everything.error
    shown = "".join(seen)
    for record in ownerless:
        assert Path(record.video_path).name not in shown
        assert f'data-run="{record.id}"' not in shown
        assert record.rating is None and app.services.history.get(record.id).rating is None
    assert not any(r.parent in {o.id for o in ownerless} for r in app.services.history.all())
