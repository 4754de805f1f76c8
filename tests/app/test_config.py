"""load_settings: argument > environment > default, credentials from key groups, public mode and the data dir."""

from __future__ import annotations

from pathlib import Path

import pytest

from avatar_demo import providers
from avatar_demo.app.config import load_settings
from avatar_demo.core.errors import ConfigError, InputError
from avatar_demo.providers.spec import Pricing, ProviderConfig, ProviderSpec


@pytest.fixture
def no_volume(tmp_path: Path) -> Path:
    """A Space volume path that is not mounted."""
    return tmp_path / "no-volume"


def settings(env: dict[str, str], no_volume: Path, **overrides: object):  # type: ignore[no-untyped-def]
    return load_settings(env, space_volume=no_volume, **overrides)


# (setting, environment variable, environment value, value read from it, keyword value, default)
PRECEDENCE = [
    ("max_audio_s", "AVATAR_MAX_AUDIO_S", "45", 45.0, 30.0, 60.0),
    ("poll_deadline_s", "AVATAR_POLL_DEADLINE_S", "600", 600.0, 90.0, 1200.0),
    ("queue_size", "AVATAR_QUEUE_SIZE", "10", 10, 3, 256),
    ("prepare_slots", "AVATAR_CONCURRENCY", "7", 7, 1, None),
    ("public_url", "AVATAR_PUBLIC_URL", "https://env.example/", "https://env.example", "https://arg.example", None),
    ("mcp", "AVATAR_MCP", "yes", True, False, False),
    ("hf_dataset", "AVATAR_HF_DATASET", "me/media", "me/media", "you/media", None),
    ("data_dir", "AVATAR_DATA_DIR", "/srv/env-data", Path("/srv/env-data"), Path("/srv/arg-data"), None),
]


@pytest.mark.parametrize(("name", "variable", "raw", "from_env", "argument", "default"), PRECEDENCE,
                         ids=[row[0] for row in PRECEDENCE])
def test_argument_beats_environment_beats_default(no_volume: Path, name: str, variable: str, raw: str,
                                                   from_env: object, argument: object, default: object) -> None:
    """Each setting: the keyword argument wins, else the environment variable, else the default."""
    if default is not None:
        assert getattr(settings({}, no_volume), name) == default
    assert getattr(settings({variable: raw}, no_volume), name) == from_env
    assert getattr(settings({variable: raw}, no_volume, **{name: argument}), name) == argument


def test_reads_os_environ_when_no_mapping_is_given(monkeypatch: pytest.MonkeyPatch, no_volume: Path) -> None:
    """Without an explicit mapping, load_settings reads the process environment."""
    monkeypatch.setenv("AVATAR_MAX_AUDIO_S", "42")
    monkeypatch.setenv("COMETAPI_KEY", "c-1")
    loaded = load_settings(space_volume=no_volume)
    assert loaded.max_audio_s == 42.0
    assert loaded.provider("cometapi").credential("COMETAPI_KEY") == "c-1"


def test_house_rules_and_retention_come_from_the_environment(no_volume: Path) -> None:
    """House rules and retention read their variables, and keep their defaults otherwise."""
    loaded = settings({"AVATAR_FREE_RUNS": "5", "AVATAR_DAILY_UNITS": "12.5", "AVATAR_HOUSE_KEY": "off",
                       "AVATAR_ALLOWED_ORGS": " acme, ,beta ", "AVATAR_RETENTION_DAYS": "2",
                       "AVATAR_MAX_DISK_MB": "100"}, no_volume)
    assert (loaded.house.free_runs, loaded.house.daily_units, loaded.house.house_key) == (5, 12.5, False)
    assert loaded.house.allowed_orgs == ("acme", "beta")
    assert (loaded.retention.days, loaded.retention.max_disk_mb, loaded.retention.min_free_mb) == (2.0, 100.0, 64.0)
    plain = settings({}, no_volume)
    assert (plain.house.free_runs, plain.house.house_key, plain.house.max_jobs) == (3, True, 2)


