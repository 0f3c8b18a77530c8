"""`rvm-data sample-sources` and `rvm-data build recipes/quickstart.yaml` (matting + segmentation), via the CLI."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rvm_data.cli import main
from rvm_data.shards import read_manifest

RECIPES = Path(__file__).resolve().parents[2] / "recipes"
TINY = ["--limit", "2", "--no-progress", "--set", "shards.samples_per_shard=1"]


@pytest.fixture(scope="module")
def sample_cache(tmp_path_factory) -> str:
    """$RVM_DATA_CACHE when the environment names one (made once, shared), else a fresh folder."""
    return os.environ.get("RVM_DATA_CACHE") or str(tmp_path_factory.mktemp("rvm-data-cache"))


def test_quickstart_builds_on_the_builtin_set(sample_cache, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("RVM_DATA_CACHE", sample_cache)
    monkeypatch.delenv("RVM_DATA_BUILTIN", raising=False)
    assert main(["sample-sources"]) == 0
    root = Path(capsys.readouterr().out.strip().splitlines()[0])
    assert (root / "videomatte" / "train").is_dir()

    out = tmp_path / "quickstart"
    assert main(["build", str(RECIPES / "quickstart.yaml"), "--out", str(out), *TINY,
                 "--set", "outputs.lr.compose.size=[64, 64]", "--set", "outputs.lr.compose.frames=2",
                 "--set", "segmentation.outputs.seg_image.size=[48, 48]",
                 "--set", "segmentation.outputs.seg_video.size=[48, 48]",
                 "--set", "segmentation.outputs.seg_video.frames=2"]) == 0
    line = capsys.readouterr().out
    assert f"{out}: 8 samples in 8 shards" in line and "frames/s" in line
    splits = {split: [e.path for e in entries] for split, entries in read_manifest(out).splits.items()}
    assert splits == {
        "train": ["train/lr-000000.tar", "train/lr-000001.tar", "train/seg_image-000000.tar",
                  "train/seg_image-000001.tar", "train/seg_video-000000.tar", "train/seg_video-000001.tar"],
        "valid": ["valid/lr-000000.tar", "valid/lr-000001.tar"],
    }


def test_cli_errors_are_one_line_with_exit_code_2(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("RVM_DATA_ROOT", raising=False)
    assert main(["build", str(RECIPES / "vm_stage1.yaml"), "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "RVM_DATA_ROOT" in err and "recipes/quickstart.yaml" in err
    assert not (tmp_path / "x").exists()
    assert main(["build", str(RECIPES / "quickstart.yaml"), "--set", "outputs.lr.compose.frames=0"]) == 2
    assert "quickstart.yaml: outputs.lr.compose.frames: must be a positive integer" in capsys.readouterr().err
