"""The workbench through gradio_client: a lab batch, a re-run, a verdict and an export, as the issue asks."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from tests.helpers import facts
from tests.security.conftest import public_env
from tests.ui.conftest import launched


@pytest.fixture(scope="module")
def client(app) -> Client:
    return Client(app.test_url, verbose=False)


def test_batch_rerun_verdict_export(client: Client, fresh_sim, media_dir: Path, tmp_path: Path) -> None:
    """Three prompts, one re-run with a changed prompt, one rating, one export: 4 rows, 4 playable videos."""
    owner, runs = client.predict(api_name="/history")
    assert owner.startswith("b1.") and runs == []
    status, grid, batch = client.predict(
        image=handle_file(str(media_dir / "portrait.jpg")), audio=handle_file(str(media_dir / "speech.mp3")),
        prompts="a warm smile\na slow nod\nlooks surprised", modes=["std"], provider="kling", owner=owner,
        api_name="/lab")
    assert [r["prompt"] for r in batch] == ["a warm smile", "a slow nod", "looks surprised"]
    assert all(r["status"] == "done" and r["video"] for r in batch), batch
    assert grid.count("<video") == 3 and "All 3 runs share one prepared photo and voice" in grid
    first = next(r for r in batch if r["prompt"] == "a warm smile")
    rerun = client.predict(id=first["id"], prompt="a warm smile, then a wink", owner=owner, api_name="/rerun")
    assert "done ✓" in rerun[0] and f"from run {first['id']}: prompt changed" in rerun[1]
    verdict, rated = client.predict(id=first["id"], rating=4, note="natural", owner=owner, api_name="/rate")
    assert rated == {"id": first["id"], "rating": 4, "note": "natural"} and "★★★★☆" in verdict
    zip_path = client.predict(ids="", batch="", owner=owner, api_name="/export")
    with zipfile.ZipFile(zip_path) as archive:
        rows = list(csv.DictReader(io.StringIO(archive.read("runs.csv").decode())))
        archive.extractall(tmp_path / "out")
    assert [r["prompt"] for r in rows] == ["a warm smile", "a slow nod", "looks surprised",
                                           "a warm smile, then a wink"]
    assert rows[3]["parent"] == str(first["id"]) and (rows[0]["rating"], rows[0]["note"]) == ("4", "natural")
    videos = sorted((tmp_path / "out" / "videos").iterdir())
    assert len(videos) == 4 and all(facts(v).video_codec == "h264" for v in videos)
    assert len(list((tmp_path / "out" / "inputs").iterdir())) == 2  # one photo and one voice for all four
    _, listed = client.predict(owner=owner, search="wink", min_rating=0, api_name="/history")
    assert [r["parent"] for r in listed] == [first["id"]]
    _, rated_only = client.predict(owner=owner, search="", min_rating=4, api_name="/history")
    assert [r["id"] for r in rated_only] == [first["id"]]


def test_another_visitors_runs_are_not_found(client: Client, fresh_sim, media_dir: Path) -> None:
    owner, _ = client.predict(api_name="/history")
    _, _, batch = client.predict(
        image=handle_file(str(media_dir / "portrait.jpg")), audio=handle_file(str(media_dir / "speech.mp3")),
        prompts="mine", provider="local", owner=owner, api_name="/lab")
    run = batch[0]["id"]
    stranger, runs = client.predict(api_name="/history")
    assert stranger != owner and runs == []
    for call in ({"api_name": "/rerun", "id": run, "prompt": "theirs"},
                 {"api_name": "/rate", "id": run, "rating": 1},
                 {"api_name": "/export", "ids": str(run)}):
        with pytest.raises(AppError, match=f"Run {run} is not one of your runs"):
            client.predict(owner=stranger, **call)
    with pytest.raises(AppError, match="There are no runs to export"):
        client.predict(ids="", batch="", owner=stranger, api_name="/export")
    _, still_mine = client.predict(owner=owner, api_name="/history")
    assert still_mine[0]["rating"] is None


def test_public_exports_are_capped(sim, media_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    app = launched(public_env(sim, tmp_path_factory.mktemp("public-export"), AVATAR_EXPORT_MAX_MB="0.01"))
    try:
        client = Client(app.test_url, verbose=False)
        owner, _ = client.predict(api_name="/history")
        client.predict(image=handle_file(str(media_dir / "portrait.jpg")),
                       audio=handle_file(str(media_dir / "speech.mp3")), provider="local", owner=owner,
                       api_name="/generate")
        with pytest.raises(AppError, match="the limit here is 0.01 MB: choose fewer runs"):
            client.predict(ids="", batch="", owner=owner, api_name="/export")
    finally:
        app.close()


def test_the_grid_is_drawn_again_only_when_a_cell_changed(client: Client, fresh_sim, media_dir: Path) -> None:
    """While runs go on, the grid is sent again only when one of its cells changed, not every half second."""
    owner, _ = client.predict(api_name="/history")
    job = client.submit(image=handle_file(str(media_dir / "portrait.jpg")),
                        audio=handle_file(str(media_dir / "speech.mp3")), prompts="one\ntwo", modes=["std"],
                        provider="kling", owner=owner, api_name="/lab")
    job.result()
    grids = [grid for _, grid, _ in job.outputs() if grid]
    assert len(grids) >= 2 and "done ✓" in grids[-1]
    assert all(before != after for before, after in zip(grids, grids[1:])), grids
