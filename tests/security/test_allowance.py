"""The house key's allowance against strangers: the lab, text to speech by fn_index, new sessions, forged
X-Forwarded-For, bursts, one visitor hogging the slots, many addresses, and bring-your-own keys.

Every count is read on the simulator (`sim.state.creates`, its TTS calls): what the owner would pay.
"""

from __future__ import annotations

import concurrent.futures
import json
from pathlib import Path

import httpx
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from avatar_demo.media.ffmpeg import run_ffmpeg
from tests.security.conftest import FREE_RUNS, FREE_SECONDS, MAX_JOBS, VISITOR_KEY, creates, tts_calls
from tests.security.wire import allowance, generate, generate_args, ids, lab_args

#: What every house-key refusal must offer instead.
WAYS_ON = ("paste your own key", "offline preview")


@pytest.fixture(scope="module")
def ten_minute_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 10-minute voice clip (8 kb/s mp3, about 600 KB), as in the tester's lab attack."""
    path = tmp_path_factory.mktemp("long") / "ten-minutes.mp3"
    source = "sine=frequency=220:sample_rate=8000,volume='0.2+0.8*abs(sin(3*PI*t))':eval=frame"
    proc = run_ffmpeg(["-y", "-v", "error", "-f", "lavfi", "-i", source, "-t", "600", "-ac", "1", "-ar", "8000",
                       "-c:a", "libmp3lame", "-b:a", "8k", str(path)])
    assert proc.returncode == 0, proc.stderr.decode()
    return path


def assert_offers_ways_on(message: str) -> None:
    assert all(way in message for way in WAYS_ON), message
    assert "Traceback" not in message and message.strip(), message


def test_lab_with_eight_paid_variants_is_refused_before_any_create(app, sim, stranger, media_dir: Path,
                                                                     ten_minute_clip: Path) -> None:
    """Attack: one anonymous /lab call, 4 prompts x 2 modes on a 10-minute clip, made 8 paid creates."""
    person = stranger(app)
    before = creates(sim)
    reply = person.call(ids(person)["lab"], lab_args(
        image=person.upload(media_dir / "portrait.jpg"), audio=person.upload(ten_minute_clip),
        prompts="smile\nnod\nwave\nfrown", modes=["std", "pro"]))
    assert not reply.success
    assert f"{FREE_RUNS} of {FREE_RUNS} free runs left" in reply.error
    assert "this needs 8" in reply.error
    assert_offers_ways_on(reply.error)
    assert creates(sim) == before
    assert f"**{FREE_RUNS} of {FREE_RUNS} free runs left today**" in allowance(person)


def test_lab_counts_every_variant_and_caps_the_voice(app, sim, stranger, media_dir: Path,
                                                     ten_minute_clip: Path) -> None:
    """Attack: the lab's variants and a 10-minute clip each spent the house key without limit."""
    person = stranger(app)
    before = set(sim.state.tasks)
    image, long_voice = person.upload(media_dir / "portrait.jpg"), person.upload(ten_minute_clip)
    first = person.call(ids(person)["lab"], lab_args(image=image, audio=long_voice, prompts="smile\nnod"))
    assert first.success, first.output
    made = [t for task_id, t in sim.state.tasks.items() if task_id not in before]
    assert len(made) == 2
    # Each variant used at most the allowance's voice window, not ten minutes.
    assert all(t.audio_s <= FREE_SECONDS + 0.1 for t in made), [t.audio_s for t in made]
    # And the estimate shown was for 2 x 15 s at 0.4 units a second, not for 2 x 600 s.
    units = 2 * FREE_SECONDS * 0.4
    assert f"estimated total ≈ ${units * 0.14:.2f} ({units:g} units)" in first.data[0]
    assert f"**1 of {FREE_RUNS} free runs left today**" in allowance(person)
    # Two more variants do not fit the one run left: refused whole, nothing sent.
    second = person.call(ids(person)["lab"], lab_args(image=image, audio=long_voice, prompts="wave\nfrown"))
    assert not second.success and "1 of 3 free runs left" in second.error and "this needs 2" in second.error
    assert_offers_ways_on(second.error)
    third = generate(person, media_dir)
    assert third.success, third.output
    fourth = generate(person, media_dir)
    assert not fourth.success and "0 of 3 free runs left" in fourth.error
    assert len([t for t in sim.state.tasks if t not in before]) == FREE_RUNS


