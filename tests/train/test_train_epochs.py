"""Fresh samples every epoch: training epoch e reads epoch e of the build, built beside training by
--build-ahead, resumed exactly mid-epoch, with --keep-epochs deleting only finished epochs."""

from __future__ import annotations

import json
import shutil
import tarfile
from pathlib import Path

import pytest
import yaml

from rvm_data.build import build
from rvm_data.buildfolder import move_away_unread
from rvm_data.recipe import load_recipe
from rvm_data.shards.layout import built_epochs, epoch_root
from rvm_data.train import epochs as epochs_module
from rvm_data.train.errors import TrainError
from rvm_data.train.run import train

RECIPE = {
    "name": "epochs",
    "seed": 11,
    "sources": {split: {"foreground_kind": "videomatte", "foreground": f"${{RVM_DATA_BUILTIN}}/videomatte/{split}",
                        "background_images": f"${{RVM_DATA_BUILTIN}}/backgrounds/images/{split}"}
                for split in ("train", "valid")},
    "outputs": {"lr": {"compose": {"size": [32, 32], "frames": 2}, "samples": {"train": 8, "valid": 2}}},
    "shards": {"samples_per_shard": 4},
    "train": {"batch_size": 2, "epochs": 3, "workers": 0, "segmentation": False, "log_interval": 1,
              "checkpoint_interval": 2, "valid_batches": 1, "image_interval": 1000,
              "lr": {"backbone": 1e-3, "aspp": 1e-3, "decoder": 1e-3, "project": 1e-3}},
}


