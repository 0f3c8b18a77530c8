"""export-frames writes only inside the folder asked for, whatever the names in the manifest, folders
and shards it reads (trust contract: nothing read from a shard or manifest becomes a path outside it)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rvm_data.cli import main
from rvm_data.evalsets import export_frames
from rvm_data.shards import CodecConfig, write_shard
from rvm_data.shards.manifest import PathEscapeError


def files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")}


def write_samples(path: Path) -> dict:
    rng = np.random.default_rng(0)
    samples = [{"fgr": rng.integers(0, 256, (2, 8, 8, 3), dtype=np.uint8),
                "pha": rng.integers(0, 256, (2, 8, 8, 1), dtype=np.uint8),
                "bgr": rng.integers(0, 256, (2, 8, 8, 3), dtype=np.uint8), "spec": {"index": i}} for i in range(2)]
    return write_shard(path, samples, CodecConfig(color="png"))


def test_a_split_folder_named_dotdot_cannot_lead_the_export_out(tmp_path, capsys):
    write_samples(tmp_path / "src" / "shards" / "test-000000.tar")
    (tmp_path / "src" / "shards" / "x").mkdir()
    source = tmp_path / "src" / "shards" / "x" / ".."  # its .name is "..": the clip names start "../"
    out = tmp_path / "exports" / "mine"
    before = files(tmp_path)
    with pytest.raises(PathEscapeError, match=f"refusing to write outside {out}"):
        export_frames(source, out)
    assert main(["export-frames", str(source), str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "refusing to write outside" in err and "test/000000000" in err
    assert files(tmp_path) == before


def test_a_hostile_manifest_split_is_refused_before_anything_is_written(tmp_path, capsys):
    build = tmp_path / "build"
    info = write_samples(build / "x" / "test-000000.tar")
    entry = {"path": "../../x/test-000000.tar", "samples": info.samples, "bytes": info.bytes, "sha256": info.sha256}
    (build / "manifest.json").write_text(json.dumps(
        {"version": "0.1", "recipe_hash": "00", "recipe": {"name": "t"}, "splits": {"../../x": [entry]}}))
    before = files(tmp_path)
    assert main(["export-frames", str(build), str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "splits: split name '../../x'" in err
    assert files(tmp_path) == before


def test_missing_inputs_are_one_line_project_errors(tmp_path, capsys):
    assert main(["export-frames", str(tmp_path / "none.tar"), str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == f"rvm-data export-frames: {tmp_path / 'none.tar'}: no such shard\n"
    build = tmp_path / "build"
    info = write_samples(build / "test" / "t-000000.tar")
    (build / "test" / "t-000000.tar").unlink()
    entry = {"path": "test/t-000000.tar", "samples": info.samples, "bytes": info.bytes, "sha256": info.sha256}
    (build / "manifest.json").write_text(json.dumps(
        {"version": "0.1", "recipe_hash": "00", "recipe": {"name": "t"}, "splits": {"test": [entry]}}))
    assert main(["export-frames", str(build), str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{build / 'test' / 't-000000.tar'}: cannot be opened" in err
