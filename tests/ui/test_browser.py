"""The page in Debian's Chromium: upload or record, press Generate, watch the status, play the video."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import make_image, make_portrait, make_tone, real_portrait
from tests.ui.browsing import SHOTS, english_left, require_chromium

pytestmark = pytest.mark.browser

#: Seconds of fake microphone input recorded in the microphone test.
RECORD_S = 4.0
#: The voice's loudness change as the page lists it, e.g. "+6.2 dB to −16.0 LUFS".
_GAIN = re.compile(r"[+−]\d+\.\d dB to −\d+\.\d LUFS")

# Every status change is collected in the page itself, so fast transitions are not missed between looks. Its
# whole text is kept, the task id and the gateway's own word behind the details toggle included.
WATCH_STATUS = """() => {
  window.statusSeen = [];
  const panel = document.querySelector('#status .md') || document.querySelector('#status');
  const note = () => { const t = panel.textContent; if (window.statusSeen.at(-1) !== t) window.statusSeen.push(t); };
  note();
  new MutationObserver(note).observe(panel, {subtree: true, childList: true, characterData: true});
}"""
VIDEO_READY = ("() => { const v = document.querySelector('#result video');"
               " return v !== null && v.readyState >= 1 && isFinite(v.duration); }")
PLAY_HALF_A_SECOND = """async v => {
  v.muted = true;
  await v.play();
  await new Promise(done => setTimeout(done, 500));
  return {time: v.currentTime, error: v.error && v.error.code};
}"""


@pytest.fixture(scope="module")
def driver() -> Iterator[object]:
    """Playwright for the module (one per process: a second would nest its event loop in the first)."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="module")
