"""Where previewed samples come from: a recipe (plan + render on the spot, exactly as a build does)
or a build folder (the frames and spec stored in its shards, nothing re-rendered)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from rvm_data.build import plan_output_samples
from rvm_data.errors import RvmDataError
from rvm_data.compose import render_sample
from rvm_data.recipe import Recipe, RecipeError, load_recipe
from rvm_data.shards.dataset import read_sample
from rvm_data.shards.folder import BuildFolder
from rvm_data.sources import SourceError, build_catalog


class PreviewError(RvmDataError, ValueError):
    """A target, output or split the preview cannot show (names the target)."""


class SampleIndexError(RvmDataError, IndexError):
    """A sample index outside the split (names the split and its size)."""


class SampleSource(Protocol):
    """One output and split of a recipe or a build; ``name`` is the recipe's, ``count`` the split size."""

    name: str
    output: str
    split: str
    count: int

    def sample(self, index: int) -> dict[str, Any]: ...


def _pick(what: str, choice: str | None, known: list[str], origin: str, flag: str,
          unsupported: tuple[str, ...] = ()) -> str:
    if choice in unsupported:
        raise PreviewError(f"{origin}: {choice!r} is a segmentation output; preview shows matting outputs "
                         f"({', '.join(known) or 'none here'})")
    if choice is None:
        if len(known) == 1:
            return known[0]
        if what == "split" and "train" in known:
            return "train"
        raise PreviewError(f"{origin} has {what}s {', '.join(known) or '(none)'}: choose one with {flag}")
    if choice not in known:
        raise PreviewError(f"{origin} has no {what} {choice!r} (it has: {', '.join(known) or 'none'})")
    return choice


def _check_index(index: int, count: int, where: str) -> None:
    if not 0 <= index < count:
        raise SampleIndexError(f"{where} has {count} samples; index {index} is out of range")


@dataclass
class RecipeSource:
    """Samples planned and rendered from a recipe with the seed, split and augment switch a build uses."""

    recipe: Recipe
    output: str
    split: str
    name: str = field(init=False)
    count: int = field(init=False)

    def __post_init__(self) -> None:
        self.name = self.recipe.name
        self.count = self.recipe.outputs[self.output].samples.get(self.split, 0)
        try:
            self._catalog = build_catalog(self.recipe.resolve_sources(self.split))
        except SourceError as error:
            raise RecipeError(self.recipe.origin, f"sources.{self.split}", str(error)) from None

    def sample(self, index: int) -> dict[str, Any]:
        _check_index(index, self.count, f"{self.recipe.origin}: outputs.{self.output}.samples.{self.split}")
        spec = next(plan_output_samples(self.recipe, self.output, self.split, (index,), self._catalog))
        return render_sample(spec, self._catalog)


@dataclass
class BuildSource:
    """Samples read back from a build folder's shards (``<split>/<output>-NNNNNN.tar``, keys = indices)."""

    folder: BuildFolder
    output: str
    split: str
    name: str = field(init=False)
    count: int = field(init=False)

    def __post_init__(self) -> None:
        self.name = self.folder.name
        self.count = self.folder.count(self.split, self.output)

    def sample(self, index: int) -> dict[str, Any]:
        _check_index(index, self.count, f"{self.folder.root}: split {self.split!r} output {self.output!r}")
        return read_sample(self.folder.root, self.split, index, self.output)


def open_source(target: str | Path, *, output: str | None = None, split: str | None = None,
                overrides: tuple[str, ...] = ()) -> SampleSource:
    """A recipe file or a build folder (a folder with ``manifest.json``) as a :class:`SampleSource`."""
    path = Path(target)
    if path.is_dir():
        if overrides:
            raise PreviewError(f"{path}: --set overrides apply to recipes, not to a build folder")
        folder = BuildFolder(path)
        output = _pick("output", output, list(folder.recipe.outputs), str(path), "--output")
        split = _pick("split", split, folder.splits, str(path), "--split")
        return BuildSource(folder, output, split)
    if not path.is_file():
        raise PreviewError(f"{path}: no such recipe file or build folder")
    recipe = load_recipe(path, overrides)
    seg = tuple(name for name in recipe.all_outputs() if name not in recipe.outputs)
    output = _pick("output", output, list(recipe.outputs), str(path), "--output", seg)
    split = _pick("split", split, list(recipe.outputs[output].samples), str(path), "--split")
    return RecipeSource(recipe, output, split)
