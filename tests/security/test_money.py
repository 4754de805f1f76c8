"""What the owner pays for: creates answered oddly, crafted voices, speech ids, bad keys, double clicks, batches.

Every count is read on the simulator (what the owner would pay) and in the allowance ledger (what was booked).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from avatar_demo.core.status import Status
from avatar_demo.media.audio import MAX_AUDIO_BYTES, prepare_audio
from avatar_demo.simulator import SimulatorServer
from tests.helpers import decoded_seconds, make_tone, smuggled_wav, tone_pcm
from tests.security.conftest import FREE_RUNS, _launch, creates
from tests.security.wire import Reply, Stranger, allowance, generate, generate_args, ids


@pytest.fixture(scope="module")
def roomy_app(sim: SimulatorServer, tmp_path_factory: pytest.TempPathFactory):
    """Public, with room to upload a 41 MB voice (the house allowance as everywhere else)."""
    yield from _launch(sim, tmp_path_factory, AVATAR_UPLOAD_MB_PER_HOUR="200")


@pytest.fixture(scope="module")
def crafted_voices(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A voice the app itself would send as it came (48 kHz mono 16-bit at the target loudness), with one chunk
    more: a second `data` chunk of 47 s of sound, or 40 MB of padding."""
    folder = tmp_path_factory.mktemp("crafted")
    clean = prepare_audio(make_tone(folder / "voice.mp3", 2.5), folder / "clean").path
    return {"second-data-chunk": smuggled_wav(folder / "two-voices.wav", clean, chunk=b"data", payload=tone_pcm(47.0)),
            "padding-chunk": smuggled_wav(folder / "padded.wav", clean, chunk=b"pad ", payload=bytes(40_000_000))}


def run_of(reply: Reply) -> int:
    """The run number the changes panel names ("**Run 12**")."""
    return int(reply.data[1].split("**Run ")[1].split("**")[0])


def runs_left(person: Stranger) -> int:
    line = allowance(person)
    return int(line.split("**")[1].split(" of ")[0])


#: (gateway, how the create is answered, the run's end): "done" when the app found its task (the answer named it,
#: or a lookup or the task's callback did), "unknown" when the gateway cannot be asked (Modellix). Never "failed".
ODD_CREATES = [
    ("kling", "unknown_status", Status.DONE),
    ("kling", "not_json", Status.DONE),
    ("kling", "unknown_code", Status.DONE),
    ("modellix", "unknown_status", Status.DONE),
    ("modellix", "not_json", Status.UNKNOWN),
    ("modellix", "unknown_code", Status.UNKNOWN),
    ("crun", "not_json", Status.DONE),
    ("crun", "unknown_code", Status.DONE),
    ("fal", "not_json", Status.DONE),
]


@pytest.mark.parametrize(("gateway", "mode", "end"), ODD_CREATES, ids=[f"{g}-{m}" for g, m, _ in ODD_CREATES])
def test_a_create_answered_oddly_is_never_failed_nor_refunded(app, sim, stranger, media_dir: Path, gateway: str,
                                                              mode: str, end: Status) -> None:
    """Attack: a create the gateway accepted came back with a status word we did not know ("pending"), as a 2xx
    that was not JSON, or as a 5xx with a code no table names: the run was FAILED with no task id, the allowance
    refunded, and a retry paid twice. Now the task is found and followed, or the run says it may be billed."""
    person = stranger(app)
    sim.state.faults.ambiguous_creates = 1
    sim.state.faults.ambiguous_mode = mode
    sim.state.faults.odd_status_word = "awaiting_review"
    before = set(sim.state.tasks)
    reply = generate(person, media_dir, provider=gateway)
    made = [t for task_id, t in sim.state.tasks.items() if task_id not in before]
    assert len(made) == 1, reply.output
    assert reply.success, reply.output
    record = app.services.history.get(run_of(reply))
    assert record.provider == gateway and record.status is end, (record.status, record.message)
    if end is Status.DONE:
        assert record.task_id == made[0].task_id and "done ✓" in reply.data[0]
    # The run may be billed: it stays counted.
    assert runs_left(person) == FREE_RUNS - 1