def test_text_to_speech_by_fn_index_is_counted(app, sim, stranger) -> None:
    """Attack: the private text-to-speech event ran on the owner's key through queue/join by its fn_index."""
    person = stranger(app)
    config = person.config()
    speak = next(d for d in config["dependencies"] if d.get("api_name") == "speak")
    assert speak.get("api_visibility") == "private"  # hidden from the API page, but still callable by index
    before = tts_calls(sim)
    replies = [person.call(speak["id"], ["hello there, my friend", "oversea_male1", "en", 1.0, "kling", ""])
               for _ in range(2 * FREE_RUNS + 3)]
    served = [r for r in replies if r.success]
    refused = [r for r in replies if not r.success]
    assert len(served) == 2 * FREE_RUNS, [r.error for r in refused]
    assert tts_calls(sim) - before == len(served)
    assert len(refused) == 3
    assert all("free text-to-speech calls" in r.error and "Paste your own key" in r.error for r in refused)
    # Speech calls are their own count: they did not eat the visitor's video runs.
    assert f"**{FREE_RUNS} of {FREE_RUNS} free runs left today**" in allowance(person)
    # The visitor's own key still works past the allowance (and is not the house's).
    own = person.call(speak["id"], ["hello again", "oversea_male1", "en", 1.0, "kling", VISITOR_KEY])
    assert own.success, own.output
    assert VISITOR_KEY not in own.text


def test_new_clients_sessions_and_forwarded_for_get_no_fresh_allowance(app, sim, stranger,
                                                                        media_dir: Path) -> None:
    """Attack: a new session, a new gradio_client or a forged X-Forwarded-For header gave a fresh allowance."""
    before = creates(sim)
    image, audio = handle_file(str(media_dir / "portrait.jpg")), handle_file(str(media_dir / "speech.mp3"))

    def run(client: Client) -> str:
        return client.predict(image=image, audio=audio, prompt="", mode="std", provider="kling",
                              api_name="/generate")[0]

    first = Client(app.test_url, verbose=False, ssl_verify=False)
    for _ in range(FREE_RUNS):
        assert "done ✓" in run(first)
    with pytest.raises(AppError) as refused:
        run(first)
    assert "0 of 3 free runs left" in str(refused.value)
    assert_offers_ways_on(str(refused.value))
    # A brand-new client (new session) is the same visitor.
    with pytest.raises(AppError, match="0 of 3 free runs left"):
        run(Client(app.test_url, verbose=False, ssl_verify=False))
    # So is one that claims another address: AVATAR_PROXY_HOPS is 0, no proxy of ours added that header.
    for forged in ("203.0.113.7", "198.51.100.1, 203.0.113.8", "::1"):
        with pytest.raises(AppError, match="0 of 3 free runs left"):
            run(Client(app.test_url, verbose=False, ssl_verify=False, headers={"X-Forwarded-For": forged,
                                                                               "X-Real-IP": "203.0.113.9"}))
    # And raw HTTP from the same address with a fresh session hash and forged headers.
    person = stranger(app, "127.0.0.1", headers={"X-Forwarded-For": "192.0.2.44", "Forwarded": "for=192.0.2.45"})
    reply = generate(person, media_dir)
    assert not reply.success and "0 of 3 free runs left" in reply.error
    assert creates(sim) - before == FREE_RUNS


def test_bring_your_own_key_works_past_the_allowance_and_is_never_echoed(app, sim, stranger,
                                                                         media_dir: Path) -> None:
    """Attack check: a visitor's own key pays beyond the allowance, and is never stored, logged or echoed."""
    person = stranger(app)
    owner = person.call(ids(person)["load"], [""]).data[0]
    image, audio = person.upload(media_dir / "portrait.jpg"), person.upload(media_dir / "speech.mp3")
    spent = person.call(ids(person)["lab"], lab_args(image=image, audio=audio, prompts="a\nb", owner=owner))
    assert spent.success, spent.output
    assert generate(person, media_dir).success
    assert not generate(person, media_dir).success  # the allowance is used up
    before = creates(sim)
    mine = generate(person, media_dir, api_key=VISITOR_KEY, owner=owner)
    assert mine.success and "done ✓" in mine.data[0], mine.output
    assert creates(sim) == before + 1
    history = person.call(ids(person)["history_page"], [owner]).data[0]
    assert VISITOR_KEY not in mine.text + history + json.dumps(person.config())
    assert VISITOR_KEY not in httpx.get(app.test_url, timeout=10).text
    for path in app.services.settings.data_dir.rglob("*"):
        if path.is_file():
            assert VISITOR_KEY.encode() not in path.read_bytes(), path
    # Nothing kept: without the key the visitor is refused again.
    again = generate(person, media_dir)
    assert not again.success and "0 of 3 free runs left" in again.error
    # A wrong key is refused by the gateway: the house key is never the silent fallback.
    wrong = generate(person, media_dir, api_key="not-a-real-key-123")
    assert not wrong.success and "not-a-real-key-123" not in wrong.text
    assert creates(sim) == before + 1


