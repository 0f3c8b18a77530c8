"""``rvm-data inspect --samples`` and ``--spec``: every sample listed from its spec alone, with or without
member indices, for matting and segmentation specs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from shard_helpers import synthetic_sample

from rvm_data.cli import main
from rvm_data.shards.manifest import Manifest, ShardEntry, write_manifest
from rvm_data.shards.members import index_path
from rvm_data.shards.writer import write_shard


def _matting_spec(i: int) -> dict:
    layer = {"source": {"collection": "foregrounds", "name": f"clip{i}"}, "source_frames": [4 + i, 5 + i],
             "hflip": i == 1, "temporal": {"reversed": i == 2, "speed": 1.0, "skips": [], "boundary": None}}
    bgr = {"source": {"collection": "backgrounds", "name": "bg"}, "source_frames": [0, 0], "hflip": False,
           "temporal": {"reversed": False, "speed": 2.0, "skips": [], "boundary": None}}
    meta = {"replaces": [{"collection": "foregrounds", "name": "broken"}]} if i == 3 else {}
    return {"index": i, "augment": True, "fgr": layer, "bgr": bgr, "grayscale": False, "pause": None,
            "meta": meta}


def _seg_spec(i: int) -> dict:
    return {"index": i, "augment": True, "item": {"name": f"img{i}"}, "source_frames": [0], "hflip": i == 0,
            "grayscale": False, "affine": None, "color": {"hue": 0.1}, "temporal": None}


def _build(root: Path) -> Path:
    splits: dict[str, list[ShardEntry]] = {"train": []}
    for output, spec, sizes in (("lr", _matting_spec, (3, 2)), ("seg_image", _seg_spec, (2,))):
        start = 0
        for n, count in enumerate(sizes):
            samples = []
            for i in range(start, start + count):
                sample = synthetic_sample(i)
                sample["spec"] = spec(i)
                if output == "seg_image":
                    sample = {"img": sample["fgr"][:1], "seg": sample["pha"][:1], "spec": sample["spec"]}
                samples.append(sample)
            info = write_shard(root / "train" / f"{output}-{n:06d}.tar", samples)
            splits["train"].append(ShardEntry(f"train/{info.name}", info.samples, info.bytes, info.sha256))
            start += count
    write_manifest(root, Manifest({"name": "views"}, "0" * 64, splits))
    return root


@pytest.mark.parametrize("indexed", [True, False])
def test_samples_lists_sources_augmentations_and_replacements(tmp_path, capsys, indexed):
    root = _build(tmp_path / "b")
    if not indexed:
        for shard in (root / "train").glob("*.tar"):
            index_path(shard).unlink()
    assert main(["inspect", str(root), "--samples", "--no-progress"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[:2] for line in lines] == [["train/lr", f"{i:09d}"] for i in range(5)] + [
        ["train/seg_image", f"{i:09d}"] for i in range(2)]
    assert "fgr foregrounds/clip1 frames 5..6" in lines[1] and "fgr-hflip" in lines[1]
    assert "bgr backgrounds/bg frames 0..0" in lines[0] and "bgr-speed 2x" in lines[0]
    assert "fgr-reversed" in lines[2] and "fgr-hflip" not in lines[2]
    assert lines[3].endswith("replaces bad clip(s) foregrounds/broken") and "replaces" not in lines[4]
    assert "item img0 frames 0..0" in lines[5] and "aug: hflip, color" in lines[5]
    assert "aug: color" in lines[6]


def test_spec_prints_one_samples_spec_and_asks_for_the_output_when_ambiguous(tmp_path, capsys):
    root = _build(tmp_path / "b")
    assert main(["inspect", str(root), "--spec", "4", "--output", "lr"]) == 0
    assert json.loads(capsys.readouterr().out) == _matting_spec(4)
    assert main(["inspect", str(root), "--spec", "1", "--output", "seg_image"]) == 0
    assert json.loads(capsys.readouterr().out) == _seg_spec(1)
    assert main(["inspect", str(root), "--spec", "0"]) == 2
    assert "pass --split/--output (one of train/lr, train/seg_image)" in capsys.readouterr().err
    assert main(["inspect", str(root), "--spec", "5", "--output", "lr"]) == 2
    assert "train/lr has 5 samples; index 5 is out of range" in capsys.readouterr().err