@pytest.fixture(scope="module")
def epoch0(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The recipe file and its epoch-0 build."""
    folder = tmp_path_factory.mktemp("epochs")
    recipe = folder / "epochs.yaml"
    recipe.write_text(yaml.safe_dump(RECIPE))
    build(load_recipe(recipe), folder / "build", progress=False)
    return recipe, folder / "build"


def _losses(run: Path) -> dict[int, float]:
    records = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    return {r["step"]: r["lr_total"] for r in records if r["kind"] == "train"}


def _specs(folder: Path) -> list[bytes]:
    out = []
    for shard in sorted((folder / "train").glob("lr-*.tar")):
        with tarfile.open(shard) as tar:
            out += [tar.extractfile(m).read() for m in tar.getmembers() if m.name.endswith(".spec.json")]
    return out


def test_a_rolling_build_gives_every_epoch_fresh_samples_and_resumes_exactly(epoch0, tmp_path, monkeypatch):
    recipe_path, built = epoch0
    reads: list[int] = []
    epoch_for = epochs_module.EpochSource.epoch_for

    def recording(self, epoch):
        chosen = epoch_for(self, epoch)
        reads.append(chosen)
        return chosen

    monkeypatch.setattr(epochs_module.EpochSource, "epoch_for", recording)
    whole = tmp_path / "whole"
    shutil.copytree(built, whole)
    recipe = load_recipe(recipe_path)
    result = train(recipe, out_dir=tmp_path / "run-whole", build_dir=whole, progress=False, build_ahead=1,
                   keep_epochs=1)
    assert result.steps == 12 and reads == [0, 1, 2]  # 4 steps per epoch, each epoch its own samples
    assert built_epochs(whole)[0] == 2 and not epoch_root(whole, 1).exists()  # epoch 1 done: deleted
    assert _specs(epoch_root(whole, 2)) != _specs(whole) and len(_specs(epoch_root(whole, 2))) == 8
    assert (whole / "manifest.json").is_file()  # epoch 0 is never deleted

    # the same run stopped mid-epoch 1 and resumed: bit-identical losses (epoch 1 rebuilt identically)
    part = tmp_path / "part"
    shutil.copytree(built, part)
    run = tmp_path / "run-part"
    train(load_recipe(recipe_path, ["train.max_steps=6"]), out_dir=run, build_dir=part, progress=False, build_ahead=1)
    train(recipe, out_dir=run, build_dir=part, resume=True, progress=False, build_ahead=1)
    assert _losses(run) == _losses(tmp_path / "run-whole")


def test_fewer_epochs_than_training_cycles_through_them_and_says_so(epoch0, tmp_path):
    recipe_path, built = epoch0
    folder = tmp_path / "build"
    shutil.copytree(built, folder)
    build(load_recipe(recipe_path), folder, epoch=1, progress=False)
    with pytest.warns(UserWarning, match=r"2 epoch\(s\) of 'lr' built \(0, 1\): training epoch 2 reuses epoch 0"):
        result = train(load_recipe(recipe_path), out_dir=tmp_path / "run", build_dir=folder, progress=False)
    assert result.steps == 12
    move_away_unread(epoch_root(folder, 1), tmp_path / "away")  # the run over, it holds no epoch


def test_an_epoch_removed_between_its_choice_and_its_hold_is_not_read(epoch0, tmp_path, monkeypatch):
    _, folder = _with_epochs(epoch0, tmp_path, [1, 2])
    source = epochs_module.EpochSource(folder, "lr", 8)
    choose, choices = source._choose, []

    def chosen_then_removed(epoch: int) -> int:
        choices.append(choose(epoch))
        if len(choices) == 1:  # another run's --keep-epochs removes it now
            move_away_unread(epoch_root(folder, choices[0]), tmp_path / "away")
        return choices[-1]

    monkeypatch.setattr(source, "_choose", chosen_then_removed)
    assert source.epoch_for(1) in (0, 2) and choices[0] == 1 and len(choices) == 2


def test_a_failed_background_build_is_an_error_naming_the_command_to_rerun(tmp_path):
    builder = epochs_module.RollingBuild(tmp_path / "no-build", ahead=1)
    builder.request(0)  # starts `rvm-data build <root> --epochs 1:2`, which refuses a folder that is not there
    try:
        with pytest.raises(TrainError, match=r"failed \(exit [1-9]\d*\); run `rvm-data build .*no-build --epochs"):
            builder.wait_for(1, "main", 1)
    finally:
        builder.close()


def test_the_background_build_is_the_folders_own_recipe_on_local_workers_or_a_cluster(tmp_path):
    local = epochs_module.RollingBuild(tmp_path, ahead=2, workers=3)._command(range(1, 3))
    cluster = epochs_module.RollingBuild(tmp_path, ahead=2, scheduler="tcp://h:8786")._command(range(1, 3))
    assert local[3:] == ["build", str(tmp_path), "--epochs", "1:3", "--no-progress", "--workers", "3"]
    assert cluster[-2:] == ["--scheduler", "tcp://h:8786"] and "--workers" not in cluster
    with pytest.raises(epochs_module.TrainError, match="--keep-epochs must be >= 1"):
        epochs_module.RollingBuild(tmp_path, ahead=1, keep=0)


def test_other_streams_follow_the_low_res_epoch_and_no_epoch_a_stream_reads_is_deleted(epoch0, tmp_path):
    """A short output (hr, segmentation in the same build) runs through many passes per epoch: it reads
    the epoch the low-res stream reads, and --keep-epochs never deletes an epoch some stream still reads."""
    recipe_path, built = epoch0
    folder = tmp_path / "build"
    shutil.copytree(built, folder)
    for epoch in (1, 2, 3):
        build(load_recipe(recipe_path), folder, epoch=epoch, progress=False)
    builder = epochs_module.RollingBuild(folder, ahead=1, keep=1)
    builder.requested = 10  # all built already: nothing to start
    lead = epochs_module.EpochSource(folder, "lr", 8, builder)
    follower = epochs_module.EpochSource(folder, "lr", 8, builder, follow=lead)
    assert lead.epoch_for(1) == 1 and follower.epoch_for(7) == 1  # pass 7 of the short stream: epoch 1
    assert lead.epoch_for(2) == 2 and epoch_root(folder, 1).exists()  # the follower still reads epoch 1
    assert follower.epoch_for(8) == 2 and not epoch_root(folder, 1).exists()  # now none does
    assert lead.epoch_for(3) == 3 and not epoch_root(folder, 1).exists() and epoch_root(folder, 2).exists()
    assert built_epochs(folder) == [2, 3]


def _with_epochs(epoch0, tmp_path, epochs) -> tuple[Path, Path]:
    recipe_path, built = epoch0
    folder = tmp_path / "build"
    shutil.copytree(built, folder)
    for epoch in epochs:
        build(load_recipe(recipe_path), folder, epoch=epoch, progress=False)
    return recipe_path, folder


def test_an_epoch_folder_not_made_by_epoch_zeros_build_is_refused_not_read(epoch0, tmp_path):
    _, folder = _with_epochs(epoch0, tmp_path, [1])
    assert epochs_module.complete(folder, 1, "lr", 8)
    shutil.copytree(epoch_root(folder, 1), epoch_root(folder, 2))  # a copy: its manifest says epoch 1
    with pytest.raises(TrainError, match=r"0002: this epoch was not made by epoch 0's build \(epoch 1 \(epoch 0: 2\)"):
        epochs_module.complete(folder, 2, "lr", 8)
    manifest = epoch_root(folder, 1) / "manifest.json"
    record = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**record, "recipe_hash": "0" * 64}))  # as another recipe's epoch would be
    with pytest.raises(TrainError, match="recipe hash '0000"):
        epochs_module.EpochSource(folder, "lr", 8).epoch_for(1)


def test_a_resumed_rolling_build_builds_only_missing_epochs_from_its_own_on_and_none_past_the_run(
        epoch0, tmp_path, monkeypatch):
    _, folder = _with_epochs(epoch0, tmp_path, [3])
    builder = epochs_module.RollingBuild(folder, ahead=3)
    monkeypatch.setattr(builder, "_pump", lambda: None)  # what would be started, not started
    epochs_module.EpochSource(folder, "lr", 8, builder)
    builder.request(2)  # resumed in epoch 2: epochs 1 (left behind) and 3 (complete) are not built again
    assert builder._queue == [range(2, 3), range(4, 6)] and builder.building == [2, 4, 5]
    capped = epochs_module.RollingBuild(folder, ahead=3)
    monkeypatch.setattr(capped, "_pump", lambda: None)
    epochs_module.EpochSource(folder, "lr", 8, capped)
    capped.epochs = 5  # training runs epochs 0..4
    capped.request(3)
    assert capped._queue == [range(4, 5)] and not capped.will_build(5)


def test_keep_epochs_never_deletes_an_epoch_a_build_holds(epoch0, tmp_path):
    from rvm_data.buildfolder import FolderLock

    _, folder = _with_epochs(epoch0, tmp_path, [1, 2])
    builder = epochs_module.RollingBuild(folder, ahead=1, keep=1)
    builder.requested = 10  # nothing to start
    with FolderLock(epoch_root(folder, 1)):  # a build (by hand, or one stopping) is writing into epoch 1
        builder.request(2)
        builder.drop_finished()
        assert built_epochs(folder) == [1, 2]
    builder.request(2)
    builder.drop_finished()
    assert built_epochs(folder) == [2] and sorted(p.name for p in (folder / "epochs").iterdir()) == ["0002"]


def test_a_resumed_run_deletes_no_epoch_before_its_followers_say_what_they_read(epoch0, tmp_path, monkeypatch):
    _, folder = _with_epochs(epoch0, tmp_path, [1, 2])
    builder = epochs_module.RollingBuild(folder, ahead=1, keep=1)
    monkeypatch.setattr(builder, "_pump", lambda: None)  # what would be started, not started
    lead = epochs_module.EpochSource(folder, "lr", 8, builder)
    follower = epochs_module.EpochSource(folder, "lr", 8, builder, follow=lead)
    lead.reading = 3
    builder.request(3)  # the lead's ready(3): its epoch is not built yet, so it asks for it
    assert built_epochs(folder) == [1, 2]
    follower.ready(2)  # the follower's checkpoint reads epoch 2, a pass behind
    assert follower.reading == 2
    builder.drop_finished()  # as the first pass after the resume begins
    assert built_epochs(folder) == [2]


def test_keep_epochs_never_deletes_an_epoch_another_process_reads(epoch0, tmp_path):
    import subprocess
    import sys

    _, folder = _with_epochs(epoch0, tmp_path, [1, 2])
    reader = subprocess.Popen([sys.executable, "-c", "import sys; from pathlib import Path; from rvm_data.train.epochs "
                               "import EpochSource; print(EpochSource(Path(sys.argv[1]), 'lr', 8).epoch_for(1), "
                               "flush=True); sys.stdin.read()", str(folder)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    builder = epochs_module.RollingBuild(folder, ahead=1, keep=1)
    builder.requested = 10  # nothing to start
    try:
        assert reader.stdout.readline().strip() == "1"  # another training run reads epoch 1
        with pytest.warns(UserWarning, match=r"0001: kept for now \(--keep-epochs\): another process is reading this "
                                             r"folder; it is deleted at a later epoch"):
            builder.request(2)
            builder.drop_finished()
        assert built_epochs(folder) == [1, 2]
    finally:
        reader.stdin.close()
        reader.wait()
    builder.request(2)  # that run has moved on (here: ended)
    builder.drop_finished()
    assert built_epochs(folder) == [2]


def test_a_follower_waits_for_its_output_in_the_leaders_epoch_or_says_it_reads_epoch_zero(
        epoch0, tmp_path, monkeypatch):
    _, folder = _with_epochs(epoch0, tmp_path, [1])
    lead = epochs_module.EpochSource(folder, "lr", 8)
    assert lead.epoch_for(1) == 1
    alone = epochs_module.EpochSource(folder, "lr", 9, follow=lead)  # its output is not complete in epoch 1
    with pytest.warns(UserWarning, match="0001: the low-res stream reads this epoch but it has no complete 'lr'"):
        assert alone.epoch_for(5) == 0
    builder = epochs_module.RollingBuild(folder, ahead=1)
    builder.requested = 3  # epochs 1 and 2 are this build's
    waited = []
    monkeypatch.setattr(builder, "wait_for", lambda epoch, output, samples: waited.append(epoch) or 0.0)
    rolling = epochs_module.EpochSource(folder, "lr", 9, builder, follow=lead)
    assert rolling.epoch_for(5) == 1 and waited == [1]


def test_fewer_epochs_built_are_each_reused_in_turn_wherever_the_gaps_are():
    assert [epochs_module.reused_epoch(e, [0, 1, 2]) for e in range(7)] == [0, 1, 2, 0, 1, 2, 0]
    reads = [epochs_module.reused_epoch(e, [0, 2, 10]) for e in range(13)]
    assert reads == [0, 0, 2, 2, 10, 0, 2, 10, 0, 2, 10, 10, 0]
    assert {e: reads.count(e) for e in (0, 2, 10)} == {0: 5, 2: 4, 10: 4}


def test_a_killed_training_run_takes_its_background_build_with_it(epoch0, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    _, folder = _with_epochs(epoch0, tmp_path, [])
    # training's stand-in: starts the background build as training does, then is SIGKILLed
    parent = subprocess.Popen([sys.executable, "-c", "import subprocess, sys, time; from pathlib import Path; "
                               "from rvm_data.train.epochs import RollingBuild; "
                               "command = RollingBuild(Path(sys.argv[1]), ahead=400)._command(range(1, 401)); "
                               "p = subprocess.Popen(command); print(p.pid, flush=True); time.sleep(60)",
                               str(folder)], stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    deadline = time.monotonic() + 60
    while not built_epochs(folder) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert built_epochs(folder), "the background build did not start"
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.kill(child, signal.SIGKILL)
        pytest.fail("the background build outlived the training run that started it")
    assert len(built_epochs(folder)) < 400 and not list(folder.glob("epochs/*/*/.*.tmp-*"))


def test_a_pass_re_reads_only_an_epoch_an_earlier_pass_read(epoch0, tmp_path):
    """What re_pair_backgrounds acts on: with epochs 0 and 3 built, passes 0..3 read epochs 0, 0, 3, 3, and
    only the second read of each is a re-read (pass 2 is epoch 3's first read, pass 3 its second)."""
    from rvm_data.shards.dataset import ShardDataset
    from rvm_data.train.data import EpochStream

    _, folder = _with_epochs(epoch0, tmp_path, [3])

    def dataset(of):
        return ShardDataset(of.manifest, root=of.root, split="train", output="lr", batch_size=2, seed=0,
                            resample=False)

    stream = EpochStream("lr", epochs_module.EpochSource(folder, "lr", 8), dataset, workers=0, pin_memory=False)
    seen = []
    with pytest.warns(UserWarning, match="reuses"):
        for _ in range(16):  # 4 batches a pass
            next(stream)
            seen.append((stream.reads, stream.delivered()[2]))
    assert seen[::4] == [(0, False), (0, True), (3, False), (3, True)]
    state = stream.state_dict()
    resumed = EpochStream("lr", epochs_module.EpochSource(folder, "lr", 8), dataset, workers=0, pin_memory=False)
    resumed.load_state_dict(state)
    next(resumed)
    assert (resumed.pass_index, resumed.reads, resumed.delivered()[2]) == (4, 0, True)  # resumed: epoch 0 seen


def test_a_rolling_build_beside_a_limited_epoch_zero_or_without_workers_is_refused_before_training(epoch0, tmp_path):
    recipe_path, _ = epoch0
    folder = tmp_path / "limited"
    build(load_recipe(recipe_path), folder, limit=4, progress=False)
    with pytest.raises(TrainError, match=r"epoch 0 holds 4 of the recipe's 8 train samples of 'lr'"):
        train(load_recipe(recipe_path), out_dir=tmp_path / "run", build_dir=folder, progress=False, build_ahead=1)
    assert not (tmp_path / "run").exists() and not built_epochs(folder)
    with pytest.raises(TrainError, match="--build-workers must be >= 1"):
        epochs_module.RollingBuild(folder, ahead=1, workers=0)


def test_an_epoch_the_main_rank_reads_is_read_once_this_rank_sees_it_and_an_error_if_it_never_does(epoch0, tmp_path,
                                                                                                   monkeypatch):
    import threading

    _, folder = _with_epochs(epoch0, tmp_path, [1])
    assert epochs_module.EpochSource(folder, "lr", 8, agree=lambda chosen: 1).epoch_for(2) == 1  # its own: 0
    hidden = folder / "hidden"
    epoch_root(folder, 1).rename(hidden)  # shared storage shows this rank epoch 1 late
    later = threading.Timer(0.5, hidden.rename, [epoch_root(folder, 1)])
    later.start()
    assert epochs_module.EpochSource(folder, "lr", 8, agree=lambda chosen: 1).epoch_for(1) == 1
    later.join()
    monkeypatch.setattr(epochs_module, "SEE_EPOCH_TIMEOUT_S", 0.5)
    with pytest.raises(TrainError, match=r"0002: the main rank reads this epoch's 'lr' shards .* within 0.5 s: .*"
                                         r"\(shared storage\)"):
        epochs_module.EpochSource(folder, "lr", 8, agree=lambda chosen: 2).epoch_for(2)


def test_an_epoch_drawn_from_other_sources_than_epoch_zeros_is_refused_not_read(epoch0, tmp_path):
    _, folder = _with_epochs(epoch0, tmp_path, [1])
    manifest = epoch_root(folder, 1) / "manifest.json"
    record = json.loads(manifest.read_text())
    assert record["sources"]["train"]["sha256"] == json.loads((folder / "manifest.json").read_text())["sources"][
        "train"]["sha256"]
    record["sources"]["train"]["sha256"] = "1" * 64  # as a build over another dataset records
    manifest.write_text(json.dumps(record))
    with pytest.raises(TrainError, match=r"0001: this epoch was not made by epoch 0's build \(sources \{'train': '11"):
        epochs_module.complete(folder, 1, "lr", 8)
