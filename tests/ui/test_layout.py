"""The first five minutes, in Chromium, on a laptop and on a phone, in English and in Chinese.

A stranger opens the page, makes the usual mistakes (Generate with nothing, a run number of 0, a paid gateway
without a key), then uploads a photo and a voice and presses Generate twice by accident. Each mistake is said
once, in place, in the page's language; the status and the result are in view after the click; the double click
makes one run; nothing is wider than its column. Screenshots are left in test-output/ for people to look at.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from avatar_demo import providers
from tests.helpers import make_tone, real_portrait
from tests.ui.browsing import GRADIO_ERRORS, IN_VIEW, SHOTS, TOO_WIDE, english_left, require_chromium

pytestmark = pytest.mark.browser

SIZES = {"laptop": {"width": 1440, "height": 900}, "phone": {"width": 390, "height": 844}}
#: What each language's page says, by what the test looks for.
WORDS = {
    "en": {"refused": "nothing was sent", "no_photo": "Add a portrait photo first", "window": "of the",
           "not_yours": "Run 0 is not one of your runs", "no_key": "No API key for Modellix", "done": "done ✓",
           "history": "History", "lab": "Prompt lab", "generate": "Generate",
           "lab_no_photo": "Add a portrait photo on the Generate tab first"},
    "zh": {"refused": "没有发送任何请求", "no_photo": "请先添加一张人像照片", "window": "秒",
           "not_yours": "第 0 次生成不是你的", "no_key": "Modellix 没有 API 密钥", "done": "完成 ✓",
           "history": "历史记录", "lab": "提示词实验室", "generate": "生成",
           "lab_no_photo": "请先在“生成”页添加人像照片"},
}
#: Gradio's own words for a bad value: none may reach the page (the app's checks come first). Its "Error" pill is
#: looked for as an element (it stays in the page, unseen, when an event shows no progress).
GRADIO_WORDS = ("less than minimum", "greater than maximum", "is not in the list of choices", "verbose error")
VIDEO_READY = ("() => { const v = document.querySelector('#result video');"
               " return v !== null && v.readyState >= 1 && isFinite(v.duration); }")


@pytest.fixture(scope="module")
def driver() -> Iterator[object]:
    """Playwright for the module (one per process: a second would nest its event loop in the first)."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="module")
def browsers(driver) -> Iterator[dict[str, object]]:
    """A Chromium per language, started as a browser set to that language is."""
    launched = {lang: driver.chromium.launch(executable_path=require_chromium(), args=[
        "--no-sandbox", "--disable-background-networking", f"--lang={'zh-CN' if lang == 'zh' else 'en-US'}"])
        for lang in WORDS}
    yield launched
    for chromium in launched.values():
        chromium.close()


def _said_once(page, words: str) -> None:
    """*words* are on the page exactly once, and no sign of Gradio's own error handling is."""
    body = page.locator("body").inner_text()
    assert body.count(words) == 1, f"{words!r} is shown {body.count(words)} times"
    signs = page.evaluate(GRADIO_ERRORS)
    assert signs == {"pills": [], "toasts": []}, signs
    assert not [w for w in GRADIO_WORDS if w in body], [w for w in GRADIO_WORDS if w in body]


def _wait_for_text(page, css: str, words: str, timeout: float = 30_000) -> None:
    page.wait_for_function("([css, words]) => (document.querySelector(css)?.innerText || '').includes(words)",
                           arg=[css, words], timeout=timeout)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("lang", WORDS)
