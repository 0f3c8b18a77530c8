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
