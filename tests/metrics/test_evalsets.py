"""Evaluation sets: shards as named clips, the frame-folder export, and scoring either form."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from rvm_data.cli import main
from rvm_data.evalsets import export_frames, iter_shard_samples
from rvm_data.metrics import evaluate
from rvm_data.shards import CodecConfig, Manifest, ShardEntry, composite, write_manifest, write_shard


def matting_sample(index: int, rng: np.random.Generator) -> dict:
    t, h, w = 3, 16, 20
    return {
        "fgr": rng.integers(0, 256, (t, h, w, 3), dtype=np.uint8),
        "pha": rng.integers(0, 256, (t, h, w, 1), dtype=np.uint8),
        "bgr": rng.integers(0, 256, (t, h, w, 3), dtype=np.uint8),
        "spec": {"index": index},
    }


@pytest.fixture()
def build(tmp_path: Path) -> tuple[Path, dict[str, dict]]:
    """A build folder with two outputs in one split, both numbering samples from 0."""
    rng = np.random.default_rng(0)
    codec = CodecConfig(color="png")
    out, samples, entries = tmp_path / "build", {}, []
    for output in ("motion", "static"):
        batch = [matting_sample(i, rng) for i in range(2)]
        info = write_shard(out / "test" / f"{output}-000000.tar", batch, codec)
        entries.append(ShardEntry(f"test/{output}-000000.tar", info.samples, info.bytes, info.sha256))
        samples.update({f"test/{output}/{i:09d}": s for i, s in enumerate(batch)})
    write_manifest(out, Manifest(recipe={"name": "t"}, recipe_hash="0", splits={"test": entries}))
    return out, samples


def test_shard_samples_are_named_by_split_output_and_key(build) -> None:
    out, samples = build
    got = dict(iter_shard_samples(out))
    assert list(got) == list(samples)
    for name, sample in samples.items():
        for field in ("fgr", "pha", "bgr"):
            np.testing.assert_array_equal(got[name][field], sample[field])


def test_export_writes_rvm_folders_and_scores_zero_against_the_shards(build, tmp_path, capsys) -> None:
    out, samples = build
    assert main(["export-frames", str(out), str(tmp_path / "frames")]) == 0
    assert "exported 4 clips" in capsys.readouterr().out
    clip = tmp_path / "frames" / "test" / "static" / "000000001"
    assert sorted(p.name for p in clip.iterdir()) == ["bgr", "com", "fgr", "pha"]
    assert sorted(p.name for p in (clip / "com").iterdir()) == ["0000.png", "0001.png", "0002.png"]
    s = samples["test/static/000000001"]
    com = cv2.cvtColor(cv2.imread(str(clip / "com" / "0002.png")), cv2.COLOR_BGR2RGB)
    np.testing.assert_array_equal(com, composite(s["fgr"], s["pha"], s["bgr"])[2])
    result = evaluate(tmp_path / "frames", out)
    assert [c.name for c in result.clips] == list(samples)
    assert all(v == 0 for c in result.clips for v in c.metrics.values())
    # and the other way round, one split folder of shards as the prediction
    assert len(evaluate(out / "test", tmp_path / "frames").clips) == 4


def test_composite_matches_the_formula() -> None:
    fgr = np.full((1, 1, 1, 3), 200, np.uint8)
    bgr = np.full((1, 1, 1, 3), 100, np.uint8)
    pha = np.full((1, 1, 1, 1), 51, np.uint8)  # 0.2
    assert composite(fgr, pha, bgr)[0, 0, 0, 0] == 120


def test_export_errors(build, tmp_path) -> None:
    out, _ = build
    with pytest.raises(ValueError, match="unknown field"):
        export_frames(out, tmp_path / "x", fields=["alpha"])
    with pytest.raises(ValueError, match="no split 'train'"):
        export_frames(out, tmp_path / "x", split="train")