# ---------------------------------------------------------------- credentials


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"KLING_ACCESS_KEY": "ak", "KLING_SECRET_KEY": "sk"}, {"KLING_ACCESS_KEY": "ak", "KLING_SECRET_KEY": "sk"}),
        ({"KLING_API_KEY": "plain"}, {"KLING_API_KEY": "plain"}),
        # The first complete group wins, even when a later one is set too.
        ({"KLING_ACCESS_KEY": "ak", "KLING_SECRET_KEY": "sk", "KLING_API_KEY": "plain"},
         {"KLING_ACCESS_KEY": "ak", "KLING_SECRET_KEY": "sk"}),
        # An incomplete pair is skipped in favour of the next complete group.
        ({"KLING_ACCESS_KEY": "ak", "KLING_API_KEY": "plain"}, {"KLING_API_KEY": "plain"}),
        ({"KLING_ACCESS_KEY": "ak", "KLING_SECRET_KEY": "   ", "KLING_API_KEY": " plain "}, {"KLING_API_KEY": "plain"}),
        ({"KLING_ACCESS_KEY": "ak"}, {}),
        ({}, {}),
    ],
)
def test_kling_credentials_come_from_the_first_complete_key_group(no_volume: Path, env: dict[str, str],
                                                                 expected: dict[str, str]) -> None:
    """Kling's key is the access+secret pair when both are set, else KLING_API_KEY; blanks count as missing."""
    config = settings(env, no_volume).provider("kling")
    assert dict(config.credentials) == expected
    assert config.configured is bool(expected)


@pytest.mark.parametrize(
    ("name", "variable"),
    [("cometapi", "COMETAPI_KEY"), ("kkiai", "KKIAI_API_KEY"), ("modellix", "MODELLIX_API_KEY"),
     ("crun", "CRUN_API_KEY"), ("fal", "FAL_KEY")],
)
def test_single_key_providers_read_their_variable(no_volume: Path, name: str, variable: str) -> None:
    """Every single-key provider reads exactly its own variable (a fal key keeps its colon)."""
    loaded = settings({variable: "id:secret"}, no_volume)
    assert dict(loaded.provider(name).credentials) == {variable: "id:secret"}
    others = [n for n in providers.names() if n not in (name, "local")]
    assert not any(loaded.provider(other).credentials for other in others)


def test_base_url_from_environment_else_default(no_volume: Path) -> None:
    """<NAME>_BASE_URL replaces the default base URL (trailing slash dropped)."""
    loaded = settings({"CRUN_BASE_URL": "http://127.0.0.1:9/crun/"}, no_volume)
    assert loaded.provider("crun").base_url == "http://127.0.0.1:9/crun"
    assert loaded.provider("fal").base_url == providers.spec("fal").default_base_url


@pytest.mark.parametrize(
    ("name", "key", "expected"),
    [
        ("kling", "ak:sk", {"KLING_ACCESS_KEY": "ak", "KLING_SECRET_KEY": "sk"}),
        ("kling", " ak : sk ", {"KLING_ACCESS_KEY": "ak", "KLING_SECRET_KEY": "sk"}),
        ("kling", "plain-key", {"KLING_API_KEY": "plain-key"}),
        ("fal", "fal-id:fal-secret", {"FAL_KEY": "fal-id:fal-secret"}),
        ("cometapi", "sk-comet", {"COMETAPI_KEY": "sk-comet"}),
        ("crun", "a:b:c", {"CRUN_API_KEY": "a:b:c"}),
    ],
)
def test_with_user_key_fills_the_right_group(no_volume: Path, name: str, key: str, expected: dict[str, str]) -> None:
    """"A:B" fills a two-variable group when there is one; anything else fills the one-variable group, colons kept."""
    house = settings({"KLING_API_KEY": "house", "FAL_KEY": "house", "COMETAPI_KEY": "house"}, no_volume)
    assert dict(house.provider(name).with_user_key(key).credentials) == expected


