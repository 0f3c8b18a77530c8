"""preview writes only inside --out, whatever recipe, output and split names it is given (they are read
from recipes and manifests and become file names)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from viewer_helpers import make_sample

from rvm_data.cli import main
from rvm_data.shards import CodecConfig, write_shard
from rvm_data.shards.manifest import PathEscapeError
from rvm_data.viewer.preview import preview_files, write_preview


def files(root: Path) -> set[Path]:
    return set(root.rglob("*"))


@dataclass
class HostileSource:
    name: str = "../../evil"
    output: str = "main"
    split: str = "train"
    count: int = 3

    def sample(self, index: int) -> dict:
        return {**make_sample(), "spec": {"index": index}}


def test_a_stem_that_leaves_the_folder_writes_nothing(tmp_path):
    out = tmp_path / "a" / "pv"
    before = files(tmp_path)
    with pytest.raises(PathEscapeError, match=f"refusing to write outside {out}"):
        write_preview({**make_sample(), "spec": {}}, out, "../../evil-main-train-000000")
    with pytest.raises(PathEscapeError):
        preview_files(HostileSource(), 0, out, count=2)
    with pytest.raises(PathEscapeError):
        preview_files(HostileSource(name="ok", split="../../../x"), 0, out)
    assert files(tmp_path) == before


def test_a_build_whose_recipe_name_climbs_out_is_refused(tmp_path, capsys):
    build = tmp_path / "build"
    sample = {**make_sample(), "spec": {"index": 0}}
    info = write_shard(build / "train" / "main-000000.tar", [sample], CodecConfig(color="png"))
    entry = {"path": "train/main-000000.tar", "samples": 1, "bytes": info.bytes, "sha256": info.sha256}
    (build / "manifest.json").write_text(json.dumps({"version": "0.1", "recipe_hash": "00",
                                                     "splits": {"train": [entry]},
                                                     "recipe": {"name": "../../evil", "outputs": {"main": {}}}}))
    before = files(tmp_path)
    assert main(["preview", str(build), "--out", str(tmp_path / "pv")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "recipe.name: recipe name '../../evil'" in err
    assert files(tmp_path) == before
