"""The workbench against the simulator: re-runs on kept inputs, verdicts, exports, and owners kept apart."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from avatar_demo.app.config import load_settings
from avatar_demo.app.generations import Generations
from avatar_demo.app.services import Services
from avatar_demo.app.workbench import Workbench
from avatar_demo.core.errors import InputError
from avatar_demo.jobs import Succeeded
from avatar_demo.jobs.plan import JobInput
from avatar_demo.policy import Visitor
from avatar_demo.store.ledger import utc_day

pytestmark = pytest.mark.anyio

ALICE = Visitor("ip:203.0.113.1", "203.0.113.1")


def bench(tmp_path: Path, **env: str) -> Workbench:
    services = Services(load_settings({**os.environ, "AVATAR_DATA_DIR": str(tmp_path / "data"), **env}))
    return Workbench(Generations(services))


async def finished(workbench: Workbench, started) -> Succeeded:  # type: ignore[no-untyped-def]
    events = [e async for e in workbench.services.runs.watch(started.row)]
    assert isinstance(events[-1], Succeeded), events[-1]
    return events[-1]


async def test_a_rerun_uses_the_kept_inputs_and_links_to_its_parent(gateways, media_dir: Path, tmp_path: Path) -> None:
    """No upload: the parent's prepared photo and voice are used again, and the child says what changed."""
    workbench = bench(tmp_path)
    owner = workbench.services.keys.new_owner()
    parent = await workbench.generations.start(ALICE, "kling", JobInput(
        image=media_dir / "portrait.jpg", audio=media_dir / "speech.mp3", prompt="smile"), owner=owner)
    await finished(workbench, parent)
    child = await workbench.rerun(ALICE, owner, parent.row, prompt="smile and wink", mode="pro",
                                  provider="cometapi")
    await finished(workbench, child)
    record = workbench.services.history.owned(owner, child.row)
    assert (record.parent, record.prompt, record.mode, record.provider) == \
        (parent.row, "smile and wink", "pro", "cometapi")
    assert record.tweak == {"prompt": ["smile", "smile and wink"], "mode": ["std", "pro"],
                            "gateway": ["kling", "cometapi"]}
    first = workbench.services.history.owned(owner, parent.row)
    assert (record.image_ref, record.audio_ref) == (first.image_ref, first.audio_ref)
    assert sorted(p.name for p in workbench.services.storage.inputs.iterdir()) == \
        sorted([first.image_ref, first.audio_ref])


async def test_a_rerun_keeps_what_is_not_changed(gateways, media_dir: Path, tmp_path: Path) -> None:
    workbench = bench(tmp_path)
    owner = workbench.services.keys.new_owner()
    parent = await workbench.generations.start(ALICE, "kling", JobInput(
        image=media_dir / "portrait.jpg", audio=media_dir / "speech.mp3", prompt="nod", mode="pro"), owner=owner)
    await finished(workbench, parent)
    child = await workbench.rerun(ALICE, owner, parent.row)
    record = workbench.services.history.owned(owner, child.row)
    assert (record.prompt, record.mode, record.provider, record.tweak) == ("nod", "pro", "kling", {})


async def test_another_owners_run_is_not_found_anywhere(gateways, media_dir: Path, tmp_path: Path) -> None:
    """Re-run, verdict and export all read another owner's run number as one that does not exist."""
    workbench = bench(tmp_path)
    alice, bob = workbench.services.keys.new_owner(), workbench.services.keys.new_owner()
    run = await workbench.generations.start(ALICE, "local", JobInput(
        image=media_dir / "portrait.jpg", audio=media_dir / "speech.mp3"), owner=alice)
    await finished(workbench, run)
    row = run.row
    missing = f"Run {row} is not one of your runs"
    with pytest.raises(InputError, match=missing):
        await workbench.rerun(ALICE, bob, row)
    with pytest.raises(InputError, match=missing):
        workbench.rate(bob, row, 5, "")
    with pytest.raises(InputError, match=missing):
        await workbench.export(bob, ids=[row])
    with pytest.raises(InputError, match="no runs to export"):
        await workbench.export(bob)
    assert workbench.runs(bob) == [] and workbench.runs(None) == []
    assert workbench.services.history.owned(alice, row).rating is None


async def test_a_rerun_of_inputs_no_longer_kept_says_so(gateways, media_dir: Path, tmp_path: Path) -> None:
    workbench = bench(tmp_path)
    owner = workbench.services.keys.new_owner()
    run = await workbench.generations.start(ALICE, "local", JobInput(
        image=media_dir / "portrait.jpg", audio=media_dir / "speech.mp3"), owner=owner)
    await finished(workbench, run)
    for kept in workbench.services.storage.inputs.iterdir():
        kept.unlink()
    with pytest.raises(InputError, match="are no longer kept .* upload them again on the Generate tab"):
        await workbench.rerun(ALICE, owner, run.row)


@pytest.mark.parametrize(("rating", "note", "message"), [
    (6, "", "A rating is 1 to 5 stars"), (-1, "", "A rating is 1 to 5 stars"), ("many", "", "A rating is 1 to 5"),
    (3, "x" * 501, "shorten it by 1"),
])
async def test_a_verdict_outside_the_rules_is_refused(gateways, media_dir: Path, tmp_path: Path, rating, note,
                                                       message: str) -> None:
    workbench = bench(tmp_path)
    owner = workbench.services.keys.new_owner()
    run = await workbench.generations.start(ALICE, "local", JobInput(
        image=media_dir / "portrait.jpg", audio=media_dir / "speech.mp3"), owner=owner)
    with pytest.raises(InputError, match=message):
        workbench.rate(owner, run.row, rating, note)


async def test_a_rerun_spends_the_allowance_like_any_run(gateways, media_dir: Path, tmp_path: Path) -> None:
    """Public mode, two free runs: the first run and its re-run use both; a second re-run is refused."""
    workbench = bench(tmp_path, AVATAR_PUBLIC="1", AVATAR_FREE_RUNS="2")
    owner = workbench.services.keys.new_owner()
    run = await workbench.generations.start(ALICE, "kling", JobInput(
        image=media_dir / "portrait.jpg", audio=media_dir / "speech.mp3"), owner=owner)
    await finished(workbench, run)
    await finished(workbench, await workbench.rerun(ALICE, owner, run.row, prompt="again"))
    assert workbench.services.ledger.usage(ALICE.key, utc_day()).runs == 2
    with pytest.raises(Exception, match="0 of 2 free runs left"):
        await workbench.rerun(ALICE, owner, run.row, prompt="once more")


async def test_an_export_of_one_batch_holds_only_that_batch(gateways, media_dir: Path, tmp_path: Path) -> None:
    workbench = bench(tmp_path)
    owner = workbench.services.keys.new_owner()
    job = JobInput(image=media_dir / "portrait.jpg", audio=media_dir / "speech.mp3")
    batch = await workbench.generations.start_variants(ALICE, "local", job, [("a", "std"), ("b", "std")],
                                                       owner=owner, batch="lab-1")
    single = await workbench.generations.start(ALICE, "local", job, owner=owner)
    for started in (*batch, single):
        await finished(workbench, started)
    export = await workbench.export(owner, batch="lab-1")
    with zipfile.ZipFile(export.path) as archive:
        videos = [n for n in archive.namelist() if n.startswith("videos/")]
    assert sorted(videos) == sorted(f"videos/run-{s.row}.mp4" for s in batch)
