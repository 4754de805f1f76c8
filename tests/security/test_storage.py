"""What strangers leave on the owner's disk: retention of videos and media, and the per-visitor upload budget."""

from __future__ import annotations

import base64
import io
import os
import socket
import time
import urllib.parse
from pathlib import Path

from PIL import Image

from tests.security.conftest import UPLOAD_MB
from tests.security.wire import Reply, Stranger, dependency_ids, generate_args

MB = 1024 * 1024


def generate(person: Stranger, media_dir: Path, **values: object) -> Reply:
    image, audio = person.upload(media_dir / "portrait.jpg"), person.upload(media_dir / "speech.mp3")
    return person.call(dependency_ids(person.config())["generate"], generate_args(image=image, audio=audio, **values))


def backdate(path: Path, days: float) -> None:
    then = time.time() - days * 86400
    os.utime(path, (then, then))


def test_retention_deletes_old_files_and_keeps_the_history(app, stranger, media_dir: Path) -> None:
    """Attack: nothing was ever deleted, so every visitor's videos stayed on the owner's disk forever."""
    person = stranger(app)
    ids = dependency_ids(person.config())
    owner = person.call(ids["load"], [""]).data[0]
    old_reply, new_reply = generate(person, media_dir, owner=owner), generate(person, media_dir, owner=owner)
    assert old_reply.success and new_reply.success, (old_reply.output, new_reply.output)
    storage = app.services.storage
    old, new = (storage.videos / Path(r.data[2]["path"]).name for r in (old_reply, new_reply))
    old_task = old_reply.data[0].split("Task id:** `")[1].split("`")[0]
    # Leftovers of other kinds: published media and a job folder nobody holds.
    published = storage.public / ("P" * 24) / "image.jpg"
    published.parent.mkdir(parents=True, exist_ok=True)
    published.write_bytes(b"\xff\xd8 jpeg")
    stale_job = storage.jobs / "stale-job-folder"
    stale_job.mkdir(parents=True, exist_ok=True)
    (stale_job / "audio.mp3").write_bytes(b"ID3")
    days = app.services.settings.retention.days
    for path in (old, published, stale_job / "audio.mp3", stale_job):
        backdate(path, days + 1)

    app.services.sweep()

    assert not old.exists() and not published.exists() and not stale_job.exists()
    assert new.is_file()
    assert person.http.get(f"/avatar-demo/video/{old.name}").status_code == 404
    assert person.http.get(f"/avatar-demo/video/{new.name}").status_code == 200
    # The history row stays, without its video, saying why.
    page = person.call(ids["history_page"], [owner]).data[0]
    assert old_task in page and old.name not in page and new.name in page
    record = next(r for r in app.services.history.all() if r.task_id == old_task)
    assert record.video_path is None and record.message == f"video deleted after {days:g} days"
    # Gradio's own copies (uploads and the result copies it serves) are swept too, within a day.
    assert app.delete_cache and app.delete_cache[1] <= days * 86400


def test_the_history_says_why_a_deleted_video_is_gone(app, stranger, media_dir: Path) -> None:
    """Attack check: after retention the visitor's history row stays and says the video was deleted, and when."""
    person = stranger(app)
    ids = dependency_ids(person.config())
    owner = person.call(ids["load"], [""]).data[0]
    reply = generate(person, media_dir, owner=owner)
    assert reply.success, reply.output
    backdate(app.services.storage.videos / Path(reply.data[2]["path"]).name, app.services.settings.retention.days + 1)
    app.services.sweep()
    page = person.call(ids["history_page"], [owner]).data[0]
    assert f"video deleted after {app.services.settings.retention.days:g} days" in page


