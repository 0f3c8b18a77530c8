"""Recipes that would take the machine down: a sample too big to render, and a YAML alias bomb whose
expanded value an error message would print."""

import subprocess
import sys
from pathlib import Path

import pytest

from rvm_data.recipe import RecipeError, load_recipe

BASE = """\
name: tiny
sources:
  train: {foreground_kind: videomatte, foreground: /nowhere/train}
outputs:
  main:
    compose: {size: [48, 48], frames: 3}
    samples: {train: 8}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "r.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("override, need", [("outputs.main.compose.size=[100000, 100000]", "391.2 GiB"),
                                            ("outputs.main.compose.frames=100000", "3.0 GiB")])
def test_a_sample_too_big_to_render_is_refused_naming_the_key(tmp_path, monkeypatch, override, need):
    monkeypatch.setenv("RVM_DATA_MEMORY_LIMIT_GIB", "2")
    with pytest.raises(RecipeError, match=rf"r\.yaml: outputs\.main\.compose: a sample of size .* needs about "
                                          rf"{need} to render, more than the limit of 2\.0 GiB") as err:
        load_recipe(write(tmp_path, BASE), [override])
    assert err.value.key == "outputs.main.compose"
    monkeypatch.setenv("RVM_DATA_MEMORY_LIMIT_GIB", "4")
    if "frames" in override:
        assert load_recipe(write(tmp_path, BASE), [override]).outputs["main"].compose.frames == 100000


def test_an_alias_bomb_costs_no_memory_in_the_error_message(tmp_path):
    """10 levels of 9 aliases: 9^10 items once expanded, whose repr would be tens of GiB. Under a 3 GiB
    address-space limit the error must still come, as one short line."""
    levels = ["&a0 [1,1,1,1,1,1,1,1,1]"] + [f"&a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    bomb = "[" + ", ".join(levels) + "]"
    path = write(tmp_path, BASE.replace("frames: 3", f"frames: {bomb}"))
    assert path.stat().st_size < 2048
    script = ("import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))\n"
              "from rvm_data.recipe import RecipeError, load_recipe\n"
              "try: load_recipe(sys.argv[1])\nexcept RecipeError as e: print(e)\n")
    out = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-500:]
    line, = out.stdout.splitlines()
    assert "outputs.main.compose.frames: expected an integer, got [[1, 1, 1" in line
    assert len(line) < len(str(path)) + 150


def test_bad_yaml_in_an_override_is_one_line_naming_it(tmp_path):
    with pytest.raises(RecipeError) as err:
        load_recipe(write(tmp_path, BASE), ["outputs.main.compose.size=[1, {"])
    assert "--set 'outputs.main.compose.size=[1, {': the value is not valid YAML" in str(err.value)
    assert "\n" not in str(err.value)
    with pytest.raises(RecipeError) as err:
        load_recipe(write(tmp_path, BASE + "bad: [\n"))
    assert "not valid YAML" in str(err.value) and "\n" not in str(err.value)


def test_mp4_colour_at_a_size_libx264_cannot_encode_reproducibly_is_refused_at_load(tmp_path):
    recipe = write(tmp_path, BASE + "shards: {codec: {color: mp4}}\n")
    with pytest.raises(RecipeError, match=r"outputs\.main\.compose\.size: \[36, 52\] with shards\.codec\.color mp4: "
                                          r"mp4 frames must be multiples of 16") as err:
        load_recipe(recipe, ["outputs.main.compose.size=[36, 52]"])
    assert err.value.key == "outputs.main.compose.size"
    assert load_recipe(recipe).outputs["main"].compose.size == (48, 48)
