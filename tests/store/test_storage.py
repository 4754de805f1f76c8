"""The data dir: folders it must be able to make, free space, and what each sweep removes."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from avatar_demo.app.config import Retention
from avatar_demo.core.errors import ConfigError, DiskFull
from avatar_demo.store.storage import NAME, Storage, remove_tree

NOW = 1_700_000_000.0
DAY = 86400.0
KB = 1024


def storage(root: Path, **retention: float) -> Storage:
    made = Storage(root, Retention(**retention))
    made.ensure()
    return made


def put(path: Path, size: int, mtime: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"v" * size)
    os.utime(path, (mtime, mtime))
    return path


def job(folder: Path, size: int, mtime: float) -> Path:
    put(folder / "image.jpg", size, mtime)
    os.utime(folder, (mtime, mtime))
    return folder


def test_ensure_makes_every_folder(tmp_path: Path) -> None:
    """ensure() creates every folder of the data dir and leaves no probe file behind."""
    made = storage(tmp_path / "data")
    folders = (made.videos, made.jobs, made.public, made.previews, made.inputs, made.exports)
    assert all(folder.is_dir() for folder in folders)
    assert sorted(p.name for p in made.root.iterdir()) == sorted(f.name for f in folders)


@pytest.mark.parametrize("below", ["", "nested/deeper"])
def test_ensure_names_avatar_data_dir_when_the_folder_cannot_exist(tmp_path: Path, below: str) -> None:
    """A data dir under a regular file (impossible even for root) is a ConfigError naming AVATAR_DATA_DIR."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(ConfigError, match="AVATAR_DATA_DIR") as caught:
        Storage(blocker / below / "data", Retention()).ensure()
    assert str(blocker) in str(caught.value)


def free_mb(folder: Path) -> float:
    return shutil.disk_usage(folder).free / (1024 * 1024)


def test_check_space_passes_when_enough_is_free(tmp_path: Path) -> None:
    """check_space() is quiet when free space is above min_free_mb (half of what is free)."""
    root = tmp_path / "data"
    root.mkdir()
    storage(root, min_free_mb=free_mb(root) / 2).check_space()
    storage(root, min_free_mb=0).check_space()


def test_check_space_refuses_a_nearly_full_disk(tmp_path: Path) -> None:
    """Less free space than min_free_mb (in megabytes) is DiskFull: nothing sent, the figures for the owner."""
    root = tmp_path / "data"
    root.mkdir()
    full = storage(root, min_free_mb=free_mb(root) * 2)
    with pytest.raises(DiskFull, match="AVATAR_MIN_FREE_MB") as caught:
        full.check_space()
    assert "nothing was sent and nothing was charged" in str(caught.value)


def test_check_space_of_a_missing_folder_names_avatar_data_dir(tmp_path: Path) -> None:
    """A data dir that cannot be read is a ConfigError naming AVATAR_DATA_DIR."""
    with pytest.raises(ConfigError, match="AVATAR_DATA_DIR"):
        Storage(tmp_path / "never-made", Retention()).check_space()


def test_sweep_removes_expired_files_by_mtime(tmp_path: Path) -> None:
    """Files older than the retention (videos, published media, previews) are removed; younger ones kept."""
    store = storage(tmp_path / "data", days=1.0)
    old_video = put(store.videos / "old.mp4", 10, NOW - 2 * DAY)
    old_media = put(store.public / "tok" / "photo.jpg", 10, NOW - 1.5 * DAY)
    old_preview = put(store.previews / "p.mp4", 10, NOW - DAY - 1)
    fresh = put(store.videos / "fresh.mp4", 10, NOW - DAY + 60)
    report = store.sweep(now=NOW)
    assert sorted(report.expired) == sorted([old_video.name, old_media.name, old_preview.name])
    assert report.over_cap == []
    assert not any(p.exists() for p in (old_video, old_media, old_preview))
    assert fresh.exists()
    assert report.bytes_left == 10


def test_sweep_expires_kept_inputs_with_the_videos_and_exports_within_the_hour(tmp_path: Path) -> None:
    """Kept inputs follow the retention like videos; an export zip only has to last until its download."""
    store = storage(tmp_path / "data", days=7.0)
    old_input = put(store.inputs / ("a" * 40 + ".jpg"), 10, NOW - 8 * DAY)
    young_input = put(store.inputs / ("b" * 40 + ".wav"), 10, NOW - DAY)
    old_export = put(store.exports / "runs-old.zip", 10, NOW - 2 * 3600)
    young_export = put(store.exports / "runs-new.zip", 10, NOW - 600)
    report = store.sweep(now=NOW)
    assert sorted(report.expired) == sorted([old_input.name, old_export.name])
    assert young_input.exists() and young_export.exists()