def test_a_first_run_on_a_laptop_and_a_phone(browsers, app, fresh_sim, tmp_path: Path, lang: str, size: str) -> None:
    words = WORDS[lang]
    context = browsers[lang].new_context(locale="zh-CN" if lang == "zh" else "en-US", viewport=SIZES[size])
    page = context.new_page()
    page.set_default_timeout(30_000)
    shot = SHOTS / f"first-run-{lang}-{size}"
    SHOTS.mkdir(exist_ok=True)
    try:
        page.goto(app.test_url)
        page.wait_for_selector("#portrait input[type=file]", state="attached")
        page.wait_for_function("() => document.querySelector('#examples .example') !== null")
        page.screenshot(path=f"{shot}-1-open.png")

        # Generate with nothing: our own words, once, where the status is.
        page.locator("#generate").click()
        _wait_for_text(page, "#status", words["no_photo"])
        _said_once(page, words["no_photo"])
        page.wait_for_function("() => !document.querySelector('#generate').disabled", timeout=5_000)
        # The lab, which has no upload of its own, says where the photo goes.
        page.get_by_role("tab", name=words["lab"]).click()
        page.locator("#lab-go").click()
        _wait_for_text(page, "#lab-status", words["lab_no_photo"])
        _said_once(page, words["lab_no_photo"])
        page.get_by_role("tab", name=words["generate"], exact=True).click()

        # A paid gateway without a key: the key panel opens at once and links to where keys are made.
        page.locator("#provider input").click()
        page.get_by_role("option", name="Modellix", exact=False).click()
        page.wait_for_function("() => document.querySelector('#api-key input')?.offsetParent != null")
        link = page.locator("#key-help a")
        assert link.get_attribute("href") == providers.spec("modellix").key_url
        assert page.evaluate(TOO_WIDE) == []
        page.screenshot(path=f"{shot}-2-key-panel.png")

        # Photo and voice in; then Generate without a key: said once, in place.
        page.locator("#portrait input[type=file]").set_input_files(str(real_portrait(tmp_path, jpeg=True)))
        page.locator("#voice input[type=file]").set_input_files(str(make_tone(tmp_path / "voice.wav", 3.0)))
        _wait_for_text(page, "#window", words["window"])
        page.locator("#generate").click()
        _wait_for_text(page, "#status", words["no_key"])
        _said_once(page, words["no_key"])

        # Back to the free preview; an accidental double click on Generate.
        page.locator("#provider input").click()
        page.get_by_role("option", name=providers.spec("local").label.render(lang), exact=False).click()
        page.wait_for_function("() => document.querySelector('#api-key input')?.offsetParent == null")
        page.locator("#generate").dblclick()
        assert page.locator("#generate").is_disabled(), "the button is disabled from the click"
        page.wait_for_function("() => document.querySelector('#cancel')?.offsetParent != null")
        assert page.evaluate(IN_VIEW, "#status") is True and page.evaluate(IN_VIEW, "#result") is True
        page.wait_for_function(VIDEO_READY, timeout=60_000)
        _wait_for_text(page, "#status", words["done"])
        page.wait_for_function("() => !document.querySelector('#generate').disabled")
        assert page.evaluate("() => document.querySelector('#cancel')?.offsetParent") is None, "Cancel is gone"
        page.screenshot(path=f"{shot}-3-done.png")
        for css in ("#status", "#result"):
            assert page.evaluate(IN_VIEW, css) is True, page.evaluate(IN_VIEW, css)
        assert page.evaluate(TOO_WIDE) == []
        page.mouse.move(0, 0)  # the picture shows the page, not a button under the pointer
        page.wait_for_timeout(400)  # nor a button still fading back in
        page.screenshot(path=f"{shot}-3-done.png")
        page.screenshot(path=f"{shot}-4-whole-page.png", full_page=True)

        # One click, one run: the History lists this browser's only run; the run number 0 is refused in place.
        page.get_by_role("tab", name=words["history"]).click()
        page.wait_for_function("() => document.querySelectorAll('#history tr[data-run]').length > 0")
        page.wait_for_timeout(1000)  # a second run, had one been started, would be listed by now
        assert page.locator("#history tr[data-run]").count() == 1
        # A run's own button picks it: the re-run fields are filled with its settings.
        run = page.locator("#history tr[data-run]").get_attribute("data-run")
        page.locator("#history button.pick").click()
        page.wait_for_function(f"() => document.querySelector('#history-run input')?.value === '{run}'")
        page.wait_for_function("() => document.querySelector('#history-gateway input')?.value !== ''")
        assert page.evaluate(TOO_WIDE) == []
        page.locator("#history-run input").fill("0")
        page.locator("#history-save").click()
        _wait_for_text(page, "#history-verdict", words["not_yours"])
        _said_once(page, words["not_yours"])
        assert page.evaluate(TOO_WIDE) == []
        page.screenshot(path=f"{shot}-5-history.png", full_page=True)

        if lang == "zh":
            typed = {"voice", "astronaut"}  # the file names the visitor chose
            left = {}
            for tab in ("生成", "提示词实验室", "历史记录"):
                page.get_by_role("tab", name=tab).click()
                page.wait_for_timeout(300)
                left[tab] = english_left(page.locator("body").inner_text(), typed)
            assert not any(left.values()), left
    finally:
        context.close()


def test_one_click_on_an_example_fills_the_photo_the_voice_and_the_prompt(browsers, app) -> None:
    context = browsers["en"].new_context(locale="en-US", viewport=SIZES["laptop"])
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        page.goto(app.test_url)
        page.wait_for_selector("#examples .example")
        page.locator("#examples .example").first.click()
        _wait_for_text(page, "#window", "of the 7.9 s clip")  # the example's voice, measured
        page.wait_for_function("() => document.querySelector('#portrait img') !== null")
        assert page.locator("#prompt textarea").input_value().startswith("Speaking warmly")
        _wait_for_text(page, "#status", "a face was found")  # the photo is checked as an upload is
    finally:
        context.close()
