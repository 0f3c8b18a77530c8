"""manifest.json is validated as it is read and written: every bad value is one ManifestError naming the
file and the key path; nothing read from it can name a path outside the build folder."""

import json
import pickle

import pytest
from shard_helpers import make_build

from rvm_data.cli import main
from rvm_data.errors import RvmDataError
from rvm_data.recipe import _SAFE_NAME
from rvm_data.shards import Manifest, ShardEntry, read_manifest, write_manifest
from rvm_data.shards.manifest import SAFE_NAME, ManifestError, ManifestMissingError, PathEscapeError, confined

SHA = "ab" * 32


def good() -> dict:
    entry = {"path": "train/lr-000000.tar", "samples": 5, "bytes": 10240, "sha256": SHA}
    return {"version": "0.1", "recipe_hash": "0" * 64, "recipe": {"name": "r", "outputs": {"lr": {}}},
            "splits": {"train": [entry, {**entry, "path": "train/lr-000001.tar"}]}}


def write(tmp_path, data) -> None:
    (tmp_path / "manifest.json").write_text(json.dumps(data))


def test_the_name_rule_is_the_recipes():
    assert SAFE_NAME.pattern == _SAFE_NAME.pattern


def test_a_good_manifest_reads_with_skipped_defaulting_to_empty(tmp_path):
    write(tmp_path, good())
    manifest = read_manifest(tmp_path)
    assert manifest.skipped == [] and manifest.totals()["all"] == {"shards": 2, "samples": 10, "bytes": 20480}
    skipped = [{"collection": "vm", "name": "clip1", "path": "/x/clip1", "reason": "bad frame", "samples": 2}]
    write(tmp_path, {**good(), "skipped": skipped})
    assert read_manifest(tmp_path).skipped == skipped


def bad_value(data: dict, key: str, value) -> dict:
    """``data`` with the value at a dotted key path (list items by number) replaced."""
    *parents, last = key.split(".")
    node = data
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return data


@pytest.mark.parametrize("key, value, message", [
    ("splits.train.1.samples", "5", "splits.train[1].samples: expected an integer >= 1, got '5'"),
    ("splits.train.1.samples", 0, "splits.train[1].samples: expected an integer >= 1, got 0"),
    ("splits.train.0.samples", -3, "splits.train[0].samples: expected an integer >= 1, got -3"),
    ("splits.train.0.samples", True, "splits.train[0].samples: expected an integer >= 1, got True"),
    ("splits.train.0.samples", 2.0, "splits.train[0].samples: expected an integer >= 1, got 2.0"),
    ("splits.train.0.bytes", -1, "splits.train[0].bytes: expected an integer >= 0, got -1"),
    ("splits.train.0.sha256", "abc", "splits.train[0].sha256: expected 64 lowercase hex digits, got 'abc'"),
    ("splits.train.0.path", "../../etc/lr-000000.tar", "splits.train[0].path: expected train/<output>-NNNNNN.tar"),
    ("splits.train.0.path", "/abs/train/lr-000000.tar", "splits.train[0].path: expected train/"),
    ("splits.train.0.path", "train/../lr-000000.tar", "splits.train[0].path: expected train/"),
    ("splits.train.0.path", "train\\lr-000000.tar", "splits.train[0].path: expected train/"),
    ("splits.train.0.path", "valid/lr-000000.tar", "splits.train[0].path: expected train/"),
    ("splits.train.0.path", "train/lr-0.tar", "splits.train[0].path: expected train/"),
    ("splits.train.0.path", "train/.x-000000.tar", "splits.train[0].path: expected train/"),
    ("splits.train.0.path", 7, "splits.train[0].path: expected train/"),
    ("splits.train.1.path", "train/lr-000000.tar", "splits.train[1].path: 'train/lr-000000.tar' is listed twice"),
    ("splits.train.0", "train/lr-000000.tar", "splits.train[0]: expected a mapping"),
    ("splits.train", {"path": 1}, "splits.train: expected a list of shards"),
    ("splits", [], "splits: expected a mapping"),
    ("recipe", None, "recipe: expected a mapping, got None"),
    ("recipe.name", "../../evil", "recipe.name: recipe name '../../evil' must be letters"),
    ("recipe.name", None, "recipe.name: recipe name None must be letters"),
    ("recipe.outputs", {"../x": {}}, "recipe.outputs: output name '../x' must be letters"),
    ("recipe_hash", "xyz", "recipe_hash: expected a lowercase hex string, got 'xyz'"),
    ("recipe_hash", 12, "recipe_hash: expected a lowercase hex string, got 12"),
    ("version", 1, "version: expected a version string, got 1"),
    ("skipped", {}, "skipped: expected a list"),
    ("skipped", [{"reason": 3}], "skipped[0].reason: expected a string, got 3"),
    ("stack", ["numpy"], "stack: expected an object of library names to version strings, got ['numpy']"),
    ("stack", {"numpy": 2}, "stack: expected an object of library names to version strings, got {'numpy': 2}"),
    ("sources", [], "sources: expected a mapping of catalog to fingerprint, got []"),
    ("sources", {"train": {"sha256": "b" * 64}}, "sources.train.clips: expected a mapping of collection to count"),
    ("sources", {"train": {"sha256": "b" * 64, "clips": {"foregrounds": "2"}}}, "sources.train.clips: expected a"),
    ("sources", {"train": {"sha256": "B" * 64, "clips": {}}}, "sources.train: expected {sha256: 64 lowercase hex"),
])
def test_each_bad_value_is_one_error_naming_file_and_key(tmp_path, key, value, message):
    write(tmp_path, bad_value(good(), key, value))
    with pytest.raises(ManifestError) as info:
        read_manifest(tmp_path)
    assert str(info.value).startswith(f"{tmp_path / 'manifest.json'}: {message}")
    assert isinstance(info.value, ValueError) and isinstance(info.value, RvmDataError)
    assert "\n" not in str(info.value)


