"""The deploy command's arguments: malformed ones are refused by argparse (exit 2) without echoing values."""

from __future__ import annotations

import argparse

import pytest

from avatar_demo import space


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="avatar_demo")
    space.add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["deploy", *argv])


def test_arguments_are_parsed_into_names_pairs_and_mounts() -> None:
    args = parse("alice/demo", "--secret", "FAL_KEY", "--variable", "A=b=c", "--variable", "EMPTY=",
                 "--volume", "alice/data:/data", "--volume", "scratch", "--hardware", "t4-small", "--dry-run")
    assert (args.space, args.secret, args.hardware, args.dry_run) == ("alice/demo", ["FAL_KEY"], "t4-small", True)
    assert args.variable == [("A", "b=c"), ("EMPTY", "")]
    assert args.volume == [("alice/data", "/data"), ("scratch", "/data")]


@pytest.mark.parametrize("argv", [
    ("demo",), ("alice/demo/x",), ("alice/demo", "--secret", "NOT-A-NAME"),
    ("alice/demo", "--variable", "sk-secret-without-equals"), ("alice/demo", "--volume", "bucket:data"),
])
def test_malformed_arguments_exit_2_without_echoing_a_value(argv, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        parse(*argv)
    assert exit_.value.code == 2
    assert "sk-secret-without-equals" not in capsys.readouterr().err