def test_a_burst_of_parallel_requests_cannot_overdraw(burst_app, sim, stranger, media_dir: Path) -> None:
    """Attack: many requests fired at once all passed the allowance check before any was counted."""
    person = stranger(burst_app)
    generate_id = ids(person)["generate"]
    image, audio = person.upload(media_dir / "portrait.jpg"), person.upload(media_dir / "speech.mp3")
    before = creates(sim)
    burst = 4 * FREE_RUNS
    # Each request its own (an identical one still starting would only be attached to the first: one run).
    with concurrent.futures.ThreadPoolExecutor(burst) as pool:
        replies = list(pool.map(lambda i: person.call(generate_id, generate_args(image=image, audio=audio,
                                                                                 prompt=f"take {i}")),
                                range(burst)))
    served = [r for r in replies if r.success]
    refused = [r for r in replies if not r.success]
    assert creates(sim) - before == len(served) == FREE_RUNS
    assert len(refused) == burst - FREE_RUNS
    assert all("free runs" in r.error for r in refused), [r.error for r in refused]


def test_one_visitor_cannot_hold_every_slot(app, sim, stranger, media_dir: Path) -> None:
    """Attack: queue and concurrency limits were shared by everyone, so one stranger could hold them all. Now a
    visitor's runs past AVATAR_MAX_JOBS_PER_VISITOR wait in their own line, and someone else is served at once."""
    sim.state.config.job_seconds = 5.0
    hog, other = stranger(app), stranger(app)
    generate_id = ids(hog)["generate"]
    image, audio = hog.upload(media_dir / "portrait.jpg"), hog.upload(media_dir / "speech.mp3")
    before = creates(sim)
    with concurrent.futures.ThreadPoolExecutor(FREE_RUNS + 1) as pool:
        hogging = [pool.submit(hog.call, generate_id, generate_args(image=image, audio=audio, prompt=f"take {i}"))
                   for i in range(FREE_RUNS + 1)]
        # While the hog's runs go, someone else is served at once.
        theirs = generate(other, media_dir)
        replies = [f.result() for f in hogging]
    assert theirs.success, theirs.output
    served = [r for r in replies if r.success]
    refused = [r for r in replies if not r.success]
    assert len(served) == FREE_RUNS and len(refused) == 1
    assert all("free runs" in r.error for r in refused), [r.error for r in refused]
    assert creates(sim) - before == FREE_RUNS + 1
    # At most MAX_JOBS of the hog's runs were at the gateway at once: the next was sent only after one had ended.
    recent = [r for r in app.services.history.all() if r.sent_at][-(FREE_RUNS + 1):]
    visitors = [r.visitor for r in recent]
    rows = [r for r in recent if visitors.count(r.visitor) == FREE_RUNS]
    ends = sorted(r.created_at + (r.elapsed_s or 0) for r in rows)
    sent = sorted(r.sent_at for r in rows)
    assert sent[MAX_JOBS] >= ends[0] - 0.5, (sent, ends)
    assert f"**0 of {FREE_RUNS} free runs left today**" in allowance(hog)


def test_many_addresses_share_one_daily_budget(tight_app, sim, stranger, media_dir: Path) -> None:
    """Attack: every new address (or visitor) got a fresh allowance with no ceiling on what the owner pays."""
    before = creates(sim)
    first, second, third = (generate(stranger(tight_app), media_dir) for _ in range(3))
    assert first.success and second.success, (first.output, second.output)
    assert not third.success
    assert "free budget for everyone on this app is used up" in third.error
    assert_offers_ways_on(third.error)
    assert creates(sim) - before == 2


def test_house_key_off_refuses_every_paid_event(house_off_app, sim, stranger, media_dir: Path) -> None:
    """Attack check: with AVATAR_HOUSE_KEY=off no event (generate, lab, TTS by fn_index) spends the owner's key."""
    person = stranger(house_off_app)
    dependencies = ids(person)
    before, speech_before = creates(sim), tts_calls(sim)
    image, audio = person.upload(media_dir / "portrait.jpg"), person.upload(media_dir / "speech.mp3")
    refusals = [generate(person, media_dir),
                person.call(dependencies["lab"], lab_args(image=image, audio=audio, prompts="a")),
                person.call(dependencies["speak"], ["hello there", "oversea_male1", "en", 1.0, "kling", ""])]
    for reply in refusals:
        assert not reply.success
        assert "owner lets visitors use their own keys" in reply.error, reply.error
        assert_offers_ways_on(reply.error)
    assert creates(sim) == before and tts_calls(sim) == speech_before
    assert "runs on visitors' own keys" in person.call(dependencies["allowance"], []).data[0]
    # The two ways on both work.
    own = generate(person, media_dir, api_key=VISITOR_KEY)
    assert own.success, own.output
    assert creates(sim) == before + 1
    preview = generate(person, media_dir, provider="local")
    assert preview.success and "done ✓" in preview.data[0], preview.output
    assert creates(sim) == before + 1