def test_uploads_over_the_hourly_budget_are_refused(app, stranger) -> None:
    """Attack: uploads needed no session and had no limit (10 x 49 MB in 1.7 s)."""
    person = stranger(app)
    blob = os.urandom(MB)
    statuses = [person.http.post("/gradio_api/upload", files={"files": (f"blob-{i}.bin", blob)})
                for i in range(10)]
    codes = [r.status_code for r in statuses]
    # A 1 MB file plus its multipart framing: three fit in 4 MB, the fourth does not.
    assert codes == [200] * (UPLOAD_MB - 1) + [429] * (10 - UPLOAD_MB + 1), codes
    refusal = statuses[-1].json()["detail"]
    assert f"Upload limit reached: {UPLOAD_MB} MB per hour per visitor" in refusal and "Try again later" in refusal
    # Claiming another address changes nothing (AVATAR_PROXY_HOPS is 0).
    for forged in ("203.0.113.5", "198.51.100.2, 203.0.113.6"):
        reply = person.http.post("/gradio_api/upload", files={"files": ("again.bin", blob)},
                                 headers={"X-Forwarded-For": forged, "X-Real-IP": forged})
        assert reply.status_code == 429
    # Someone else is not affected.
    assert stranger(app).http.post("/gradio_api/upload", files={"files": ("ok.bin", blob)}).status_code == 200


def test_a_huge_declared_upload_is_refused_before_its_body_is_read(app, stranger) -> None:
    """Attack: a 49 MB upload was read and stored before anything looked at its size."""
    person = stranger(app)
    parts = urllib.parse.urlsplit(app.test_url)
    with socket.socket() as sock:
        sock.bind((person.address, 0))
        sock.settimeout(30)
        sock.connect((parts.hostname, parts.port))
        sock.sendall(f"POST /gradio_api/upload HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Length: {49 * MB}\r\n"
                     "Content-Type: multipart/form-data; boundary=xyz\r\n\r\n".encode())
        # Not one byte of the body is sent: the answer must come anyway.
        head = sock.recv(4096)
    assert head.startswith(b"HTTP/1.1 429"), head[:80]


def test_an_upload_without_content_length_is_refused(app, stranger) -> None:
    """Attack: a streamed upload (no Content-Length) could only be measured after it was stored."""
    person = stranger(app)

    def body():
        yield b"--xyz\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.bin\"\r\n\r\n"
        for _ in range(8):
            yield b"z" * 65536
        yield b"\r\n--xyz--\r\n"

    reply = person.http.post("/gradio_api/upload", content=body(),
                             headers={"content-type": "multipart/form-data; boundary=xyz"})
    assert reply.status_code == 411
    assert "Content-Length" in reply.json()["detail"]


def test_published_media_are_withdrawn_when_the_task_ends(app, stranger, media_dir: Path) -> None:
    """Attack: inputs published for URL-only gateways (crun) stayed downloadable on the app's media route."""
    person = stranger(app)
    reply = generate(person, media_dir, provider="crun")
    assert reply.success and "done ✓" in reply.data[0], reply.output
    task = reply.data[0].split("Task id:** `")[1].split("`")[0]
    record = next(r for r in app.services.history.all() if r.task_id == task)
    assert record.media_token  # it was published under a random folder...
    folder = app.services.storage.public / record.media_token
    assert not folder.exists()  # ...and withdrawn once the task ended
    for name in ("image.jpg", "audio.mp3", "photo.jpg", "voice.mp3"):
        assert person.http.get(f"/avatar-demo/media/{record.media_token}/{name}").status_code == 404


def noise_png_data_url(side: int = 700) -> str:
    """A distinct, incompressible PNG (about 1.5 MB) as a data: URL, the form a pasted or webcam photo takes."""
    buffer = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def test_data_urls_in_event_bodies_count_against_the_upload_budget(app, stranger) -> None:
    """Attack: with the upload route at its budget, the same bytes arrive as data: URLs inside queue/join bodies."""
    person = stranger(app)
    blob = os.urandom(MB)
    for _ in range(2 * UPLOAD_MB):
        if person.http.post("/gradio_api/upload", files={"files": ("b.bin", blob)}).status_code == 429:
            break
    else:
        raise AssertionError("the upload budget never ran out")
    check_photo = dependency_ids(person.config())["check_photo"]
    statuses = []
    for _ in range(3):
        photo = {"url": noise_png_data_url(), "meta": {"_type": "gradio.FileData"}}
        joined, session = person.join(check_photo, [photo])
        statuses.append(joined.status_code)
        if joined.status_code == 200:
            person.read(session)
    assert all(status in (413, 429) for status in statuses), statuses