def test_a_key_no_header_can_carry_is_refused_at_once_and_holds_no_slot(app, sim, stranger,
                                                                        media_dir: Path) -> None:
    """Attack: api_key=":" (or with a letter beyond ASCII) never left, yet each such run was an unclear create that
    held one of the visitor's two job slots for 20 minutes: two of them blocked even the free preview."""
    sim.state.config.job_seconds = 30.0  # a run that did start would hold its slot for the whole test
    person = stranger(app)
    before = creates(sim)
    for key in (":", "clé-privée", "ak:", "a\u200bkey"):
        reply = generate(person, media_dir, api_key=key)
        # Refused as the visitor's input, before anything was prepared: not a run that failed.
        assert not reply.success and reply.output.get("title") == "Input refused", reply.output
        assert "Nothing was sent" in reply.error and "Run " not in reply.text
        assert len(key) < 4 or key not in reply.error
    assert creates(sim) == before
    # Both slots are free: the preview runs at once, and the house allowance was not touched.
    preview = generate(person, media_dir, provider="local")
    assert preview.success and "done ✓" in preview.data[0], preview.output
    assert runs_left(person) == FREE_RUNS


@pytest.mark.parametrize("craft", ["second-data-chunk", "padding-chunk"])
def test_the_voice_a_gateway_receives_plays_as_long_as_what_was_charged(roomy_app, sim, stranger, media_dir: Path,
                                                                        crafted_voices: dict[str, Path],
                                                                        craft: str) -> None:
    """Attack: a 2.5 s voice followed by a second `data` chunk of 47 s was recorded and charged as 2.5 s (Python's
    wave reads the first chunk only) while the gateway played 47 s, past AVATAR_FREE_SECONDS and the estimate; a
    40 MB padding chunk made a 41 MB "prepared" voice, kept and sent. Now what is sent is what was measured."""
    person = stranger(roomy_app)
    owner = person.call(ids(person)["load"], [""]).data[0]
    before = set(sim.state.tasks)
    reply = person.call(ids(person)["generate"], generate_args(
        image=person.upload(media_dir / "portrait.jpg"), audio=person.upload(crafted_voices[craft]), owner=owner))
    assert reply.success, reply.output
    made = [t for task_id, t in sim.state.tasks.items() if task_id not in before]
    assert len(made) == 1
    record = roomy_app.services.history.get(run_of(reply))
    assert record.seconds == pytest.approx(2.5, abs=0.05)
    sent = made[0].audio
    assert sent is not None and len(sent) <= MAX_AUDIO_BYTES
    assert decoded_seconds(sent) == pytest.approx(record.seconds, abs=0.02)
    # The voice kept for re-runs is the same file: a re-run sends exactly as much again.
    kept = roomy_app.services.kept.path(record.audio_ref)
    assert kept is not None and kept.read_bytes() == sent


def everyone_units(app) -> float:  # type: ignore[no-untyped-def]
    from avatar_demo.store.ledger import utc_day

    return app.services.ledger.usage("nobody", utc_day()).all_units


def speak(person: Stranger, words: int) -> Reply:
    """Kling speech by the page's private event (fn_index), as the attack made it: 0.4 s a word in the simulator."""
    text = " ".join(["word"] * words)
    return person.call(ids(person)["speak"], [text, "oversea_male1", "en", 1.0, "kling", ""])


