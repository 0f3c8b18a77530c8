"""The generic YAML -> dataclass walker, on small stand-in dataclasses defined here (their validators raise
ConfigError with their own key, as every config of the package does)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Optional

import pytest

from rvm_data.errors import ConfigError
from rvm_data.recipe import _Invalid, apply_override, parse_value


@dataclass
class Blur:
    prob: float = 0.1
    sigma: tuple[float, float] = (0.0, 2.0)

    def __post_init__(self) -> None:
        if not 0 <= self.prob <= 1:
            raise ConfigError("prob", f"must be in [0, 1], got {self.prob}")
        if self.sigma[0] > self.sigma[1]:
            raise ConfigError("sigma", f"must be a (low, high) pair with low <= high, got {self.sigma}")


@dataclass
class Compose:
    size: tuple[int, int]
    frames: int = 4
    blur: Blur = field(default_factory=Blur)
    mode: Literal["fit", "wrap"] = "fit"
    speeds: tuple[float, ...] = (1.0,)
    note: Optional[str] = None  # noqa: UP045  typing.Union on purpose: the parser takes it as well as X | None
    extra: dict[str, int] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.frames < 1:
            raise ConfigError("frames", f"must be >= 1, got {self.frames}")


def error_of(tp, value) -> _Invalid:
    with pytest.raises(_Invalid) as info:
        parse_value(tp, value, "outputs.main.compose")
    return info.value


def test_builds_nested_dataclasses_with_defaults():
    got = parse_value(Compose, {"size": [64, 96], "blur": {"prob": 1}, "speeds": [0.5, 2], "extra": {"a": 1}})
    assert got == Compose(size=(64, 96), blur=Blur(prob=1.0), speeds=(0.5, 2.0), extra={"a": 1})
    assert isinstance(got.blur.prob, float) and isinstance(got.size, tuple)


@pytest.mark.parametrize(
    "value, key, words",
    [
        ({"size": [8, 8], "frame": 3}, "outputs.main.compose.frame", ["unknown key", "did you mean 'frames'"]),
        ({"size": [8, 8], "frames": "many"}, "outputs.main.compose.frames", ["expected an integer", "'many'"]),
        ({"size": [8, 8], "frames": True}, "outputs.main.compose.frames", ["expected an integer"]),
        ({"size": [8]}, "outputs.main.compose.size", ["2 items"]),
        ({"size": [8, 8.5]}, "outputs.main.compose.size[1]", ["expected an integer"]),
        ({"frames": 2}, "outputs.main.compose.size", ["missing"]),
        ({"size": [8, 8], "mode": "loop"}, "outputs.main.compose.mode", ["one of 'fit', 'wrap'"]),
        ({"size": [8, 8], "blur": {"prob": 1.5}}, "outputs.main.compose.blur.prob", ["must be in [0, 1]"]),
        ({"size": [8, 8], "blur": {"sigma": [3, 1]}}, "outputs.main.compose.blur.sigma", ["low <= high"]),
        ({"size": [8, 8], "frames": 0}, "outputs.main.compose.frames", ["must be >= 1"]),
        ({"size": [8, 8], "blur": 3}, "outputs.main.compose.blur", ["expected a mapping (Blur)"]),
        ({"size": [8, 8], "extra": {"a": "x"}}, "outputs.main.compose.extra.a", ["expected an integer"]),
        ({"size": [8, 8], "names": "abc"}, "outputs.main.compose.names", ["expected a list"]),
        ({"size": [8, 8], "note": 5}, "outputs.main.compose.note", ["expected a string, got 5"]),
    ],
)
def test_errors_name_the_key_path(value, key, words):
    error = error_of(Compose, value)
    assert error.key == key
    for word in words:
        assert word in error.message


def test_optional_dataclass_reports_the_deep_error():
    error = error_of(Optional[Compose], {"size": [8, 8], "blur": {"prob": -1}})  # noqa: UP045  typing.Union too
    assert error.key == "outputs.main.compose.blur.prob"


def test_overrides_set_nested_values_parsed_as_yaml():
    data = {"outputs": {"main": {"compose": {"size": [8, 8]}}}, "runs": [{"a": 1}]}
    apply_override(data, "outputs.main.compose.size=[16, 32]")
    apply_override(data, "outputs.main.compose.blur.prob=0.5")
    apply_override(data, "runs.0.a=null")
    apply_override(data, "name=hello world")
    assert data["outputs"]["main"]["compose"] == {"size": [16, 32], "blur": {"prob": 0.5}}
    assert data["runs"] == [{"a": None}] and data["name"] == "hello world"


@pytest.mark.parametrize("text", ["no-equals-sign", "=3", "runs.5.a=1", "name.sub=1"])
def test_bad_overrides_are_refused(text):
    with pytest.raises(ValueError, match="--set"):
        apply_override({"runs": [{"a": 1}], "name": "x"}, text)


def test_exponent_numbers_yaml_reads_as_strings_are_numbers():
    # PyYAML (YAML 1.1) reads 1e-3 as the string "1e-3"; a float field takes it as the number.
    got = parse_value(Compose, {"size": [8, 8], "blur": {"prob": "1e-3"}, "speeds": ["2E+0"]})
    assert got.blur.prob == 0.001 and got.speeds == (2.0,)
    assert "expected an integer" in error_of(Compose, {"size": [8, 8], "frames": "1e3"}).message
    assert "expected a number" in error_of(Compose, {"size": [8, 8], "blur": {"prob": "1e-3x"}}).message


@pytest.mark.parametrize(("text", "named"), [
    ("outputs.lrr.compose.frames=12", "outputs has no 'lrr' (the recipe has: lr, hr); did you mean 'lr'?"),
    ("segmentation.outputs.seg_imag.size=[8,8]", "segmentation.outputs has no 'seg_imag' (the recipe has: "
     "seg_image); did you mean 'seg_image'?"),
    ("sources.tran.foreground=x", "sources has no 'tran' (the recipe has: train, valid); did you mean 'train'?"),
])
def test_an_override_in_a_name_the_recipe_lacks_names_it(text, named):
    data = {"outputs": {"lr": {"samples": {}}, "hr": {}}, "sources": {"train": {}, "valid": {}},
            "segmentation": {"outputs": {"seg_image": {}}}}
    with pytest.raises(ValueError) as caught:
        apply_override(data, text)
    assert str(caught.value) == f"--set {text!r}: {named}"
    apply_override(data, "outputs.lr.compose.frames=12")  # an existing name takes new keys as before
    assert data["outputs"]["lr"]["compose"] == {"frames": 12}


def test_a_config_bug_is_not_reported_as_bad_input():
    """Only ConfigError is the recipe's fault: another exception from a config is a bug and surfaces as one."""

    @dataclass
    class Broken:
        size: int = 1

        def __post_init__(self) -> None:
            raise ZeroDivisionError("a bug")

    with pytest.raises(ZeroDivisionError):
        parse_value(Broken, {}, "outputs.main")