def test_sweep_enforces_the_disk_cap_oldest_first(tmp_path: Path) -> None:
    """Over the disk cap, the oldest files go first until the rest fits."""
    store = storage(tmp_path / "data", days=30.0, max_disk_mb=2.5 * KB / (1024 * 1024))
    files = [put(store.videos / f"v{i}.mp4", KB, NOW - (10 - i) * 3600) for i in range(4)]
    put(store.previews / "newest.mp4", 0, NOW)
    report = store.sweep(now=NOW)
    assert report.over_cap == ["v0.mp4", "v1.mp4"]
    assert report.expired == []
    assert [f.exists() for f in files] == [False, False, True, True]
    assert report.bytes_left == 2 * KB


def test_sweep_counts_job_folders_against_the_cap(tmp_path: Path) -> None:
    """Busy jobs' prepared inputs count towards the cap (they are never removed, so files go instead)."""
    store = storage(tmp_path / "data", days=30.0, max_disk_mb=2.5 * KB / (1024 * 1024))
    busy = job(store.jobs / "busy", KB, NOW - 3600)
    files = [put(store.videos / f"v{i}.mp4", KB, NOW - (10 - i) * 60) for i in range(2)]
    report = store.sweep(busy_jobs=[busy], now=NOW)
    assert report.over_cap == ["v0.mp4"]
    assert (files[1].exists(), (busy / "image.jpg").exists()) == (True, True)
    assert report.bytes_left == 2 * KB


def test_sweep_removes_idle_job_folders_and_keeps_busy_and_young_ones(tmp_path: Path) -> None:
    """Job folders no job holds and older than a minute are removed; busy ones and young ones stay."""
    store = storage(tmp_path / "data")
    stale = job(store.jobs / "stale", 10, NOW - 3600)
    busy = job(store.jobs / "busy", 10, NOW - 3600)
    young = job(store.jobs / "young", 10, NOW - 30)
    # A busy folder given by a path that resolves to it still counts as busy.
    report = store.sweep(busy_jobs=[store.jobs / "x" / ".." / "busy"], now=NOW)
    assert report.jobs == 1
    assert (stale.exists(), busy.exists(), young.exists()) == (False, True, True)
    assert report.bytes_left == 20


def test_new_names_are_unguessable_and_recognised(tmp_path: Path) -> None:
    """new_video() names match NAME and differ; video() finds only existing names of ours."""
    store = storage(tmp_path / "data")
    first, second = store.new_video(), store.new_video()
    assert first != second and NAME.fullmatch(first.name) and first.parent == store.videos
    assert store.video(first.name) is None  # not written yet
    first.write_bytes(b"x")
    assert store.video(first.name) == first
    assert store.video(f"../../{first.name}") == first  # only the bare name is used
    for bad in (None, "", "short.mp4", "../history.sqlite3", first.name[:-4] + ".exe"):
        assert store.video(bad) is None


def test_remove_tree_is_quiet(tmp_path: Path) -> None:
    """remove_tree() deletes a folder and accepts None or a folder already gone."""
    folder = job(tmp_path / "j", 1, NOW)
    remove_tree(folder)
    assert not folder.exists()
    remove_tree(folder)
    remove_tree(None)


def test_exports_never_count_towards_the_cap_nor_push_videos_out(tmp_path: Path) -> None:
    """Attack: ten quick exports by one visitor took the folder over AVATAR_MAX_DISK_MB, and the sweep deleted
    another visitor's paid video and kept inputs (their re-run then blamed "7 days"). Exports have their own
    budget now: they expire within the hour and are not counted in the cap."""
    store = storage(tmp_path / "data", days=30.0, max_disk_mb=2.5 * KB / (1024 * 1024))
    victim = put(store.videos / "theirs.mp4", KB, NOW - 3 * 3600)
    kept = put(store.inputs / ("c" * 40 + ".jpg"), KB, NOW - 3 * 3600)
    zips = [put(store.exports / f"runs-{i}.zip", KB, NOW - 60 * (10 - i)) for i in range(10)]
    report = store.sweep(now=NOW)
    assert victim.exists() and kept.exists()
    assert report.over_cap == [] and report.bytes_left == 2 * KB
    assert all(z.exists() for z in zips)  # younger than an hour: still downloadable