def test_split_names_missing_and_unknown_keys(tmp_path):
    data = good()
    data["splits"]["../../x"] = data["splits"].pop("train")
    write(tmp_path, data)
    with pytest.raises(ManifestError, match=r"splits: split name '../../x' must be letters"):
        read_manifest(tmp_path)
    data = good()
    del data["splits"]["train"][0]["sha256"]
    data["splits"]["train"][0]["extra"] = 1
    write(tmp_path, data)
    with pytest.raises(ManifestError, match=r"splits.train\[0\]: missing sha256; unknown key\(s\) 'extra'"):
        read_manifest(tmp_path)
    for top in ("version", "recipe_hash", "recipe", "splits"):
        data = good()
        del data[top]
        write(tmp_path, data)
        with pytest.raises(ManifestError, match=f": {top}: missing"):
            read_manifest(tmp_path)
    write(tmp_path, [1, 2])
    with pytest.raises(ManifestError, match="expected a JSON object, got \\[1, 2\\]"):
        read_manifest(tmp_path)


def test_long_values_are_cut_in_messages(tmp_path):
    write(tmp_path, bad_value(good(), "splits.train.0.sha256", "z" * 5000))
    with pytest.raises(ManifestError) as info:
        read_manifest(tmp_path)
    assert len(str(info.value)) < len(str(tmp_path)) + 150 and "zzz..." in str(info.value)


def test_missing_and_garbled_manifests_are_project_errors(tmp_path):
    with pytest.raises(ManifestMissingError, match=f"{tmp_path / 'manifest.json'}: no manifest") as info:
        read_manifest(tmp_path)
    assert isinstance(info.value, FileNotFoundError)
    again = pickle.loads(pickle.dumps(info.value))
    assert (str(again), again.path) == (str(info.value), info.value.path)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(ManifestError, match="not valid JSON"):
        read_manifest(tmp_path)
    write(tmp_path, bad_value(good(), "splits.train.0.samples", "5"))
    with pytest.raises(ManifestError) as info:
        read_manifest(tmp_path)
    again = pickle.loads(pickle.dumps(info.value))
    assert (str(again), again.key) == (str(info.value), "splits.train[0].samples")


def test_writing_an_invalid_manifest_is_refused_and_leaves_the_old_one(tmp_path):
    root = make_build(tmp_path, [2])
    before = (root / "manifest.json").read_bytes()
    manifest = read_manifest(root)
    bad = Manifest(manifest.recipe, manifest.recipe_hash, {"train": [ShardEntry("train/test-000001.tar", 0, 1, SHA)]})
    with pytest.raises(ManifestError, match=r"being written\): splits.train\[0\].samples"):
        write_manifest(root, bad)
    assert (root / "manifest.json").read_bytes() == before
    assert not [p for p in root.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("value", ["'5'", "0", "null"])
def test_cli_reports_a_bad_count_in_one_line(tmp_path, capsys, value):
    root = make_build(tmp_path, [2, 3])
    text = (root / "manifest.json").read_text()
    (root / "manifest.json").write_text(text.replace('"samples": 3', f'"samples": {value}'.replace("'", '"')))
    assert main(["inspect", str(root)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "splits.train[1].samples: expected an integer >= 1" in err
    assert main(["inspect", str(root), "--verify"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("BAD manifest.json: splits.train[1].samples: expected an integer >= 1")
    assert out[1].startswith("verify: 1 problem(s)")


def test_confined(tmp_path):
    (tmp_path / "out").mkdir()
    assert confined(tmp_path / "out", tmp_path / "out" / "a" / "b") == (tmp_path / "out" / "a" / "b").resolve()
    for escape in ("../x", "a/../../x", "/etc/passwd"):
        with pytest.raises(PathEscapeError, match="refusing to write outside"):
            confined(tmp_path / "out", tmp_path / "out" / escape)
