"""Where previewed samples come from: a recipe (plan + render on the spot, exactly as a build does)
or a build folder (the frames and spec stored in its shards, nothing re-rendered)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from rvm_data.errors import RvmDataError
from rvm_data.kinds import KINDS, kind_of
from rvm_data.recipe import Recipe, RecipeError, load_recipe
from rvm_data.shards.dataset import read_sample
from rvm_data.shards.folder import BuildFolder
from rvm_data.sources import SourceError


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


def _pick(what: str, choice: str | None, known: list[str], origin: str, flag: str) -> str:
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
    """Samples planned and rendered from a recipe with the seed, split and augment switch a build uses,
    by the output's kind (matting or segmentation)."""

    recipe: Recipe
    output: str
    split: str
    name: str = field(init=False)
    count: int = field(init=False)

    def __post_init__(self) -> None:
        self.name = self.recipe.name
        self._kind = kind_of(self.recipe, self.output)
        self.count = self._kind.outputs(self.recipe)[self.output].samples.get(self.split, 0)
        try:
            self._catalog = self._kind.catalog(self.recipe, self.split)
        except SourceError as error:
            raise RecipeError(self.recipe.origin, self._kind.sources_key(self.split), str(error)) from None
        self._plan = self._kind.planner(self.recipe, self.output, self.split, self._catalog)

    def sample(self, index: int) -> dict[str, Any]:
        _check_index(index, self.count,
                     f"{self.recipe.origin}: {self._kind.outputs_key}.{self.output}.samples.{self.split}")
        return self._kind.render(self._plan(index), self._catalog)


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
    # by default the one output of the first kind the recipe has (matting before segmentation)
    default = next((list(kind.outputs(recipe)) for kind in KINDS.values() if kind.outputs(recipe)), [])
    output = _pick("output", output, list(recipe.all_outputs()) if output is not None else default, str(path),
                   "--output")
    split = _pick("split", split, list(recipe.all_outputs()[output].samples), str(path), "--split")
    return RecipeSource(recipe, output, split)