def test_with_user_key_keeps_the_config_for_an_empty_key_or_a_free_provider(no_volume: Path) -> None:
    """No key (or only spaces), or a free provider: the config is returned unchanged."""
    loaded = settings({"FAL_KEY": "house"}, no_volume)
    fal = loaded.provider("fal")
    assert fal.with_user_key(None) is fal
    assert fal.with_user_key("   ") is fal
    local = loaded.provider("local")
    assert local.with_user_key("anything") is local


@pytest.mark.parametrize(("name", "key"), [("kling", ":"), ("kling", "ak:"), ("kling", ":sk"), ("kling", "ak:s k"),
                                         ("kling", "clé-à-moi"), ("fal", "id:se cret"), ("cometapi", "sk\x00x"),
                                         ("crun", "k\u200bey"), ("modellix", "key\x7f"), ("kling", "a\nb")])
def test_with_user_key_refuses_a_key_no_header_can_carry(no_volume: Path, name: str, key: str) -> None:
    """Attack: api_key=":" (or one with a letter beyond ASCII) never left in a header, yet its run was an unclear
    create holding the visitor's slots for 20 minutes. Refused here, before anything is held, as nothing sent."""
    house = settings({"KLING_API_KEY": "house", "FAL_KEY": "house"}, no_volume)
    with pytest.raises(InputError, match="Nothing was sent"):
        house.provider(name).with_user_key(key)


def test_with_user_key_refuses_a_single_key_for_a_pair_only_provider() -> None:
    """A provider whose only key group is a pair refuses a key without ':' and names both variables."""
    spec = ProviderSpec("pairs", "Pairs", "x:Y", key_groups=(("P_ID", "P_SECRET"),), pricing=Pricing({"std": 1.0}))
    config = ProviderConfig.from_env(spec, {})
    with pytest.raises(ConfigError, match="P_ID\\+P_SECRET"):
        config.with_user_key("no-colon")
    assert dict(config.with_user_key("i:s").credentials) == {"P_ID": "i", "P_SECRET": "s"}


@pytest.mark.parametrize(
    ("name", "variables"),
    [("kling", "KLING_ACCESS_KEY+KLING_SECRET_KEY or KLING_API_KEY"), ("fal", "FAL_KEY"), ("crun", "CRUN_API_KEY")],
)
def test_a_missing_key_names_its_variables(no_volume: Path, name: str, variables: str) -> None:
    """require_key() on a provider without a key raises a ConfigError naming the variable(s) to set."""
    config = settings({}, no_volume).provider(name)
    with pytest.raises(ConfigError) as caught:
        config.require_key()
    assert variables in str(caught.value)


def test_configured_lists_keyed_and_free_providers(no_volume: Path) -> None:
    """configured holds the providers with a key plus the free preview, in registry order."""
    assert settings({"FAL_KEY": "f", "KKIAI_API_KEY": "k"}, no_volume).configured == ["kkiai", "fal", "local"]


def test_an_unknown_provider_name_is_a_config_error(no_volume: Path) -> None:
    """Settings.provider() of an unknown name raises a ConfigError listing the valid names."""
    with pytest.raises(ConfigError, match="kling"):
        settings({}, no_volume).provider("nope")


# ---------------------------------------------------------------- default provider


@pytest.mark.parametrize(
    ("env", "overrides", "expected"),
    [
        ({}, {}, "local"),
        ({"FAL_KEY": "f"}, {}, "fal"),
        ({"FAL_KEY": "f", "COMETAPI_KEY": "c"}, {}, "cometapi"),
        ({"FAL_KEY": "f", "CRUN_API_KEY": "c", "KLING_API_KEY": "k"}, {}, "kling"),
        ({"KLING_ACCESS_KEY": "only-half", "MODELLIX_API_KEY": "m"}, {}, "modellix"),
        ({"FAL_KEY": "f", "AVATAR_PROVIDER": "local"}, {}, "local"),
        ({"AVATAR_PROVIDER": "crun"}, {}, "crun"),  # chosen even without a key: it will ask for one
        ({"AVATAR_PROVIDER": "crun", "FAL_KEY": "f"}, {"default_provider": "kkiai"}, "kkiai"),
    ],
)
def test_default_provider_choice(no_volume: Path, env: dict[str, str], overrides: dict[str, str],
                                 expected: str) -> None:
    """Argument, else AVATAR_PROVIDER, else the first paid provider with a key in registry order, else local."""
    assert settings(env, no_volume, **overrides).default_provider == expected


