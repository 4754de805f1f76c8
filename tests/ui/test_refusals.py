"""Every refusal a person can meet through /generate says what is wrong and what to do, and sends nothing.

One table: bad photos, bad voices, a long prompt, a missing or wrong key, a used-up allowance and a full disk,
each called through gradio_client against the launched app and the simulator.
"""

from __future__ import annotations

import collections
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from tests.conftest import KEYS
from tests.helpers import make_image, make_tone
from tests.security.conftest import public_env
from tests.ui.conftest import launched

Maker = Callable[[Path], Path]


def _text(name: str, text: str) -> Maker:
    def make(folder: Path) -> Path:
        path = folder / name
        path.write_text(text)
        return path
    return make


def _truncated_jpeg(folder: Path) -> Path:
    whole = make_image(folder / "whole.jpg", (800, 800), quality=95).read_bytes()
    (folder / "cut.jpg").write_bytes(whole[: len(whole) // 2])
    return folder / "cut.jpg"


def _bomb(folder: Path) -> Path:
    Image.new("1", (10000, 10000)).save(folder / "bomb.png", optimize=True)
    return folder / "bomb.png"


def _silence(folder: Path) -> Path:
    return make_tone(folder / "quiet.wav", 3.0, silent=True)


@dataclass(frozen=True)
class Case:
    """One refusal: what is sent, and the two halves every message must have (what is wrong, what to do)."""

    what: str
    what_to_do: str
    image: Maker | None = None
    audio: Maker | None = None
    values: dict[str, object] = field(default_factory=dict)
    public: bool = False
    disk_full: bool = False


CASES = {
    "photo-not-an-image": Case("is not a photo this app can read", "upload a JPEG", image=_text("notes.jpg", "hi\n" * 50)),
    "photo-damaged": Case("is truncated or damaged", "take or export it again", image=_truncated_jpeg),
    "photo-too-large": Case("too large to open safely", "4000 px on the long side", image=_bomb),
    "voice-not-audio": Case("is not a sound", "upload", audio=_text("notes.wav", "not audio\n" * 50)),
    "voice-silent": Case("is silent", "record or upload", audio=_silence),
    "voice-start-past-end": Case("past the end", "choose a start", values={"start": 30}),
    "prompt-too-long": Case("the limit is 2500", "shorten it by 500", values={"prompt": "x" * 3000}),
    "key-missing": Case("No API key for Modellix", "paste your own key", values={"provider": "modellix"}),
    "key-wrong": Case("invalid", "check the API key", values={"provider": "cometapi", "api_key": "wrong-key"}),
    "allowance-used-up": Case("free runs left today", "paste your own key", values={"provider": "kling"},
                              public=True),
    "disk-full": Case("disk is full", "nothing was charged", disk_full=True),
}


@pytest.fixture(scope="module")
def apps(sim, tmp_path_factory: pytest.TempPathFactory):
    """A private app (Modellix without a server key) and a public one whose visitors have no free runs."""
    private = launched({**sim.env(), **{k: v for k, v in KEYS.items() if k != "MODELLIX_API_KEY"},
                        "AVATAR_DATA_DIR": str(tmp_path_factory.mktemp("private"))})
    public = launched(public_env(sim, tmp_path_factory.mktemp("public"), AVATAR_FREE_RUNS="0"))
    yield {False: private, True: public}
    private.close()
    public.close()


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_refusal_says_what_and_what_to_do_and_sends_nothing(apps, sim, media_dir: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch, case: Case) -> None:
    app = apps[case.public]
    image = case.image(tmp_path) if case.image else media_dir / "portrait.jpg"
    audio = case.audio(tmp_path) if case.audio else media_dir / "speech.mp3"
    if case.disk_full:
        usage = collections.namedtuple("usage", "total used free")
        monkeypatch.setattr(shutil, "disk_usage", lambda _path: usage(10 << 30, (10 << 30) - (1 << 20), 1 << 20))
    values = {"prompt": "", "mode": "std", "provider": "local", **case.values}
    before = sum(sim.state.creates.values())
    with pytest.raises(AppError) as caught:
        Client(app.test_url, verbose=False).predict(image=handle_file(str(image)), audio=handle_file(str(audio)),
                                                   api_name="/generate", **values)
    message = str(caught.value)
    assert case.what in message and case.what_to_do in message, message
    assert "Traceback" not in message and "Errno" not in message and "verbose error" not in message
    assert sum(sim.state.creates.values()) == before
