import pytest

from rvm_data.cli import main

RECIPE = """\
name: tiny
sources:
  train: {foreground_kind: videomatte, foreground: /nowhere/train}
  valid: {foreground_kind: videomatte, foreground: /nowhere/valid}
outputs:
  main:
    compose: {size: [48, 48], frames: 3}
    samples: {train: 8, valid: 2}
train:
  batch_size: 2
  workers: 0
  segmentation: false
  valid_batches: 1
  lr: {backbone: 0.001, aspp: 0.001, decoder: 0.001, project: 0.001}
"""


def test_cli_trains_resumes_and_reports_errors(tiny_build, tmp_path, capsys):
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(RECIPE)
    out = tmp_path / "run"
    common = ["train", str(recipe), "--shards", str(tiny_build), "--out", str(out), "--no-progress", "--device", "cpu"]
    assert main([*common, "--set", "train.max_steps=2"]) == 0
    assert "trained to step 2" in capsys.readouterr().out
    assert main([*common, "--set", "train.max_steps=3", "--resume"]) == 0
    assert "trained to step 3" in capsys.readouterr().out
    assert main([*common, "--set", "train.max_steps=4"]) == 2  # a run is there: needs --resume
    assert "already holds a run" in capsys.readouterr().err
    assert main([*common, "--set", "train.stage=7"]) == 2
    err = capsys.readouterr().err
    assert "train" in err and "stage" in err and len(err.strip().splitlines()) == 1
    missing = tmp_path / "not-built"
    assert main(["train", str(recipe), "--shards", str(missing), "--out", str(tmp_path / "run2"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert str(missing) in err and f"rvm-data build {recipe}" in err


def test_a_truncated_shard_is_one_line_naming_it(tiny_build, tmp_path, capsys):
    import shutil

    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(RECIPE)
    build = tmp_path / "build"
    shutil.copytree(tiny_build, build)
    shard = build / "train" / "main-000001.tar"
    shard.write_bytes(shard.read_bytes()[:3000])
    rc = main(["train", str(recipe), "--shards", str(build), "--out", str(tmp_path / "run"), "--no-progress",
               "--device", "cpu", "--set", "train.validate=false"])
    err = capsys.readouterr().err
    assert rc == 2 and "main-000001.tar" in err and "Traceback" not in err


@pytest.mark.parametrize("workers", [0, 1])
def test_a_damaged_member_is_one_line_naming_shard_and_member_with_workers_too(tiny_build, tmp_path, capsys, workers):
    """A DataLoader worker's ShardError reaches the CLI as itself, not as torch's re-raised traceback text."""
    import shutil
    import tarfile

    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(RECIPE)
    build = tmp_path / "build"
    shutil.copytree(tiny_build, build)
    shard = build / "train" / "main-000001.tar"
    with tarfile.open(shard) as tar:
        bad = next(m for m in tar.getmembers() if m.name.endswith(".pha.0001.png"))
    data = bytearray(shard.read_bytes())
    data[bad.offset_data:bad.offset_data + bad.size] = bytes(bad.size)
    shard.write_bytes(bytes(data))
    rc = main(["train", str(recipe), "--shards", str(build), "--out", str(tmp_path / "run"), "--no-progress",
               "--device", "cpu", "--set", "train.validate=false", "--set", f"train.workers={workers}",
               "--set", "train.max_steps=8"])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("rvm-data train: ")
             and not line.startswith("rvm-data train: warning")]
    assert rc == 2 and "Traceback" not in err and len(lines) == 1, err[-2000:]
    assert lines[0] == f"rvm-data train: {shard}: member {bad.name}: not a png (no PNG signature and IHDR chunk)"


def test_bad_override_yaml_is_one_line(tmp_path, capsys):
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(RECIPE)
    assert main(["train", str(recipe), "--set", "train.lr={backbone: [1"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--set 'train.lr={backbone: [1'" in err and "not valid YAML" in err


def test_ctrl_c_says_which_step_the_last_checkpoint_holds(tiny_build, tmp_path, capsys, monkeypatch):
    from rvm_data.train.trainer import Trainer

    step = Trainer.train_step

    def interrupted_after_three(self):
        if self.step == 3:
            raise KeyboardInterrupt
        return step(self)

    monkeypatch.setattr(Trainer, "train_step", interrupted_after_three)
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(RECIPE)
    out = tmp_path / "run"
    rc = main(["train", str(recipe), "--shards", str(tiny_build), "--out", str(out), "--no-progress", "--device",
               "cpu", "--set", "train.checkpoint_interval=2", "--set", "train.validate=false"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 130
    assert err[-1] == (f"rvm-data train: interrupted at step 3; the last checkpoint ({out}/checkpoints/last.pt) "
                   "holds step 2: --resume continues from there")


def test_sigterm_stops_training_like_ctrl_c(tiny_build, tmp_path):
    """`timeout`, scancel and docker stop send SIGTERM: one line naming the checkpoint, exit 143."""
    import signal
    import subprocess
    import sys
    import time

    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(RECIPE)
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-c", "import sys; from rvm_data.cli import main; sys.exit(main())",
                             "train", str(recipe), "--shards", str(tiny_build), "--out", str(out), "--no-progress",
                             "--device", "cpu", "--set", "train.checkpoint_interval=1", "--set", "train.validate=false",
                             "--set", "train.max_steps=100000"], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (out / "checkpoints" / "last.pt").is_file() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143 and "Traceback" not in err
    assert "rvm-data train: interrupted at step" in err and "checkpoints/last.pt) holds step" in err
