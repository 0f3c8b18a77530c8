import json
import warnings

import pytest
import torch

from rvm_data.model import MobileNetV3LargeEncoder
from rvm_data.train import run as train_run
from rvm_data.train.config import TrainConfig
from rvm_data.train.errors import TrainError, TrainFileMissing
from rvm_data.train.run import BACKBONE_FILE, BACKBONE_VAR, make_model, start_warnings, train_build
from rvm_data.train.trainer import Trainer

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


# ------------------------------------------------------------------ where a run starts from


@pytest.fixture
def no_backbone(monkeypatch, tmp_path):
    """No RVM_DATA_BACKBONE and an empty torch hub folder: nothing to find."""
    monkeypatch.delenv(BACKBONE_VAR, raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))


def _backbone_file(path):
    torch.save(MobileNetV3LargeEncoder().state_dict(), path)
    return path


def test_stage1_from_a_random_backbone_says_so_in_one_line(tiny_build, tmp_path, no_backbone):
    config = _config(max_steps=1, validate=False, pretrained_backbone="${RVM_DATA_BACKBONE}")
    expected = r"^stage 1 starts from a random backbone \(\$\{RVM_DATA_BACKBONE\} is not set"
    with pytest.warns(UserWarning, match=expected) as got:
        train_build(config, tiny_build, tmp_path / "run", progress=False)
    line = next(str(w.message) for w in got if "random backbone" in str(w.message))
    assert "\n" not in line and BACKBONE_FILE in line
    assert start_warnings(_config(), None, False)[0].startswith("stage 1 starts from a random backbone "
                                                              "(train.pretrained_backbone is not set)")


def test_the_backbone_comes_from_the_variable_or_torchvision_cache(tmp_path, monkeypatch, no_backbone):
    weights = _backbone_file(tmp_path / "imagenet.pth")
    config = _config(pretrained_backbone="${RVM_DATA_BACKBONE}")
    monkeypatch.setenv(BACKBONE_VAR, str(weights))
    assert train_run.backbone_path(config.pretrained_backbone) == (str(weights), "")
    assert start_warnings(config, None, False) == []
    loaded = make_model(config).backbone.state_dict()
    assert all(torch.equal(v, torch.load(weights, weights_only=True)[k]) for k, v in loaded.items())
    # unset: torchvision's own cached copy, where it keeps it
    monkeypatch.delenv(BACKBONE_VAR)
    cached = train_run.default_backbone()
    assert cached == tmp_path / "torch-home" / "hub" / "checkpoints" / BACKBONE_FILE
    cached.parent.mkdir(parents=True)
    _backbone_file(cached)
    assert train_run.backbone_path(config.pretrained_backbone) == (str(cached), "")
    # a named file that is not there, or not a backbone, is an error naming it
    monkeypatch.setenv(BACKBONE_VAR, str(tmp_path / "missing.pth"))
    with pytest.raises(TrainFileMissing, match=r"missing\.pth does not exist \(from \$\{RVM_DATA_BACKBONE\}\)"):
        make_model(config)
    torch.save({"x": torch.zeros(1)}, tmp_path / "other.pth")
    monkeypatch.setenv(BACKBONE_VAR, str(tmp_path / "other.pth"))
    with pytest.raises(TrainError, match=r"train\.pretrained_backbone: .*other\.pth"):
        make_model(config)


def test_later_stages_without_init_warn_that_they_start_from_scratch(tiny_hr_build, tmp_path, no_backbone):
    config = _config(stage=3, max_steps=1, validate=False)
    with pytest.warns(UserWarning, match=r"^stage 3 starts from scratch \(random weights\) without --init: "
                                         r"RVM continues from stage 2's weights"):
        train_build(config, tiny_hr_build, tmp_path / "s3", progress=False)
    assert start_warnings(config, tmp_path / "s3" / "model.pth", False) == []
    assert start_warnings(config, None, True) == []  # a resumed run has its own weights
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        train_build(config.replace(max_steps=2), tiny_hr_build, tmp_path / "s3", resume=True, progress=False)


# ------------------------------------------------------------------ resume and learning rates


def test_resume_with_other_learning_rates_warns_and_keeps_the_checkpoints(tiny_build, tmp_path, no_backbone):
    out = tmp_path / "run"
    train_build(_config(max_steps=2, validate=False), tiny_build, out, progress=False)
    faster = _config(max_steps=3, validate=False, lr={**FAST, "decoder": 5e-3})
    with pytest.warns(UserWarning, match=r"--resume keeps the checkpoint's learning rates, not train\.lr: "
                                         r"decoder 0\.005 \(checkpoint 0\.001\); start a new run with --init"):
        train_build(faster, tiny_build, out, resume=True, progress=False)
    groups = torch.load(out / "checkpoints" / "last.pt", weights_only=True)["optimizer"]["param_groups"]
    assert {g["name"]: g["lr"] for g in groups}["decoder"] == 1e-3
    with warnings.catch_warnings():  # the same rates: nothing to say
        warnings.simplefilter("error")
        train_build(_config(max_steps=4, validate=False), tiny_build, out, resume=True, progress=False)
    thawed = _config(max_steps=5, validate=False, lr={**FAST, "refiner": 1e-4})
    with pytest.raises(TrainError, match=r"checkpoint trains groups backbone, aspp, decoder, project, this config "
                                         r"backbone, aspp, decoder, project, refiner"):
        train_build(thawed, tiny_build, out, resume=True, progress=False)


# ------------------------------------------------------------------ video segmentation at the matting T