def test_an_unknown_avatar_provider_names_the_variable(no_volume: Path) -> None:
    """AVATAR_PROVIDER naming no provider raises a ConfigError naming AVATAR_PROVIDER."""
    with pytest.raises(ConfigError, match="AVATAR_PROVIDER"):
        settings({"AVATAR_PROVIDER": "klingg"}, no_volume)


# ---------------------------------------------------------------- public mode


@pytest.mark.parametrize(
    ("env", "overrides", "public", "share"),
    [
        ({}, {}, False, False),
        ({"SPACE_ID": "me/app"}, {}, True, False),
        ({"GRADIO_SHARE": "1"}, {}, True, True),
        ({"GRADIO_SHARE": "0"}, {}, False, False),
        ({}, {"share": True}, True, True),
        ({"GRADIO_SHARE": "1"}, {"share": False}, False, False),
        ({"SPACE_ID": "me/app"}, {"share": True}, True, False),  # Gradio ignores share on a Space
        ({"AVATAR_PUBLIC": "1"}, {}, True, False),
        ({"SPACE_ID": "me/app", "AVATAR_PUBLIC": "0"}, {}, False, False),
        ({"GRADIO_SHARE": "true", "AVATAR_PUBLIC": "off"}, {}, False, True),
    ],
)
def test_public_mode(no_volume: Path, env: dict[str, str], overrides: dict[str, object], public: bool,
                     share: bool) -> None:
    """A Space or a share link is public, AVATAR_PUBLIC says so explicitly either way, a plain run is private."""
    loaded = settings(env, no_volume, **overrides)
    assert (loaded.public, loaded.share) == (public, share)


@pytest.mark.parametrize(("env", "public"), [({}, True), ({"SPACE_ID": "me/app"}, False),
                                             ({"AVATAR_PUBLIC": "0"}, True)])
def test_public_keyword_argument_wins(no_volume: Path, env: dict[str, str], public: bool) -> None:
    """public= given as a keyword beats SPACE_ID, GRADIO_SHARE and AVATAR_PUBLIC, like every other setting."""
    assert settings(env, no_volume, public=public).public is public


@pytest.mark.parametrize(
    ("env", "hops"),
    [({}, 0), ({"SPACE_ID": "me/app"}, 1), ({"SPACE_ID": "me/app", "AVATAR_PROXY_HOPS": "0"}, 0),
     ({"AVATAR_PROXY_HOPS": "2"}, 2)],
)
def test_proxy_hops_default_to_one_on_a_space(no_volume: Path, env: dict[str, str], hops: int) -> None:
    """Trusted proxy hops: AVATAR_PROXY_HOPS, else 1 on a Space (its own proxy), else 0."""
    assert settings(env, no_volume).house.proxy_hops == hops


def test_space_host_gives_the_public_url_and_oauth_needs_a_space(no_volume: Path) -> None:
    """SPACE_HOST makes the public URL (first host); OAuth is on only on a Space with an OAuth client."""
    space = {"SPACE_ID": "me/app", "SPACE_HOST": "me-app.hf.space, other.example", "SYSTEM": "spaces",
             "OAUTH_CLIENT_ID": "cid"}
    loaded = settings(space, no_volume)
    assert loaded.public_url == "https://me-app.hf.space"
    assert loaded.oauth is True
    assert settings({**space, "AVATAR_PUBLIC_URL": "https://mine.example/"}, no_volume).public_url == \
        "https://mine.example"
    assert settings({"OAUTH_CLIENT_ID": "cid", "SYSTEM": "spaces"}, no_volume).oauth is False


# ---------------------------------------------------------------- data dir