def _preview_run(person: Stranger, media_dir: Path, owner: str) -> int:
    reply = generate(person, media_dir, provider="local", owner=owner)
    assert reply.success, reply.output
    return int(reply.data[1].split("**Run ")[1].split("**")[0])


def test_an_export_is_written_once_and_outside_the_data_folder(app, stranger, media_dir: Path) -> None:
    """Attack: every export zip stayed twice: in the data folder (counted in AVATAR_MAX_DISK_MB, where ten of them
    pushed other visitors' videos out) and as Gradio's copy in its cache, kept a day outside every budget."""
    from gradio.utils import get_upload_folder

    person = stranger(app)
    ids = dependency_ids(person.config())
    owner = person.call(ids["load"], [""]).data[0]
    run = _preview_run(person, media_dir, owner)
    reply = person.call(ids["export"], [str(run), "", owner])
    assert reply.success, reply.output
    name = Path(reply.data[0]["path"]).name
    copies = [*Path(get_upload_folder()).rglob(name), *app.services.settings.data_dir.rglob(name)]
    assert len(copies) == 1, copies
    assert app.services.settings.data_dir not in copies[0].parents
    # The one copy is what the visitor downloads.
    assert person.http.get(reply.data[0]["url"]).content == copies[0].read_bytes()


def test_a_hundred_thousand_run_numbers_are_refused_while_other_requests_go_on(app, stranger,
                                                                               media_dir: Path) -> None:
    """Attack: /export with 100,000 repeated ids was parsed and checked one query each, in the event loop: every
    route froze for seconds (1,000,000: two minutes, then a traceback)."""
    import concurrent.futures

    person, other = stranger(app), stranger(app)
    ids = dependency_ids(person.config())
    owner = person.call(ids["load"], [""]).data[0]
    run = _preview_run(person, media_dir, owner)
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        huge = pool.submit(person.call, ids["export"], [", ".join([str(run)] * 100_000), "", owner])
        bigger = pool.submit(person.call, ids["export"], [[run] * 1_000_000, "", owner])
        meanwhile = pool.submit(other.call, ids["allowance"], [])
        for refused in (huge.result(), bigger.result()):
            assert not refused.success and "one export takes at most 1000" in refused.error, refused.output
        assert meanwhile.result().success
    # A thousand distinct numbers are read in one go: the visitor's own run among 999 others is "not yours".
    many = person.call(ids["export"], [", ".join(str(n) for n in range(run, run + 1000)), "", owner])
    assert not many.success and f"Run {run + 1} is not one of your runs" in many.error


def test_a_visitor_makes_a_few_exports_an_hour(app, stranger, media_dir: Path) -> None:
    """Attack: nothing limited how many exports one visitor made (each a zip of every run, on the owner's disk)."""
    from avatar_demo.app.exports import EXPORTS_PER_HOUR

    person = stranger(app)
    ids = dependency_ids(person.config())
    owner = person.call(ids["load"], [""]).data[0]
    run = _preview_run(person, media_dir, owner)
    for _ in range(EXPORTS_PER_HOUR):
        assert person.call(ids["export"], [str(run), "", owner]).success
    refused = person.call(ids["export"], [str(run), "", owner])
    assert not refused.success and f"You made {EXPORTS_PER_HOUR} exports in the last hour" in refused.error
    # A new browser id is the same visitor; someone else is not held up.
    again = person.call(ids["export"], [str(run), "", person.call(ids["load"], [""]).data[0]])
    assert not again.success and "exports in the last hour" in again.error
    other = stranger(app)
    mine = other.call(ids["load"], [""]).data[0]
    assert other.call(ids["export"], [str(_preview_run(other, media_dir, mine)), "", mine]).success
