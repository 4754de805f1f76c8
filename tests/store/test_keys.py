"""The server's secrets and the signed browser ids made with them."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from avatar_demo.core.errors import InputError
from avatar_demo.store.keys import Keys, stored_secret

KEYS = Keys("server-secret-one", "state-secret")


def test_a_new_owner_verifies_and_is_fresh() -> None:
    """new_owner() ids verify on the server that made them and are never the same twice."""
    ids = {KEYS.new_owner() for _ in range(50)}
    assert len(ids) == 50
    for value in ids:
        assert KEYS.owner(value) == value
        assert value.startswith("b1.")


@pytest.mark.parametrize("value", [None, ""])
def test_an_empty_owner_is_none(value: object) -> None:
    """No browser id yet (None or empty) is None, not an error."""
    assert KEYS.owner(value) is None


def _tampered() -> list[str]:
    good = KEYS.new_owner()
    _, nonce, mac = good.split(".")
    flipped = mac[:-1] + ("0" if mac[-1] != "0" else "1")
    other_nonce = ("A" if nonce[0] != "A" else "B") + nonce[1:]
    return [
        f"b1.{nonce}.{flipped}",  # signature changed
        f"b1.{other_nonce}.{mac}",  # nonce changed, old signature
        f"b2.{nonce}.{mac}",  # another version prefix
        f"b1.{nonce}.{mac.upper()}",
        f" {good}",
        f"{good}\n",
        good[:-1],
        Keys("another-server", "state-secret").new_owner(),  # signed by another server
        "hello",
        "b1..",
        "alice",
    ]


@pytest.mark.parametrize("value", _tampered())
def test_a_forged_or_foreign_owner_is_refused(value: str) -> None:
    """A tampered id, another server's id or garbage is an InputError saying it is not one of ours."""
    with pytest.raises(InputError, match="not a browser id this app gave out"):
        KEYS.owner(value)


@pytest.mark.parametrize("value", [{"id": "x"}, ["b1.a.b"], 42, b"b1.x.y", {}, []])
def test_a_non_string_owner_is_refused(value: object) -> None:
    """A dict, list, number or bytes is an InputError asking for the string the app gave out."""
    with pytest.raises(InputError, match="a string"):
        KEYS.owner(value)


def test_stored_secret_is_private_and_stable(tmp_path: Path) -> None:
    """stored_secret() makes a long secret in a 0600 file (folders made) and returns it again on every call."""
    path = tmp_path / "deep" / "server.secret"
    first = stored_secret(path)
    assert len(first) >= 40
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stored_secret(path) == first
    assert path.read_text() == first


def test_stored_secret_replaces_an_empty_file(tmp_path: Path) -> None:
    """A blank secret file is not used: a new secret is made and kept."""
    path = tmp_path / "server.secret"
    path.write_text("  \n")
    made = stored_secret(path)
    assert made.strip() and stored_secret(path) == made


def test_stored_secret_reads_an_existing_one(tmp_path: Path) -> None:
    """An existing secret (with a trailing newline) is read back as is."""
    path = tmp_path / "server.secret"
    path.write_text("kept-secret\n")
    assert stored_secret(path) == "kept-secret"


def test_loaded_keys_survive_a_restart(tmp_path: Path) -> None:
    """Keys.load() without settings keeps its secrets in the data dir: ids from one run verify in the next."""
    first = Keys.load(tmp_path, None, None)
    owner = first.new_owner()
    again = Keys.load(tmp_path, None, None)
    assert again.owner(owner) == owner
    assert (again.server_secret, again.state_secret) == (first.server_secret, first.state_secret)
    assert first.server_secret != first.state_secret
    assert sorted(p.name for p in tmp_path.iterdir()) == ["browser-state.secret", "server.secret"]


def test_configured_secrets_win(tmp_path: Path) -> None:
    """AVATAR_SERVER_SECRET / AVATAR_STATE_SECRET values are used as given and nothing is written."""
    keys = Keys.load(tmp_path, "configured-server", "configured-state")
    assert (keys.server_secret, keys.state_secret) == ("configured-server", "configured-state")
    assert list(tmp_path.iterdir()) == []
    assert Keys("configured-server", "x").owner(keys.new_owner())