def test_data_dir_from_environment(tmp_path: Path) -> None:
    """AVATAR_DATA_DIR wins over a mounted volume and is never ephemeral."""
    volume = tmp_path / "data"
    volume.mkdir()
    loaded = load_settings({"AVATAR_DATA_DIR": str(tmp_path / "mine"), "SPACE_ID": "me/app"}, space_volume=volume)
    assert (loaded.data_dir, loaded.ephemeral) == (tmp_path / "mine", False)


@pytest.mark.parametrize("space", [False, True])
def test_data_dir_on_a_writable_volume(tmp_path: Path, space: bool) -> None:
    """A writable volume holds <volume>/avatar-demo, kept across restarts."""
    volume = tmp_path / "data"
    volume.mkdir()
    env = {"XDG_DATA_HOME": str(tmp_path / "xdg"), **({"SPACE_ID": "me/app"} if space else {})}
    loaded = load_settings(env, space_volume=volume)
    assert (loaded.data_dir, loaded.ephemeral) == (volume / "avatar-demo", False)


@pytest.mark.parametrize(("space", "ephemeral"), [(False, False), (True, True)])
def test_data_dir_local_without_a_volume(tmp_path: Path, space: bool, ephemeral: bool) -> None:
    """Without a volume the data dir is local, and ephemeral only on a Space."""
    not_a_dir = tmp_path / "data"
    not_a_dir.write_text("a file, not a mounted volume")
    env = {"XDG_DATA_HOME": str(tmp_path / "xdg"), **({"SPACE_ID": "me/app"} if space else {})}
    for volume in (tmp_path / "missing", not_a_dir):
        loaded = load_settings(env, space_volume=volume)
        assert (loaded.data_dir, loaded.ephemeral) == (tmp_path / "xdg" / "avatar-demo", ephemeral)


# ---------------------------------------------------------------- malformed values


@pytest.mark.parametrize(
    ("variable", "raw"),
    [
        ("AVATAR_MAX_AUDIO_S", "sixty"),
        ("AVATAR_MAX_AUDIO_S", "1"),  # below the 2 s minimum
        ("AVATAR_MAX_AUDIO_S", "301"),
        ("AVATAR_POLL_DEADLINE_S", "0"),
        ("AVATAR_QUEUE_SIZE", "1e3x"),
        ("AVATAR_FREE_RUNS", "-1"),
        ("AVATAR_PROXY_HOPS", "11"),
        ("AVATAR_RETENTION_DAYS", "forever"),
        ("AVATAR_MCP", "maybe"),
        ("AVATAR_PUBLIC", "2"),
        ("GRADIO_SHARE", "sure"),
        ("AVATAR_HOUSE_KEY", "enabled"),
        ("AVATAR_AUTH", "no-colon"),
        ("AVATAR_AUTH", ":password"),
        ("AVATAR_AUTH", "user:"),
        ("AVATAR_AUTH", "   :pw"),
    ],
)
def test_malformed_values_name_their_variable(no_volume: Path, variable: str, raw: str) -> None:
    """A malformed number, flag or AVATAR_AUTH raises a ConfigError naming the variable."""
    with pytest.raises(ConfigError, match=variable):
        settings({variable: raw}, no_volume)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("admin:secret", ("admin", "secret")), (" admin :pa:ss", ("admin", "pa:ss")), ("", None)],
)
def test_auth_is_user_and_password(no_volume: Path, raw: str, expected: tuple[str, str] | None) -> None:
    """AVATAR_AUTH splits at the first colon; the user is trimmed, the password kept whole."""
    assert settings({"AVATAR_AUTH": raw}, no_volume).auth == expected


@pytest.mark.parametrize(("raw", "expected"), [("", 60.0), ("   ", 60.0), ("2", 2.0), ("300", 300.0)])
def test_blank_numbers_fall_back_and_bounds_are_inclusive(no_volume: Path, raw: str, expected: float) -> None:
    """A blank number is the default; the documented bounds themselves are accepted."""
    assert settings({"AVATAR_MAX_AUDIO_S": raw}, no_volume).max_audio_s == expected
