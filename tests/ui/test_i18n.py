"""The language of what the app says at run time: chosen by Accept-Language, English for API callers by default."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from avatar_demo.ui.i18n import language_of


@pytest.mark.parametrize(("header", "expected"), [
    (None, "en"),
    ("", "en"),
    ("zh-CN,zh;q=0.9", "zh"),
    ("zh-TW", "zh"),
    ("en-US,en;q=0.9,zh-CN;q=0.8", "en"),
    ("fr-FR,fr;q=0.9,zh;q=0.8,en;q=0.7", "zh"),
    ("de,fr;q=0.5", "en"),
    ("en;q=0.2,zh;q=0.9", "zh"),
    ("zh;q=0", "en"),
    ("zh;q=garbage,en", "en"),
])
def test_the_preferred_language_we_speak_wins(header: str | None, expected: str) -> None:
    request = SimpleNamespace(headers={} if header is None else {"accept-language": header})
    assert language_of(request) == expected
    assert language_of(None) == "en"


def test_api_callers_read_english_unless_they_ask_for_chinese(app, fresh_sim, media_dir: Path) -> None:
    """The same call, twice: the status and the refusal are in the language the caller asked for."""
    arguments = {"image": handle_file(str(media_dir / "portrait.jpg")), "audio": handle_file(str(media_dir / "speech.mp3")),
                 "provider": "local", "api_name": "/generate"}
    english = Client(app.test_url, verbose=False).predict(**arguments)
    chinese = Client(app.test_url, verbose=False, headers={"Accept-Language": "zh-CN"}).predict(**arguments)
    assert english[0].startswith("**Status:** done ✓") and "Changes made to your inputs" in english[1]
    assert chinese[0].startswith("**状态：** 完成 ✓") and "对你的输入所做的调整" in chinese[1]
    with pytest.raises(AppError, match="是空的"):
        empty = media_dir.parent / "empty.jpg"
        empty.write_bytes(b"")
        Client(app.test_url, verbose=False, headers={"Accept-Language": "zh"}).predict(
            **{**arguments, "image": handle_file(str(empty))})
