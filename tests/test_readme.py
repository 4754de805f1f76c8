"""The README stays true: its Python snippet runs as written, and every setting the code reads is in its table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from avatar_demo import providers
from tests.helpers import make_image, make_tone
from tests.ui.conftest import launched

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _block(language: str, containing: str) -> str:
    return next(b for b in re.findall(rf"```{language}\n(.*?)```", README, re.S) if containing in b)


def test_the_python_snippet_works_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    """Only the address and the two file names are swapped for a launched app and generated media."""
    demo = launched({"AVATAR_DATA_DIR": str(tmp_path / "data")})
    monkeypatch.chdir(tmp_path)
    make_image(tmp_path / "portrait.jpg", (600, 800))
    make_tone(tmp_path / "voice.m4a", 3.0)
    try:
        snippet = _block("python", "gradio_client").replace("http://127.0.0.1:7860/", demo.test_url + "/")
        exec(compile(snippet, "README.md", "exec"), {})  # noqa: S102 - the README's own code
    finally:
        demo.close()
    printed = capsys.readouterr().out
    assert "done ✓" in printed and ".mp4" in printed


def test_every_setting_the_code_reads_is_in_the_table() -> None:
    read = set()
    for path in (ROOT / "avatar_demo").rglob("*.py"):
        read |= set(re.findall(r"""(?:env|environ)(?:\.get\(|\[|, )["']((?:AVATAR|GRADIO_SHARE|HF_TOKEN)[A-Z_]*)["']""",
                               path.read_text()))
    read |= {variable for spec in providers.specs() for group in spec.key_groups for variable in group}
    table = README.split("## Settings", 1)[1].split("\n## ", 1)[0]
    missing = sorted(v for v in read if f"`{v}`" not in table)
    assert len(read) > 25 and missing == []


def test_the_front_matter_is_what_a_space_and_a_duplicator_need() -> None:
    front = README.split("---", 2)[1]
    pinned = re.search(r"^gradio\S*==([\d.]+)", (ROOT / "requirements.txt").read_text(), re.M).group(1)
    assert f"sdk_version: {pinned}" in front
    for key in ("hf_oauth: true", "suggested_hardware: cpu-basic", "short_description:", "app_file: app.py"):
        assert key in front
    duplicate = README.split("**Duplicate this Space**", 1)[1].split("\n\n", 1)[0]
    assert all(f"`{group[0]}`" in duplicate for spec in providers.specs() for group in spec.key_groups)
