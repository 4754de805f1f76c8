"""A Space-like launch: a mounted bucket as the data dir, the Space's host for callbacks, public mode, sign-in."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from pathlib import Path

import gradio.oauth
import httpx
import itsdangerous
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from avatar_demo.core.locales import CATALOGS
from avatar_demo.policy import Visitor
from tests.conftest import KEYS
from tests.ui.conftest import launched

# Gradio watches for code changes on a Space with the `spaces` package, which only Spaces have.
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")

SPACE = {"SYSTEM": "spaces", "SPACE_ID": "alice/avatar-demo", "SPACE_HOST": "alice-avatar-demo.hf.space",
         "OAUTH_CLIENT_ID": "client-id", "OAUTH_CLIENT_SECRET": "client-secret", "OAUTH_SCOPES": "openid profile",
         "OPENID_PROVIDER_URL": "https://huggingface.co"}


@pytest.fixture
def space_env(monkeypatch: pytest.MonkeyPatch, sim) -> dict[str, str]:
    """What a Space sets, in the process environment too (Gradio reads SYSTEM and SPACE_ID from it)."""
    for name, value in SPACE.items():
        monkeypatch.setenv(name, value)
        # gradio.oauth reads its variables when first imported, which in a Space is after the Space set them.
        if hasattr(gradio.oauth, name):
            monkeypatch.setattr(gradio.oauth, name, value)
    monkeypatch.delenv("AVATAR_DATA_DIR", raising=False)
    return {**SPACE, **sim.env(), **KEYS, "AVATAR_FREE_RUNS": "1", "AVATAR_FREE_SECONDS": "5"}


def session_cookie(username: str) -> str:
    """The session a Space's Hugging Face login leaves, signed with the key Gradio derives from the client secret."""
    key = hashlib.sha256((SPACE["OAUTH_CLIENT_SECRET"] + "-v4").encode()).hexdigest()
    session = {"oauth_info": {"access_token": "hf_oauth_token", "expires_at": time.time() + 3600, "scope": "openid",
                              "userinfo": {"preferred_username": username, "name": username.title(),
                                           "profile": f"https://huggingface.co/{username}", "picture": "",
                                           "orgs": []}}}
    data = base64.b64encode(json.dumps(session).encode())
    return itsdangerous.TimestampSigner(key).sign(data).decode()


def test_a_space_uses_its_bucket_its_host_and_public_mode(space_env, tmp_path: Path) -> None:
    """/data mounted and writable: history lives there; callbacks use SPACE_HOST; public mode is on; sign-in shows."""
    volume = tmp_path / "data"
    volume.mkdir()
    demo = launched(space_env, own_url=False, space_volume=volume)
    try:
        services = demo.services
        assert services.settings.data_dir == volume / "avatar-demo" and not services.settings.ephemeral
        assert services.storage.database.is_file()
        assert services.callbacks.url_for(1).startswith("https://alice-avatar-demo.hf.space/avatar-demo/callback/1/")
        assert services.settings.public and services.settings.house.proxy_hops == 1
        config = httpx.get(f"{demo.test_url}/config", timeout=10).json()
        assert any("Sign in with Hugging Face" in str(c.get("props", {}).get("value")) for c in config["components"])
        note = next(c for c in config["components"] if c.get("props", {}).get("elem_id") == "storage-note")
        assert note["props"]["visible"] is False
    finally:
        demo.close()


def test_without_a_bucket_the_page_says_once_that_data_is_lost(space_env, tmp_path: Path) -> None:
    demo = launched(space_env, own_url=False, space_volume=tmp_path / "no-bucket-here")
    try:
        assert demo.services.settings.ephemeral
        config = httpx.get(f"{demo.test_url}/config", timeout=10).json()
        notes = [c for c in config["components"] if c.get("props", {}).get("elem_id") == "storage-note"]
        assert len(notes) == 1 and notes[0]["props"]["visible"] is True
        # The words are the page's to translate: the note names its key, and each language has the words.
        key = json.loads(notes[0]["props"]["value"].removeprefix("__i18n__"))["key"]
        assert "lost when it restarts" in CATALOGS["en"][key] and "重启后" in CATALOGS["zh"][key]
    finally:
        demo.close()


def test_the_signed_in_username_is_the_visitor(space_env, media_dir: Path, tmp_path: Path, sim) -> None:
    """Alice's one free run follows her login, whatever address she comes from; Bob has his own."""
    volume = tmp_path / "data"
    volume.mkdir()
    demo = launched(space_env, own_url=False, space_volume=volume)
    sim.state.config.job_seconds = 1.0

    def generate(user: str, address: str) -> tuple:
        client = Client(demo.test_url, verbose=False, ssl_verify=False,
                        headers={"Cookie": f"session={session_cookie(user)}", "X-Forwarded-For": address})
        return client.predict(image=handle_file(str(media_dir / "portrait.jpg")),
                              audio=handle_file(str(media_dir / "speech.mp3")), provider="kling",
                              api_name="/generate")

    try:
        before = sim.state.creates.get("kling", 0)
        assert "done ✓" in generate("alice", "203.0.113.7")[0]
        with pytest.raises(AppError, match="0 of 1 free runs left"):
            generate("alice", "198.51.100.9")
        assert "done ✓" in generate("bob", "203.0.113.7")[0]
        assert sim.state.creates["kling"] - before == 2
        line = demo.services.policy.allowance_line(Visitor("hf:alice", "alice", signed_in=True))
        assert "0 of 1 free runs left today" in line and "alice" in line
    finally:
        demo.close()
