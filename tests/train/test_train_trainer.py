import json

import pytest
import torch

from rvm_data.train.config import TrainConfig
from rvm_data.train.run import train_build

FAST = {"backbone": 1e-3, "aspp": 1e-3, "decoder": 1e-3, "project": 1e-3}


def _config(**kw) -> TrainConfig:
    base = dict(batch_size=2, epochs=10, log_interval=1, checkpoint_interval=100, image_interval=3,
                workers=0, lr=FAST, segmentation=False)
    base.update(kw)
    return TrainConfig(**base)


def _losses(out) -> dict[int, float]:
    records = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    return {r["step"]: r["lr_total"] for r in records if r["kind"] == "train"}


def test_loss_falls_and_resume_gives_the_identical_next_loss(tiny_build, tmp_path):
    whole = train_build(_config(max_steps=10, validate=False), tiny_build, tmp_path / "a", progress=False)
    losses = _losses(tmp_path / "a")
    assert whole.steps == 10 and sorted(losses) == list(range(1, 11))
    assert sum(losses[s] for s in (8, 9, 10)) < sum(losses[s] for s in (1, 2, 3))

    part = tmp_path / "b"
    train_build(_config(max_steps=6), tiny_build, part, progress=False)
    assert (part / "checkpoints" / "last.pt").is_file() and (part / "model.pth").is_file()
    with pytest.raises(ValueError, match="already holds a run"):
        train_build(_config(max_steps=10), tiny_build, part, progress=False)
    resumed = train_build(_config(max_steps=10), tiny_build, part, resume=True, progress=False)
    assert resumed.steps == 10
    again = _losses(part)
    assert [again[s] for s in (7, 8, 9, 10)] == [losses[s] for s in (7, 8, 9, 10)]  # bit-identical
    # validation before the first step, at each epoch (4 steps) and at the end, with EVAL's metrics
    valid = [json.loads(line) for line in (part / "log.jsonl").read_text().splitlines() if '"valid"' in line]
    assert [v["step"] for v in valid] == [0, 4, 6, 8, 10] and all(v["pha_mad"] > 0 for v in valid)
    assert list((part / "images").glob("train-*.png")) and list((part / "images").glob("valid-*.png"))


def test_init_from_checkpoint_and_segmentation_pass(tiny_seg_build, tmp_path):
    first = tmp_path / "first"
    train_build(_config(max_steps=1, validate=False), tiny_seg_build, first, progress=False)
    out = tmp_path / "seg"
    result = train_build(_config(max_steps=2, validate=False, segmentation=True), tiny_seg_build, out,
                         init=first / "model.pth", progress=False)
    records = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert "seg_video_bce" in records[0] and "seg_image_bce" in records[1]  # even steps video, odd image
    assert result.steps == 2


def test_missing_segmentation_shards_warn(tiny_build, tmp_path):
    with pytest.warns(UserWarning, match="without the segmentation pass"):
        train_build(_config(max_steps=1, validate=False, segmentation=True), tiny_build, tmp_path / "x", progress=False)


def test_resume_without_a_run_is_an_error(tiny_build, tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing to resume"):
        train_build(_config(), tiny_build, tmp_path / "none", resume=True, progress=False)


def test_stage3_adds_the_high_res_pass_through_the_refiner(tiny_hr_build, tmp_path):
    config = _config(stage=3, max_steps=2, validate=False, lr={})  # stage 3's own rates: refiner 2e-4, rest 1e-5
    out = tmp_path / "s3"
    train_build(config, tiny_hr_build, out, progress=False)
    records = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert all("hr_total" in r and "lr_total" in r for r in records)
    groups = torch.load(out / "checkpoints" / "last.pt", weights_only=True)["optimizer"]["param_groups"]
    assert [(g["name"], g["lr"]) for g in groups] == [
        ("backbone", 1e-5), ("aspp", 1e-5), ("decoder", 1e-5), ("project", 1e-5), ("refiner", 2e-4)]
