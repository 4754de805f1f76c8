"""The command line, run as a real subprocess: prepare, generate (local and gateways), refusals."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import facts, make_image, make_tone

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "avatar_demo", *args], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, **(env or {})}, timeout=300, check=False)


def test_prepare_prints_the_facts_as_json(tmp_path: Path) -> None:
    """One JSON object with both outputs and their changes."""
    image = make_image(tmp_path / "wide.png", (1500, 300), format="PNG")
    audio = make_tone(tmp_path / "long.m4a", 65.0)
    proc = run("prepare", "--image", str(image), "--audio", str(audio), "--out-dir", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert set(report) == {"image", "audio"}
    assert (report["image"]["width"], report["image"]["height"]) == (1500, 600)
    assert report["image"]["changes"][0].startswith("padded 1500×300 to 1500×600")
    assert report["audio"]["duration_s"] == pytest.approx(60.0, abs=0.05)
    assert report["audio"]["changes"][:2] == ["trimmed 65.0 s → 60.0 s", "faded out 50 ms at the cut"]
    assert Path(report["audio"]["path"]).stat().st_size == report["audio"]["bytes"]


def test_prepare_honours_max_seconds_and_environment(tmp_path: Path) -> None:
    """--max-seconds wins over AVATAR_MAX_AUDIO_S, which wins over 60."""
    image = make_image(tmp_path / "p.jpg", (500, 500))
    audio = make_tone(tmp_path / "a.wav", 20.0)
    from_env = run("prepare", "--image", str(image), "--audio", str(audio), "--out-dir", str(tmp_path / "a"),
                   env={"AVATAR_MAX_AUDIO_S": "8"})
    assert from_env.returncode == 0, from_env.stderr
    assert json.loads(from_env.stdout)["audio"]["duration_s"] == pytest.approx(8.0, abs=0.05)
    from_arg = run("prepare", "--image", str(image), "--audio", str(audio), "--out-dir", str(tmp_path / "b"),
                   "--start", "5", "--max-seconds", "4", env={"AVATAR_MAX_AUDIO_S": "8"})
    assert from_arg.returncode == 0, from_arg.stderr
    assert json.loads(from_arg.stdout)["audio"]["duration_s"] == pytest.approx(4.0, abs=0.05)


def test_refused_input_exits_2_with_one_line_and_no_output(tmp_path: Path) -> None:
    """A good photo with a silent clip: exit 2, one stderr line, no prepared photo left behind."""
    image = make_image(tmp_path / "p.jpg", (500, 500))
    audio = make_tone(tmp_path / "quiet.wav", 3.0, silent=True)
    out = tmp_path / "out"
    proc = run("prepare", "--image", str(image), "--audio", str(audio), "--out-dir", str(out))
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.strip().count("\n") == 0
    assert "silent" in proc.stderr
    assert not out.exists()


def test_decodes_compressed_audio_without_system_ffmpeg_or_ffprobe(tmp_path: Path) -> None:
    """With no ffmpeg/ffprobe on PATH, the wheel's ffmpeg decodes mp3 and webm."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)
    image = make_image(tmp_path / "p.jpg", (500, 500))
    for suffix in (".mp3", ".webm"):
        audio = make_tone(tmp_path / f"a{suffix}", 3.0)
        proc = run("prepare", "--image", str(image), "--audio", str(audio), "--out-dir", str(tmp_path / suffix[1:]),
                   env={"PATH": str(bin_dir)})
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["audio"]["duration_s"] == pytest.approx(3.0, abs=0.1)


def test_generate_local_renders_a_preview(tmp_path: Path) -> None:
    """The offline provider needs no key and writes a playable MP4 of the voice's length."""
    image = make_image(tmp_path / "p.jpg", (600, 800))
    audio = make_tone(tmp_path / "a.mp3", 4.0)
    out = tmp_path / "video.mp4"
    proc = run("generate", "--provider", "local", "--image", str(image), "--audio", str(audio), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["provider"] == "local" and result["video_path"] == str(out)
    assert set(result) == {"provider", "task_id", "video_path", "duration_s", "units"}
    assert facts(out).duration_s == pytest.approx(4.0, abs=0.1)
    assert "submitted" in proc.stderr


@pytest.mark.parametrize("provider", ["kling", "cometapi", "kkiai", "modellix", "crun"])
def test_generate_through_each_gateway(gateways, media_dir: Path, tmp_path: Path, provider: str) -> None:
    """Against the simulator at the base URLs in the environment, with the keys from it."""
    env = {k: v for k, v in os.environ.items()}
    proc = run("generate", "--provider", provider, "--image", str(media_dir / "portrait.jpg"),
               "--audio", str(media_dir / "speech.mp3"), "--prompt", "smile", "--out", str(tmp_path / "v.mp4"), env=env)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["provider"] == provider and result["task_id"]
    assert facts(Path(result["video_path"])).duration_s == pytest.approx(3.0, abs=0.2)


def test_generate_failure_is_one_clear_line(gateways, media_dir: Path) -> None:
    """A wrong key: non-zero exit, the reason, and never the key itself."""
    proc = run("generate", "--provider", "modellix", "--image", str(media_dir / "portrait.jpg"),
               "--audio", str(media_dir / "speech.mp3"), env={**os.environ, "MODELLIX_API_KEY": "sk-wrong-SECRET-123"})
    assert proc.returncode == 1
    assert "Modellix" in proc.stderr and "invalid API key" in proc.stderr
    assert "sk-wrong-SECRET-123" not in proc.stderr + proc.stdout


def test_generate_holds_back_a_photo_without_a_face_unless_allowed(gateways, media_dir: Path, tmp_path: Path) -> None:
    """A paid gateway is not sent a faceless photo: exit 2 and the way on; --allow-no-face sends it."""
    args = ["generate", "--provider", "kling", "--image", str(media_dir / "drawing.jpg"),
            "--audio", str(media_dir / "speech.mp3")]
    before = gateways.state.creates.get("kling", 0)
    held = run(*args, env=dict(os.environ))
    assert held.returncode == 2 and "No face found in drawing.jpg" in held.stderr and "allow_no_face" in held.stderr
    assert gateways.state.creates.get("kling", 0) == before
    sent = run(*args, "--allow-no-face", "--out", str(tmp_path / "v.mp4"), env=dict(os.environ))
    assert sent.returncode == 0, sent.stderr
    assert "no face was found on the photo; it is sent anyway" in sent.stderr.lower()
    assert gateways.state.creates.get("kling", 0) == before + 1
