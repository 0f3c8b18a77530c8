"""BuildFolder: an output's shards found one way, and the recipe's outputs typed (tolerant of manifests
whose recipe lacks what a reader would like to know)."""

import pytest
from shard_helpers import make_build

from rvm_data.shards import Manifest, read_manifest, write_manifest
from rvm_data.shards.folder import BuildFolder, BuiltOutput, ShardFile, ShardSetError
from rvm_data.shards.layout import MANIFEST_NAME

RECIPE = {"name": "two", "outputs": {"lr": {"compose": {"frames": 2, "size": [16, 24]}, "samples": {"train": 5}},
                                     "odd": {"compose": {"frames": "2", "size": [16]}}},
          "segmentation": {"outputs": {"seg_image": {"frames": 1, "size": [8, 8]}}}}


@pytest.fixture
def two_outputs(tmp_path):
    """train: lr (2 shards) and seg_image (1 shard); valid: lr (1 shard)."""
    root = tmp_path / "build"
    make_build(root, [3, 2])
    entries = read_manifest(root).splits["train"]
    renamed = []
    for n, entry in enumerate(entries):  # test-NNNNNN.tar -> lr-NNNNNN.tar
        new = root / "train" / f"lr-{n:06d}.tar"
        (root / entry.path).rename(new)
        (root / (entry.path + ".json")).rename(root / "train" / f"lr-{n:06d}.tar.json")
        renamed.append(type(entry)(f"train/{new.name}", entry.samples, entry.bytes, entry.sha256))
    seg = make_build(tmp_path / "seg", [4]).joinpath("train", "test-000000.tar")
    seg.rename(root / "train" / "seg_image-000000.tar")
    val = make_build(tmp_path / "val", [2], split="valid").joinpath("valid", "test-000000.tar")
    (root / "valid").mkdir()
    val.rename(root / "valid" / "lr-000000.tar")
    seg_entry = read_manifest(tmp_path / "seg").splits["train"][0]
    val_entry = read_manifest(tmp_path / "val").splits["valid"][0]
    splits = {"train": renamed + [type(seg_entry)("train/seg_image-000000.tar", 4, seg_entry.bytes, seg_entry.sha256)],
              "valid": [type(val_entry)("valid/lr-000000.tar", 2, val_entry.bytes, val_entry.sha256)]}
    write_manifest(root, Manifest(RECIPE, "ab" * 32, splits))
    return root


def test_shards_of_a_split_and_output(two_outputs):
    folder = BuildFolder(two_outputs)
    assert folder.splits == ["train", "valid"] and folder.outputs("train") == ["lr", "seg_image"]
    assert folder.shards("train", "lr") == [ShardFile(str(two_outputs / "train" / "lr-000000.tar"), 3),
                                             ShardFile(str(two_outputs / "train" / "lr-000001.tar"), 2)]
    assert folder.shards("valid") == [ShardFile(str(two_outputs / "valid" / "lr-000000.tar"), 2)]  # one output
    assert folder.count("train", "lr") == 5 and folder.count("train") == 9
    assert list(folder.groups()) == ["train/lr", "train/seg_image", "valid/lr"]
    assert [e.path for e in folder.entries("train", "seg_image")] == ["train/seg_image-000000.tar"]
    assert folder.path(folder.entries("valid")[0]) == two_outputs / "valid" / "lr-000000.tar"


@pytest.mark.parametrize("split, output, problem", [
    (None, None, r"pass split= \(one of \['train', 'valid'\]\)"),
    ("test", None, r"no split 'test' \(has \['train', 'valid'\]\)"),
    ("train", None, r"split 'train' holds outputs \['lr', 'seg_image'\]; pass output="),
    ("train", "hr", r"split 'train' has no shards of output 'hr'"),
])
def test_ambiguous_or_missing_choices_are_shard_set_errors(two_outputs, split, output, problem):
    with pytest.raises(ShardSetError, match=problem):
        BuildFolder(two_outputs).shards(split, output)


def test_the_recipe_typed(two_outputs):
    recipe = BuildFolder(two_outputs / MANIFEST_NAME).recipe  # the manifest file opens the folder too
    assert recipe.name == "two" and recipe.hash == "ab" * 32
    assert recipe.outputs["lr"] == BuiltOutput("lr", "matting", 2, (16, 24))
    assert recipe.outputs["lr"].shape == (2, 16, 24)
    assert recipe.outputs["seg_image"] == BuiltOutput("seg_image", "segmentation", 1, (8, 8))
    assert recipe.outputs["odd"].shape is None  # frames not an int, size not two: unknown, not a crash
    assert list(recipe.of_kind("matting")) == ["lr", "odd"] and list(recipe.of_kind("segmentation")) == ["seg_image"]
    assert BuildFolder(two_outputs).shape("seg_image") == (1, 8, 8) and BuildFolder(two_outputs).shape("x") is None


def test_a_manifest_recipe_with_only_a_name(build):
    folder = BuildFolder(build)
    assert folder.name == "test" and folder.recipe.outputs == {} and folder.shape("test") is None
    given = BuildFolder(build, folder.manifest)  # a manifest already read is not read again
    assert given.manifest is folder.manifest and given.root == build