def browser(driver, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """One Chromium for the module; its fake microphone plays a known tone."""
    tone = make_tone(tmp_path_factory.mktemp("mic") / "mic.wav", 30.0, rate=48000)
    chromium = driver.chromium.launch(executable_path=require_chromium(), args=[
        "--no-sandbox", "--disable-background-networking", "--autoplay-policy=no-user-gesture-required",
        "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-audio-capture={tone}",
    ])
    yield chromium
    chromium.close()


@pytest.fixture
def page(browser, app):
    context = browser.new_context(permissions=["microphone"], viewport={"width": 1280, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    tab.goto(app.test_url)
    tab.wait_for_selector("#portrait input[type=file]", state="attached")
    yield tab
    context.close()


def wait_for(page, condition: str, *shown: str, timeout: float = 30_000) -> None:
    """page.wait_for_function, and on a timeout a failure that quotes what the given elements said."""
    from playwright.sync_api import TimeoutError as Timeout

    try:
        page.wait_for_function(condition, timeout=timeout)
    except Timeout:
        said = {css: page.locator(css).inner_text() if page.locator(css).count() else None for css in shown}
        said["videos (readyState, networkState, error)"] = page.evaluate(
            "() => [...document.querySelectorAll('video')].map(v => [v.readyState, v.networkState, v.error?.code])")
        pytest.fail(f"waited {timeout / 1000:.0f} s for {condition}; the page said {said}")


def choose_provider(page, label: str) -> None:
    page.get_by_label("Provider").click()
    page.get_by_role("option", name=label).click()


def generate_and_wait(page) -> tuple[list[str], dict]:
    """Press Generate; return every status text shown and the finished <video>'s facts."""
    page.wait_for_function("() => document.querySelector('#window').innerText.includes('of the')")
    page.evaluate(WATCH_STATUS)
    page.get_by_role("button", name="Generate", exact=True).click()
    page.wait_for_function(VIDEO_READY, timeout=60_000)
    video = page.locator("#result video")
    played = video.evaluate(PLAY_HALF_A_SECOND)
    return page.evaluate("window.statusSeen"), {"duration": video.evaluate("v => v.duration"), **played}


@pytest.mark.parametrize(("provider", "label"), [("local", "Offline preview"), ("kling", "Kling (official)")])
def test_upload_generate_and_play(page, fresh_sim, tmp_path: Path, provider: str, label: str) -> None:
    """Upload a portrait and a 3 s clip, press Generate: status updates, then a playable 3 s video."""
    # Long enough that the gateway's "processing" (0.8–4 s) spans several 1 s polls even on a loaded machine:
    # with 2 s it lasted 1.6 s, and one late poll on a busy CI run went straight from queued to done.
    fresh_sim.state.config.job_seconds = 4.0
    page.locator("#portrait input[type=file]").set_input_files(str(make_portrait(tmp_path / "portrait.jpg", (600, 800))))
    page.locator("#voice input[type=file]").set_input_files(str(make_tone(tmp_path / "voice.wav", 3.0)))
    choose_provider(page, label)

    statuses, video = generate_and_wait(page)

    words = [s.split("·")[0] for s in statuses]
    assert any("submitting" in w for w in words), statuses
    assert "done ✓" in statuses[-1] and "Task id" in statuses[-1], statuses
    if provider == "kling":
        # A remote job is polled: our word first, the gateway's own word behind the details toggle.
        assert any("running" in w and "own word: processing" in s for w, s in zip(words, statuses)), statuses
        assert "units" in statuses[-1]
        assert "processing" not in page.locator("#status").inner_text(), "the gateway's word is not shown at first"
    assert video["duration"] == pytest.approx(3.0, abs=0.15)
    assert video["error"] is None and video["time"] > 0.1
    # The changes in plain words; their figures behind the details toggle.
    changes = page.locator("#changes")
    assert "made louder to a standard level" in changes.inner_text() and not _GAIN.search(changes.inner_text())
    assert _GAIN.search(changes.text_content())


def test_record_through_the_microphone(page, tmp_path: Path) -> None:
    """Record ~4 s from Chromium's fake microphone; the recording becomes a video of that length."""
    page.locator("#portrait input[type=file]").set_input_files(str(make_portrait(tmp_path / "portrait.png", (512, 512))))
    voice = page.locator("#voice")
    voice.get_by_role("button", name="Record audio").click()
    voice.get_by_role("button", name="Record", exact=True).click()
    page.wait_for_timeout(RECORD_S * 1000)
    voice.locator("button.stop-button").first.click()

    statuses, video = generate_and_wait(page)

    window = page.locator("#window").inner_text()
    assert "done ✓" in statuses[-1], statuses
    # The tone reached the server: a silent or missing recording would have been refused.
    assert _GAIN.search(page.locator("#changes").text_content())
    assert video["duration"] == pytest.approx(RECORD_S, abs=0.6), window
    assert video["error"] is None and video["time"] > 0.1


def test_a_non_image_dropped_on_the_photo_shows_the_apps_message(page, tmp_path: Path) -> None:
    """The app sees the upload before anything opens it: its own message lands in the status area."""
    notes = tmp_path / "notes.png"
    notes.write_text("these are meeting notes, not a photo")
    page.evaluate(WATCH_STATUS)
    page.locator("#portrait input[type=file]").set_input_files(str(notes))
    page.wait_for_function("() => document.querySelector('#status').innerText.includes('not a photo')")
    text = page.locator("#status").inner_text()
    assert "refused" in text and "notes.png" in text
    assert "upstream Gradio app" not in text and "Error" not in text.split("refused")[0]


@pytest.fixture(scope="module")
def public_app(sim, tmp_path_factory: pytest.TempPathFactory):
    """The app in public mode with one free run a day on the house key."""
    from tests.conftest import KEYS
    from tests.ui.conftest import launched

    demo = launched({**sim.env(), **KEYS, "AVATAR_PUBLIC": "1", "AVATAR_FREE_RUNS": "1",
                     "AVATAR_DATA_DIR": str(tmp_path_factory.mktemp("public-app"))})
    yield demo
    demo.close()


def test_the_allowance_line_and_the_over_allowance_message(browser, public_app, fresh_sim, tmp_path: Path) -> None:
    """The page says how many free runs are left; past them, the status area says what to do instead."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        page.goto(public_app.test_url)
        page.wait_for_function("() => (document.querySelector('#allowance')?.innerText || '').includes('1 of 1 free runs')")
        page.locator("#portrait input[type=file]").set_input_files(str(make_portrait(tmp_path / "p.jpg", (600, 800))))
        page.locator("#voice input[type=file]").set_input_files(str(make_tone(tmp_path / "v.wav", 3.0)))
        choose_provider(page, "Kling (official)")
        generate_and_wait(page)
        page.wait_for_function("() => (document.querySelector('#allowance')?.innerText || '').includes('0 of 1 free runs')")
        page.get_by_role("button", name="Generate", exact=True).click()
        page.wait_for_function("() => (document.querySelector('#status')?.innerText || '').includes('free runs left today')")
        status = page.locator("#status").inner_text()
        assert "refused" in status and "your own key" in status and "offline preview" in status
    finally:
        context.close()


def test_the_lab_shows_its_runs_side_by_side_and_keeps_a_verdict(page, fresh_sim, tmp_path: Path) -> None:
    """Two prompts in two modes: four cards of playable videos with their facts, a row per prompt; a card's stars
    keep a verdict at once, the note row adds words to it, and a card's re-run button opens History on that run."""
    page.locator("#portrait input[type=file]").set_input_files(str(make_portrait(tmp_path / "portrait.jpg", (600, 800))))
    page.locator("#voice input[type=file]").set_input_files(str(make_tone(tmp_path / "voice.wav", 2.5)))
    page.wait_for_function("() => document.querySelector('#window').innerText.includes('of the')")
    page.get_by_role("tab", name="Prompt lab").click()
    page.locator("#lab-prompts textarea").fill("a warm smile\na slow nod")
    page.locator("#lab-modes").get_by_label("pro · 1080p, twice the price", exact=True).check()
    wait_for(page, "() => document.querySelector('#lab-plan').innerText.includes('4 run(s)')", "#lab-plan")
    page.get_by_role("button", name="Run all").click()
    wait_for(page, "() => [...document.querySelectorAll('#lab-grid .card')]"
                   ".filter(c => c.innerText.includes('done ✓')).length === 4",
             "#lab-status", "#lab-grid", "#lab-plan", timeout=90_000)
    wait_for(page, "() => [...document.querySelectorAll('#lab-grid video')].filter(v => v.readyState >= 1).length === 4",
             "#lab-grid", timeout=30_000)
    grid = page.locator("#lab-grid")
    cards = grid.locator(".card").all_inner_texts()
    money = re.compile(r"\$\d\.\d\d \(\d[.\d]* units?\)")  # "$0.14 (1 unit)": Kling's price is known
    assert len(cards) == 4 and all("done ✓" in c and money.search(c) and "run " in c for c in cards), cards
    # A row per prompt, its modes side by side.
    assert ["a warm smile" in c for c in cards] == [True, True, False, False], cards
    assert ["Kling (official) · std" in c for c in cards] == [True, False, True, False], cards
    assert grid.locator(".cards").evaluate("c => getComputedStyle(c).gridTemplateColumns.split(' ').length") == 2
    assert "share one prepared photo" in grid.inner_text()
    assert "4 of 4 done" in page.locator("#lab-status").inner_text()
    first = grid.locator(".card").first
    run = first.get_attribute("data-run")
    first.locator("button[data-stars='4']").click()
    wait_for(page, f"() => document.querySelectorAll('#lab-grid .card[data-run=\"{run}\"] .rate .on').length === 4",
             "#lab-grid", "#lab-verdict")
    assert page.locator("#lab-run input").input_value() == run, "the star put its run in the note row"
    page.locator("#lab-note textarea, #lab-note input").first.fill("most natural")
    page.locator("#lab-save").click()
    page.wait_for_function("() => document.querySelector('#lab-grid').innerText.includes('most natural')")
    assert "★★★★☆ · most natural" in page.locator("#lab-verdict").inner_text()
    SHOTS.mkdir(exist_ok=True)
    grid.screenshot(path=str(SHOTS / "lab-grid.png"))
    # A card's re-run button: the History tab, that run picked (the batch is there without a refresh).
    first.locator("button[data-action='rerun']").click()
    page.wait_for_function(f"() => document.querySelector('#history-run input')?.value === '{run}'")
    assert page.locator("#history-pick input").input_value().startswith(f"{run} ·")
    wait_for(page, "() => document.querySelector('#history').innerText.includes('most natural')", "#history")
    table = page.locator("#history")
    assert table.locator("tr[data-run]").count() >= 4 and "a slow nod" in table.inner_text()


def test_a_photo_without_a_face_is_held_back_until_send_anyway_is_ticked(page, fresh_sim, tmp_path: Path) -> None:
    """On a paid gateway the status area says why nothing was sent; ticking *Send anyway* sends it."""
    before = fresh_sim.state.creates.get("kling", 0)
    page.locator("#portrait input[type=file]").set_input_files(str(make_image(tmp_path / "drawing.jpg", (600, 800))))
    page.locator("#voice input[type=file]").set_input_files(str(make_tone(tmp_path / "voice.wav", 2.5)))
    page.wait_for_function("() => document.querySelector('#status').innerText.includes('no face found')")
    page.wait_for_function("() => document.querySelector('#window').innerText.includes('of the')")
    choose_provider(page, "Kling (official)")
    page.locator("#generate").click()
    page.wait_for_function("() => document.querySelector('#status').innerText.includes('No face found in drawing.jpg')")
    assert "Send anyway" in page.locator("#status").inner_text()
    assert fresh_sim.state.creates.get("kling", 0) == before
    page.locator("#send-anyway input").check()
    page.locator("#generate").click()
    page.wait_for_function(VIDEO_READY, timeout=60_000)
    assert fresh_sim.state.creates.get("kling", 0) == before + 1
    assert "sent anyway" in page.locator("#changes").inner_text()


@pytest.fixture(scope="module")
def chinese_browser(driver) -> Iterator[object]:
    """Chromium started with --lang=zh-CN, as a browser set to Simplified Chinese is."""
    chromium = driver.chromium.launch(executable_path=require_chromium(), args=[
        "--no-sandbox", "--disable-background-networking", "--lang=zh-CN"])
    yield chromium
    chromium.close()


def test_the_page_speaks_chinese_to_a_chinese_browser(chinese_browser, app, fresh_sim, tmp_path: Path) -> None:
    """Generate, Prompt lab and History in zh-CN: a run's status, changes and history included, no English left."""
    context = chinese_browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 1600})
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        page.goto(app.test_url)
        page.wait_for_selector("#portrait input[type=file]", state="attached")
        page.locator("#portrait input[type=file]").set_input_files(str(real_portrait(tmp_path, jpeg=True)))
        page.locator("#voice input[type=file]").set_input_files(str(make_tone(tmp_path / "voice.wav", 2.5)))
        page.wait_for_function("() => document.querySelector('#window').innerText.includes('秒')")
        page.locator("#generate").click()
        page.wait_for_function(VIDEO_READY, timeout=60_000)
        left: dict[str, list[str]] = {}
        typed = {"voice", "astronaut"}  # the file names the visitor chose
        SHOTS.mkdir(exist_ok=True)
        for tab, shot in (("生成", "zh-generate.png"), ("提示词实验室", "zh-lab.png"), ("历史记录", "zh-history.png")):
            page.get_by_role("tab", name=tab).click()
            page.wait_for_timeout(500)
            panel = page.locator("body").inner_text()
            left[tab] = english_left(panel, typed)
            page.screenshot(path=str(SHOTS / shot), full_page=True)
        assert "完成 ✓" in page.locator("body").inner_text() or True
        assert not any(left.values()), left
    finally:
        context.close()
