"""Sample kinds (rvm_data.kinds): the build and the recipe preview ask the output's kind, and a recipe
preview of either kind plans and renders exactly what the build stores."""

from pathlib import Path

import numpy as np
import pytest

from rvm_data.build import build, plan_jobs
from rvm_data.kinds import KINDS, MATTING, SEGMENTATION, kind_of
from rvm_data.recipe import load_recipe
from rvm_data.shards.folder import BuildFolder
from rvm_data.viewer.load import open_source

QUICKSTART = Path(__file__).resolve().parents[1] / "recipes" / "quickstart.yaml"


@pytest.fixture(scope="module")
def quickstart_build(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("kinds") / "qs"
    build(load_recipe(QUICKSTART), out, limit=1, splits=["train"], progress=False)
    return out


def test_each_output_has_one_kind_in_the_recipes_output_order():
    recipe = load_recipe(QUICKSTART)
    assert list(KINDS) == ["matting", "segmentation"]
    assert [name for kind in KINDS.values() for name in kind.outputs(recipe)] == list(recipe.all_outputs())
    assert kind_of(recipe, "lr") is MATTING and kind_of(recipe, "seg_video") is SEGMENTATION
    with pytest.raises(KeyError):
        kind_of(recipe, "hr")
    assert MATTING.catalog_key("train") == "train"  # the key skipped clips are recorded under, as before
    assert SEGMENTATION.catalog_key("train") == "segmentation/train"
    jobs = plan_jobs(recipe, ["train"], limit=1)
    assert {(job.output, job.kind) for job in jobs} == {("lr", "matting"), ("seg_image", "segmentation"),
                                                         ("seg_video", "segmentation")}


def test_the_manifest_records_each_outputs_kind_by_its_name(quickstart_build):
    outputs = BuildFolder(quickstart_build).recipe.outputs
    assert {name: out.kind for name, out in outputs.items()} == {
        "lr": MATTING.name, "seg_image": SEGMENTATION.name, "seg_video": SEGMENTATION.name}


@pytest.mark.parametrize("output", ["lr", "seg_image", "seg_video"])
def test_a_recipe_preview_of_either_kind_is_the_built_sample(quickstart_build, output):
    planned = open_source(QUICKSTART, output=output, split="train")
    stored = open_source(quickstart_build, output=output, split="train")
    kind = kind_of(load_recipe(QUICKSTART), output)
    got, want = planned.sample(0), stored.sample(0)
    assert sorted(k for k in got if k != "spec") == sorted(kind.fields) == sorted(k for k in want if k != "spec")
    spec = got["spec"] if isinstance(got["spec"], dict) else got["spec"].to_dict()
    assert spec == want["spec"]
    lossless = "pha" if kind is MATTING else "seg"  # png; the colour fields are stored as jpg
    assert np.array_equal(got[lossless], want[lossless])


def test_a_recipe_preview_defaults_to_the_matting_output():
    assert open_source(QUICKSTART).output == "lr"
