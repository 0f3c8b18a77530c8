"""Sample kinds: what differs between matting and segmentation data, behind one protocol, so the build
and the viewer ask the kind instead of switching on ``segmentation: bool`` or the catalog's type.

A kind names its recipe outputs, indexes its sources (its catalog), plans and renders one sample, writes
one shard of samples (matting's :meth:`MattingKind.render_shard` and segmentation's
:meth:`SegmentationKind.render_shard` side by side), and says which frame fields its samples hold. Its
``name`` is what a build's manifest records per output (``rvm_data.shards.folder.BuiltOutput.kind``),
which is how the trainer and the viewer tell a finished build's outputs apart without importing this.
Adding a kind: a class with these members and a line in :data:`KINDS`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from rvm_data.compose import SampleSpec, plan_sample, render_sample
from rvm_data.recipe import Recipe, checked_path, data_hint
from rvm_data.replacement import render_replacing
from rvm_data.segmentation.plan import plan_seg_sample
from rvm_data.segmentation.readers import SegCatalog
from rvm_data.segmentation.render import render_seg_sample
from rvm_data.segmentation.shards import render_seg_shard, seg_catalog
from rvm_data.shards.writer import ShardInfo, ShardWriter
from rvm_data.sources import Catalog, SourceError, build_catalog
from rvm_data.sources.catalog import SkippedClip


@dataclass(frozen=True)
class ShardResult:
    """What one shard job hands back: the written shard, and a record per sample replaced for a bad clip."""

    info: ShardInfo
    skipped: tuple[SkippedClip, ...] = ()


class SampleKind(Protocol):
    """One kind of sample (see the module docstring). ``catalog_key`` names the catalog of a split (the
    key skipped clips are recorded under); ``sources_key`` the recipe key of its sources, for errors."""

    name: str
    fields: tuple[str, ...]
    outputs_key: str  # where the recipe lists this kind's outputs

    def outputs(self, recipe: Recipe) -> Mapping[str, Any]: ...

    def catalog_key(self, split: str) -> str: ...

    def sources_key(self, split: str) -> str: ...

    def catalog(self, recipe: Recipe, split: str) -> Any: ...

    def source_hint(self, recipe: Recipe, split: str, error: SourceError) -> str: ...

    def skipped(self, catalog: Any) -> Sequence[SkippedClip]: ...

    def planner(self, recipe: Recipe, output: str, split: str, catalog: Any, epoch: int = 0) -> Callable[..., Any]: ...

    def render(self, spec: Any, catalog: Any) -> dict[str, Any]: ...

    def render_shard(self, path: Path, recipe: Recipe, output: str, split: str, start: int, stop: int,
                     catalog: Any, epoch: int = 0, on_sample: Callable[[], None] | None = None) -> ShardResult: ...


class MattingPlanner(Protocol):
    """``plan(index, attempt=0)``: the spec of one matting sample (``attempt`` > 0: a replacement's)."""

    def __call__(self, index: int, attempt: int = 0) -> SampleSpec: ...


class MattingKind:
    """fgr, pha, bgr composited from matting sources and backgrounds (``outputs:``)."""

    name = "matting"
    fields: tuple[str, ...] = ("fgr", "pha", "bgr")  # typed as SampleKind's, which it must match
    outputs_key = "outputs"

    def outputs(self, recipe: Recipe) -> Mapping[str, Any]:
        return recipe.outputs

    def catalog_key(self, split: str) -> str:
        return split

    def sources_key(self, split: str) -> str:
        return f"sources.{split}"

    def catalog(self, recipe: Recipe, split: str) -> Catalog:
        return build_catalog(recipe.resolve_sources(split))

    def source_hint(self, recipe: Recipe, split: str, error: SourceError) -> str:
        """A wrong data root (the file is not there at all) gets the hint where the data should be."""
        return f"; {data_hint(recipe.sources[split].foreground)}" if not os.path.exists(error.path) else ""

    def skipped(self, catalog: Catalog) -> Sequence[SkippedClip]:
        return catalog.skipped

    def planner(self, recipe: Recipe, output: str, split: str, catalog: Catalog,
                epoch: int = 0) -> MattingPlanner:
        """``plan(index, attempt=0)``: the spec of one sample of a matting output and split, exactly as a
        build plans it (the output's seed, augmentation where the recipe asks for it in this split, and
        the recipe's name, hash and the output in ``spec.meta``), so a preview from the recipe equals what
        the build stores. The recipe is hashed once per planner, not once per sample."""
        config = recipe.outputs[output]
        seed, augment = recipe.output_seed(output, epoch), split in config.augment
        meta = {"recipe": recipe.name, "recipe_hash": recipe.hash, "output": output}

        def plan(index: int, attempt: int = 0) -> SampleSpec:
            spec = plan_sample(config.compose, catalog, seed=seed, split=split, index=index, augment=augment,
                               attempt=attempt)
            spec.meta.update(meta)
            return spec

        return plan

    def render(self, spec: SampleSpec, catalog: Catalog) -> dict[str, Any]:
        return render_sample(spec, catalog)

    def render_shard(self, path: Path, recipe: Recipe, output: str, split: str, start: int, stop: int,
                     catalog: Catalog, epoch: int = 0, on_sample: Callable[[], None] | None = None) -> ShardResult:
        """Samples ``[start, stop)`` into the shard ``path``; a bad clip stops the job or, under
        ``on_bad_clip: skip``, its samples are replaced (see :mod:`rvm_data.replacement`) and recorded."""
        plan = self.planner(recipe, output, split, catalog, epoch)
        on_bad_clip = recipe.sources[split].on_bad_clip
        skipped: list[SkippedClip] = []
        with ShardWriter(path, recipe.shards.codec) as writer:
            for index in range(start, stop):
                sample, replaced = render_replacing(partial(plan, index), catalog, on_bad_clip)
                writer.write(sample)
                skipped += replaced
                if on_sample is not None:
                    on_sample()
        assert writer.info is not None
        return ShardResult(writer.info, tuple(skipped))


class SegmentationKind:
    """img, seg from segmentation image and video sets (``segmentation.outputs:``)."""

    name = "segmentation"
    fields: tuple[str, ...] = ("img", "seg")
    outputs_key = "segmentation.outputs"

    def outputs(self, recipe: Recipe) -> Mapping[str, Any]:
        return recipe.segmentation.outputs if recipe.segmentation is not None else {}

    def catalog_key(self, split: str) -> str:
        return f"segmentation/{split}"

    def sources_key(self, split: str) -> str:
        return f"segmentation.sources.{split}"

    def catalog(self, recipe: Recipe, split: str) -> SegCatalog:
        key = self.sources_key(split)
        return seg_catalog(recipe.segmentation, split, lambda path: checked_path(path, recipe.origin, key))

    def source_hint(self, recipe: Recipe, split: str, error: SourceError) -> str:
        return ""

    def skipped(self, catalog: SegCatalog) -> Sequence[SkippedClip]:
        return ()

    def planner(self, recipe: Recipe, output: str, split: str, catalog: SegCatalog,
                epoch: int = 0) -> Callable[[int], Any]:
        config = recipe.segmentation.outputs[output]
        seed, augment = recipe.output_seed(output, epoch), split in config.augment
        return lambda index: plan_seg_sample(config, catalog, seed=seed, split=split, index=index, augment=augment)

    def render(self, spec: Any, catalog: SegCatalog) -> dict[str, Any]:
        return render_seg_sample(spec, catalog)

    def render_shard(self, path: Path, recipe: Recipe, output: str, split: str, start: int, stop: int,
                     catalog: SegCatalog, epoch: int = 0, on_sample: Callable[[], None] | None = None) -> ShardResult:
        return ShardResult(render_seg_shard(path, recipe.segmentation.outputs[output], catalog,
                                            seed=recipe.output_seed(output, epoch), split=split, start=start,
                                            stop=stop, codec=recipe.shards.codec, on_sample=on_sample))


MATTING, SEGMENTATION = MattingKind(), SegmentationKind()
KINDS: dict[str, SampleKind] = {kind.name: kind for kind in (MATTING, SEGMENTATION)}  # in recipe output order


def kind_of(recipe: Recipe, output: str) -> SampleKind:
    """The kind of one of the recipe's outputs (KeyError naming it when the recipe has no such output)."""
    for kind in KINDS.values():
        if output in kind.outputs(recipe):
            return kind
    raise KeyError(output)


def plan_output_samples(recipe: Recipe, output: str, split: str, indices: Iterable[int],
                        catalog: Catalog) -> Iterator[SampleSpec]:
    """The first-attempt specs of samples ``indices`` of a matting output (see :meth:`MattingKind.planner`)."""
    plan = MATTING.planner(recipe, output, split, catalog)
    return (plan(index) for index in indices)