def test_a_speech_id_carries_its_length_into_the_voice_cap_and_the_budget(app, sim, stranger,
                                                                          media_dir: Path) -> None:
    """Attack: ~60 s of Kling speech made through the speak event, then /generate with that audio_id in pro on the
    house key: the gateway billed ~48 units while the ledger booked only the speech, so one visitor's free runs
    could spend more than AVATAR_DAILY_UNITS. Now the speech's length (from the TTS result) is capped like a clip,
    and the run reserves, then books, what it costs."""
    person = stranger(app)
    image = person.upload(media_dir / "portrait.jpg")
    long_speech = speak(person, 150)
    assert long_speech.success, long_speech.output
    before, units = creates(sim), everyone_units(app)
    refused = person.call(ids(person)["generate"], generate_args(image=image, audio_id=long_speech.data[0],
                                                                 mode="pro"))
    assert not refused.success and "That speech is 60 s" in refused.error and "at most 15 s" in refused.error
    assert creates(sim) == before and everyone_units(app) == pytest.approx(units)
    # A short speech runs, and the units booked are those the gateway charged (0.8 a second in pro).
    short = speak(person, 10)
    assert short.success, short.output
    units = everyone_units(app)
    made = person.call(ids(person)["generate"], generate_args(image=image, audio_id=short.data[0], mode="pro"))
    assert made.success and "done ✓" in made.data[0], made.output
    task = sim.state.tasks[made.data[0].split("Task id:** `")[1].split("`")[0]]
    charged = 0.8 * task.audio_s  # the simulator bills Kling's list price for the speech's length
    assert everyone_units(app) - units == pytest.approx(charged, abs=0.01)
    assert runs_left(person) == FREE_RUNS - 1


def test_a_double_click_starts_one_run(app, sim, stranger, media_dir: Path) -> None:
    """Attack: two identical /generate calls from one browser at once (a double click on Generate) started two
    paid tasks, both billed, while the page showed one. The second is now attached to the first: one create,
    both calls watch the same run, one run of the allowance used."""
    import concurrent.futures

    sim.state.faults.latency_s = 0.5  # the first create is still on its way when the second call arrives
    person = stranger(app)
    owner = person.call(ids(person)["load"], [""]).data[0]
    image, audio = person.upload(media_dir / "portrait.jpg"), person.upload(media_dir / "speech.mp3")
    args = generate_args(image=image, audio=audio, prompt="a slow nod", owner=owner)
    before = creates(sim)
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        first, second = pool.map(lambda _: person.call(ids(person)["generate"], args), range(2))
    assert first.success and second.success, (first.output, second.output)
    assert creates(sim) == before + 1
    assert run_of(first) == run_of(second) and "done ✓" in second.data[0]
    assert runs_left(person) == FREE_RUNS - 1
    # Once the first call has its run, the same request again is another take on purpose.
    again = person.call(ids(person)["generate"], args)
    assert again.success and run_of(again) != run_of(first) and creates(sim) == before + 2


def test_two_identical_lab_calls_at_once_start_one_batch(app, sim, stranger, media_dir: Path) -> None:
    import concurrent.futures

    from tests.security.wire import lab_args

    sim.state.faults.latency_s = 0.5
    person = stranger(app)
    owner = person.call(ids(person)["load"], [""]).data[0]
    image, audio = person.upload(media_dir / "portrait.jpg"), person.upload(media_dir / "speech.mp3")
    args = lab_args(image=image, audio=audio, prompts="smile\nnod", owner=owner)
    before = creates(sim)
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        first, second = pool.map(lambda _: person.call(ids(person)["lab"], args), range(2))
    assert first.success and second.success, (first.output, second.output)
    assert creates(sim) == before + 2
    assert sorted(r["id"] for r in first.data[2]) == sorted(r["id"] for r in second.data[2])
    assert runs_left(person) == FREE_RUNS - 2


def test_one_refused_variant_of_a_batch_gives_back_only_its_own_run(app, sim, stranger, media_dir: Path) -> None:
    """A lab batch of two on the house key where the gateway refuses one create (content policy, no task made):
    that variant's run and units are given back, the other's stay counted."""
    from tests.security.wire import lab_args

    person = stranger(app)
    units = everyone_units(app)
    sim.state.faults.refused_creates = 1
    before = set(sim.state.tasks)
    reply = person.call(ids(person)["lab"], lab_args(image=person.upload(media_dir / "portrait.jpg"),
                                                     audio=person.upload(media_dir / "speech.mp3"),
                                                     prompts="smile\nnod"))
    assert reply.success, reply.output
    made = [t for task_id, t in sim.state.tasks.items() if task_id not in before]
    statuses = sorted(run["status"] for run in reply.data[2])
    assert len(made) == 1 and statuses == ["done", "failed"], statuses
    assert runs_left(person) == FREE_RUNS - 1
    assert everyone_units(app) - units == pytest.approx(0.4 * made[0].audio_s, abs=0.01)