def _seg_lengths(monkeypatch) -> list[tuple[int, ...]]:
    seen: list[tuple[int, ...]] = []
    original = Trainer.train_seg

    def spy(self, batch, pass_index):
        seen.append((self.step, *batch["img"].shape[:2], batch["seg"].shape[1]))
        return original(self, batch, pass_index)

    monkeypatch.setattr(Trainer, "train_seg", spy)
    return seen


def test_video_segmentation_is_cut_to_the_matting_length(tiny_seg_build, tmp_path, monkeypatch, no_backbone):
    seen = _seg_lengths(monkeypatch)
    config = _config(max_steps=4, validate=False, segmentation=True)
    train_build(config.replace(seg_video_frames=2), tiny_seg_build, tmp_path / "cut", progress=False)
    video = [s for s in seen if s[0] % 2 == 0]
    assert [s[2:] for s in video] == [(2, 2), (2, 2)]  # 3-frame clips, windows of 2 (img and seg alike)
    assert all(s[2] == 1 for s in seen if s[0] % 2 == 1)  # image passes untouched
    seen.clear()
    train_build(config, tiny_seg_build, tmp_path / "same", progress=False)  # default: the matting T (3)
    assert [s[2] for s in seen if s[0] % 2 == 0] == [3, 3]
    with pytest.warns(UserWarning, match=r"video segmentation clips have 3 frames, the matting pass 5: .*frames >= 5"):
        train_build(config.replace(seg_video_frames=5), tiny_seg_build, tmp_path / "short", progress=False)


def test_the_window_is_drawn_from_the_step_and_covers_every_start(tiny_seg_build, tmp_path, no_backbone):
    config = _config(max_steps=1, validate=False, segmentation=True, seg_video_frames=2)
    data = train_run.open_train_data(config, tiny_seg_build, train_run.setup("cpu"))
    trainer = Trainer(config, make_model(config), data, tmp_path / "w", train_run.setup("cpu"), progress=False)
    frames = torch.arange(5).view(1, 5, 1, 1, 1).expand(2, 5, 1, 4, 4)
    starts = []
    for step in range(40):
        trainer.step = step
        cut = trainer._seg_window({"img": frames, "seg": frames}, 3)
        assert torch.equal(cut["img"], cut["seg"]) and cut["img"].shape[1] == 3
        first = int(cut["img"][0, 0, 0, 0, 0])
        assert cut["img"][0, :, 0, 0, 0].tolist() == [first, first + 1, first + 2]  # consecutive frames
        starts.append(first)
    assert set(starts) == {0, 1, 2}
    trainer.step = 7
    again = [int(trainer._seg_window({"img": frames, "seg": frames}, 3)["img"][0, 0, 0, 0, 0]) for _ in range(3)]
    assert again == [starts[7]] * 3
    trainer.close()


def test_an_interrupted_run_names_its_checkpoint_and_resumes_with_one_record_per_step(tiny_build, tmp_path,
                                                                                    monkeypatch):
    from rvm_data.train.errors import TrainInterrupted

    out = tmp_path / "run"
    step = Trainer.train_step

    def interrupted_after_five(self):
        if self.step == 5:
            raise KeyboardInterrupt
        return step(self)

    with monkeypatch.context() as patch:
        patch.setattr(Trainer, "train_step", interrupted_after_five)
        with pytest.raises(TrainInterrupted) as caught:
            train_build(_config(max_steps=10, checkpoint_interval=2), tiny_build, out, progress=False)
    assert (caught.value.step, caught.value.checkpoint_step) == (5, 4)
    assert str(caught.value) == (f"interrupted at step 5; the last checkpoint ({out}/checkpoints/last.pt) "
                                 "holds step 4: --resume continues from there")
    assert sorted(_losses(out)) == [1, 2, 3, 4, 5]

    resumed = train_build(_config(max_steps=10, checkpoint_interval=2), tiny_build, out, resume=True, progress=False)
    records = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    train_steps = [r["step"] for r in records if r["kind"] == "train"]
    assert train_steps == list(range(1, 11))  # step 5 of the interrupted run is not repeated
    assert [r["step"] for r in records if r["kind"] == "valid"] == [0, 4, 8, 10]
    assert [v["step"] for v in resumed.valid] == [0, 4, 8, 10]  # the summary spans the whole run
    assert "(step 0) -> " in resumed.line() and resumed.line().count("(step 10)") == 1


def test_an_interrupt_before_any_checkpoint_says_so(tiny_build, tmp_path, monkeypatch):
    from rvm_data.train.errors import TrainInterrupted

    def interrupted(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(Trainer, "train_step", interrupted)
    with pytest.raises(TrainInterrupted, match="no checkpoint was written yet"):
        train_build(_config(max_steps=4, validate=False), tiny_build, tmp_path / "run", progress=False)


def test_re_paired_backgrounds_change_only_the_passes_that_re_read_samples(tiny_build, tmp_path):
    plain = train_build(_config(max_steps=8, validate=False), tiny_build, tmp_path / "plain", progress=False)
    paired = train_build(_config(max_steps=8, validate=False, re_pair_backgrounds=True), tiny_build,
                         tmp_path / "paired", progress=False)
    assert plain.steps == paired.steps == 8
    a, b = _losses(tmp_path / "plain"), _losses(tmp_path / "paired")
    assert [a[s] for s in (1, 2, 3, 4)] == [b[s] for s in (1, 2, 3, 4)]  # epoch 0 reads its samples first
    assert all(a[s] != b[s] for s in (5, 6, 7, 8))  # epoch 1 re-reads them: other composites
    again = train_build(_config(max_steps=8, validate=False, re_pair_backgrounds=True), tiny_build,
                        tmp_path / "again", progress=False)
    assert again.steps == 8 and _losses(tmp_path / "again") == b  # drawn from (seed, rank, epoch, batch)
