"""Recipe files: the shipped ones load, errors name file and key, overrides, hash, missing data."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from rvm_data.recipe import Recipe, RecipeError, load_recipe, parse_recipe

RECIPES = sorted((Path(__file__).parents[2] / "recipes").glob("*.yaml"))
QUICKSTART = Path(__file__).parents[2] / "recipes" / "quickstart.yaml"


def write(tmp_path: Path, data: dict, name: str = "r.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def quickstart_data() -> dict:
    return yaml.safe_load(QUICKSTART.read_text())


@pytest.mark.parametrize("path", RECIPES, ids=[p.name for p in RECIPES])
def test_shipped_recipes_load_without_their_data(path, monkeypatch, tmp_path):
    monkeypatch.setenv("RVM_DATA_ROOT", str(tmp_path / "nothing-here"))
    recipe = load_recipe(path)
    assert isinstance(recipe, Recipe) and recipe.all_outputs() and len(recipe.hash) == 64
    assert parse_recipe(recipe.to_dict()).hash == recipe.hash  # what the manifest stores reloads the same


def test_the_paper_stages():
    stages = {p.stem: load_recipe(p) for p in RECIPES if p.stem.startswith("vm_stage")}
    shape = {name: {o: (tuple(out.compose.size), out.compose.frames) for o, out in r.outputs.items()}
             for name, r in stages.items()}
    assert shape["vm_stage1"] == {"lr": ((512, 512), 15)}
    assert shape["vm_stage2"] == {"lr": ((512, 512), 50)}
    assert shape["vm_stage3"]["lr"] == ((512, 512), 40) and shape["vm_stage3"]["hr"][1] == 6
    assert 1024 <= min(shape["vm_stage3"]["hr"][0]) <= max(shape["vm_stage3"]["hr"][0]) <= 2048
    assert "VideoMatte240K_JPEG_HD" in stages["vm_stage3"].sources["train"].foreground
    assert stages["vm_stage4"].sources["train"].foreground_kind == "imagematte"
    assert stages["vm_stage4"].outputs["lr"].compose.augment.fgr_affine.prob == 0.95
    for recipe in stages.values():
        assert set(recipe.sources) == {"train", "valid"}


@pytest.mark.parametrize(
    "override, key, words",
    [
        ("outputs.lr.compose.framez=3", "outputs.lr.compose.framez", "did you mean 'frames'"),
        ("outputs.lr.compose.frames=eight", "outputs.lr.compose.frames", "expected an integer"),
        ("outputs.lr.compose.augment.fgr_affine.prob=1.5", "outputs.lr.compose.augment.fgr_affine.prob", "[0, 1]"),
        ("outputs.lr.compose.augment.noise.grain=[4, 1]", "outputs.lr.compose.augment.noise.grain", "low <= high"),
        ("outputs.lr.compose.frames=0", "outputs.lr.compose.frames", "positive"),
        ("shards.samples_per_shard=0", "shards.samples_per_shard", ">= 1"),
        ("shards.codec.color=bmp", "shards.codec.color", "must be one of"),
        ("outputs.lr.samples.test=4", "outputs.lr", "split 'test' has no sources"),
        ("sources.train.foreground_kind=audio", "sources.train.foreground_kind", "'videomatte'"),
        ("seed=1.5", "seed", "expected an integer"),
    ],
)
def test_errors_name_file_and_key(override, key, words, tmp_path):
    path = write(tmp_path, quickstart_data())
    with pytest.raises(RecipeError) as info:
        load_recipe(path, [override])
    assert info.value.origin == str(path) and info.value.key == key and words in info.value.message
    assert str(info.value).startswith(f"{path}: {key}: ")


def test_errors_in_the_file_itself(tmp_path):
    data = quickstart_data()
    data["outputs"]["lr"]["compose"]["size"] = [256]
    with pytest.raises(RecipeError, match=r"r\.yaml: outputs\.lr\.compose\.size: expected a list of 2 items"):
        load_recipe(write(tmp_path, data))
    (tmp_path / "bad.yaml").write_text("name: [unclosed\n")
    with pytest.raises(RecipeError, match=r"bad\.yaml: not valid YAML"):
        load_recipe(tmp_path / "bad.yaml")
    with pytest.raises(RecipeError, match=r"missing\.yaml: cannot read recipe"):
        load_recipe(tmp_path / "missing.yaml")
    del data["outputs"], data["segmentation"]
    with pytest.raises(RecipeError, match=r"r\.yaml: outputs: a recipe needs at least one output"):
        load_recipe(write(tmp_path, data))
    del data["name"]
    with pytest.raises(RecipeError, match=r"r\.yaml: name: missing \(required\)"):
        load_recipe(write(tmp_path, data))


def test_overrides_change_values_and_partial_mappings_keep_defaults(tmp_path):
    recipe = load_recipe(QUICKSTART, ["outputs.lr.compose.size=[64, 96]",
                                      "outputs.lr.compose.augment.bgr_affine.range.degrees=[-1, 1]"])
    compose = recipe.outputs["lr"].compose
    assert compose.size == (64, 96) and compose.augment.bgr_affine.range.degrees == (-1.0, 1.0)
    assert compose.augment.bgr_affine.prob == load_recipe(QUICKSTART).outputs["lr"].compose.augment.bgr_affine.prob


def test_hash_is_stable_and_follows_content(tmp_path):
    base = load_recipe(QUICKSTART)
    assert load_recipe(QUICKSTART).hash == base.hash
    reordered = dict(reversed(list(quickstart_data().items())))
    assert load_recipe(write(tmp_path, reordered)).hash == base.hash
    default_prob = base.outputs["lr"].compose.bgr_video_prob
    explicit = load_recipe(QUICKSTART, [f"outputs.lr.compose.bgr_video_prob={default_prob}"])
    assert explicit.hash == base.hash  # spelling out a default changes nothing
    assert load_recipe(QUICKSTART, ["seed=99"]).hash != base.hash
    assert load_recipe(QUICKSTART, ["outputs.lr.compose.augment.noise.prob=0.2"]).hash != base.hash


def test_missing_data_says_how_to_point_at_it(monkeypatch, tmp_path):
    stage1 = next(p for p in RECIPES if p.stem == "vm_stage1")
    monkeypatch.delenv("RVM_DATA_ROOT", raising=False)
    recipe = load_recipe(stage1)  # loading needs no data
    with pytest.raises(RecipeError, match=r"sources\.train\.foreground: \$\{RVM_DATA_ROOT\} is not set.*quickstart"):
        recipe.resolve_sources("train")
    monkeypatch.setenv("RVM_DATA_ROOT", str(tmp_path))
    with pytest.raises(RecipeError,
                       match=r"VideoMatte240K_JPEG_SD/train does not exist; set RVM_DATA_ROOT to the folder"):
        recipe.resolve_sources("train")
    (tmp_path / "VideoMatte240K_JPEG_SD" / "train").mkdir(parents=True)
    with pytest.raises(RecipeError,
                       match=r"sources\.train\.background_videos: .*BackgroundVideos/train does not exist"):
        recipe.resolve_sources("train")


def test_train_section_is_validated_with_train_config(tmp_path):
    data = quickstart_data()
    data["train"] = {"stage": 2, "lr": {"backbone": 1e-5}}
    recipe = load_recipe(write(tmp_path, data))
    assert recipe.train.stage == 2 and recipe.train.lr.backbone == 1e-5
    assert recipe.to_dict()["train"]["stage"] == 2
    data["train"] = {"stage": 2, "epoks": 3}
    with pytest.raises(RecipeError, match=r"train\.epoks: unknown key; did you mean 'epochs'"):
        load_recipe(write(tmp_path, data))


def test_stage_recipes_start_as_rvm(monkeypatch):
    """Stage 1 names torchvision's ImageNet weights through RVM_DATA_BACKBONE; later stages start from
    the stage before (--init, said in the recipe), not from a backbone file."""
    monkeypatch.delenv("RVM_DATA_BACKBONE", raising=False)
    stages = {int(p.stem[-1]): (p, load_recipe(p)) for p in RECIPES if p.stem.startswith("vm_stage")}
    assert stages[1][1].train.pretrained_backbone == "${RVM_DATA_BACKBONE}"
    assert "mobilenet_v3_large-8738ca79.pth" in stages[1][0].read_text()
    for n in (2, 3, 4):
        path, recipe = stages[n]
        assert recipe.train.stage == n and recipe.train.pretrained_backbone is None
        assert f"--init runs/vm_stage{n - 1}/model.pth" in path.read_text()


def test_video_segmentation_of_each_stage_is_long_enough_for_its_matting_T(monkeypatch, tmp_path):
    """RVM's video segmentation clips have the stage's matting T (15/50/40/40): each stage reads a
    seg_video build (named by its recipe) with at least that many frames; the trainer cuts longer ones."""
    monkeypatch.setenv("RVM_DATA_ROOT", str(tmp_path))
    by_name = {load_recipe(p).name: load_recipe(p) for p in RECIPES}
    want = {1: 15, 2: 50, 3: 40, 4: 40}
    for recipe in (r for r in by_name.values() if r.name.startswith("vm_stage")):
        train = recipe.train
        assert recipe.outputs["lr"].compose.frames == want[train.stage]
        seg = by_name[Path(train.seg_video_shards).name].segmentation.outputs[train.seg_video_output]
        assert train.seg_video_frames is None  # the matting T, cut from the build's clips
        assert seg.frames >= want[train.stage] and seg.frames <= 50
    assert by_name["seg_video"].segmentation.outputs["seg_video"].frames == 15
    assert by_name["seg_video_t50"].segmentation.outputs["seg_video"].frames == 50
