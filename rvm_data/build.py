"""Build: render a recipe's samples into shards, one job per shard, locally or on a dask cluster.

Job ``j`` of an (output, split) renders samples ``[j*S, (j+1)*S)`` and writes
``<out>/<split>/<output>-<j:06d>.tar`` through ShardWriter (temporary name, then rename). Every
sample is a pure function of (recipe, split, index), so the bytes of a shard do not depend on the
worker count, the backend, the order of work or an interruption in between.

Resume: ``manifest.json`` is rewritten after every finished shard. A rerun keeps each listed shard
whose file still has the recorded sample count and sha256 and renders only the rest; a manifest
made from another recipe (different hash) is refused rather than mixed.
"""

from __future__ import annotations

import hashlib
import os
import time
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
from tqdm import tqdm

from rvm_data import __version__
from rvm_data.compose import SampleSpec, plan_sample, render_sample
from rvm_data.errors import RvmDataError
from rvm_data.recipe import Recipe, RecipeError, checked_path, data_hint
from rvm_data.segmentation.readers import SegCatalog
from rvm_data.segmentation.shards import render_seg_shard, seg_catalog
from rvm_data.shards.manifest import (MANIFEST_NAME, Manifest, ShardEntry, read_manifest, shard_output,
                                     write_manifest)
from rvm_data.shards.writer import ShardInfo, ShardWriter
from rvm_data.sources import Catalog, SourceError, build_catalog


class BuildError(RvmDataError, RuntimeError):
    """A build that cannot start or go on (mismatched folder, missing data); one line for the user."""


class BuildInterrupted(KeyboardInterrupt):
    """Ctrl-C during a build; completed shards are in the manifest, ``summary`` says how many."""

    def __init__(self, summary: BuildSummary):
        super().__init__(
            f"interrupted: {summary.shards} complete shards are kept in {summary.out_dir}; "
            "rerun the same command to finish the rest"
        )
        self.summary = summary


@dataclass(frozen=True)
class ShardJob:
    """One unit of work: samples ``[start, stop)`` of one output and split, into one shard."""

    output: str
    split: str
    shard: int
    start: int
    stop: int
    segmentation: bool = False

    @property
    def catalog(self) -> str:
        """Which catalog the job reads: its split's matting sources or its segmentation sources."""
        return f"segmentation/{self.split}" if self.segmentation else self.split

    @property
    def path(self) -> str:
        """The shard's path relative to the build folder (the manifest's key)."""
        return f"{self.split}/{self.output}-{self.shard:06d}.tar"

    @property
    def samples(self) -> int:
        return self.stop - self.start


@dataclass(frozen=True)
class BuildSummary:
    """What the build folder holds after a build, and how fast this run rendered its part."""

    out_dir: Path
    samples: int
    shards: int
    bytes: int
    rendered_shards: int = 0
    rendered_samples: int = 0
    rendered_frames: int = 0
    kept_shards: int = 0
    seconds: float = 0.0
    runner: str = "1 worker"

    @property
    def frames_per_s(self) -> float:
        return self.rendered_frames / self.seconds if self.seconds > 0 else 0.0

    def line(self) -> str:
        """The one-line summary printed at the end of ``rvm-data build``."""
        kept = f", {self.kept_shards} kept from before" if self.kept_shards else ""
        head = f"{self.out_dir}: {self.samples} samples in {self.shards} shards, {_size(self.bytes)}; "
        if not self.rendered_shards:
            return head + "every shard already complete, nothing rendered"
        return (
            head + f"rendered {self.rendered_shards} shards ({self.rendered_frames} frames) in "
            f"{self.seconds:.1f} s = {self.frames_per_s:.0f} frames/s on {self.runner}{kept}"
        )


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError


# ---------------------------------------------------------------------------------------------
# Jobs and the work one job does
# ---------------------------------------------------------------------------------------------


def plan_jobs(recipe: Recipe, splits: Sequence[str] | None = None, limit: int | None = None) -> list[ShardJob]:
    """Every shard job of the recipe, for the chosen splits, with at most ``limit`` samples each."""
    per_shard = recipe.shards.samples_per_shard
    jobs = []
    for split in splits or recipe.splits:
        for name, output in recipe.all_outputs().items():
            count = output.samples.get(split, 0)
            count = count if limit is None else min(count, limit)
            seg = name not in recipe.outputs
            jobs += [
                ShardJob(name, split, j, j * per_shard, min((j + 1) * per_shard, count), seg)
                for j in range(-(-count // per_shard))
            ]
    return jobs


def plan_output_samples(recipe: Recipe, output: str, split: str, indices: Iterable[int],
                        catalog: Catalog) -> Iterator[SampleSpec]:
    """The specs of samples ``indices`` of a matting output and split, exactly as a build plans them
    (the output's seed, augmentation where the recipe asks for it in this split, and the recipe's name,
    hash and the output in ``spec.meta``), so a preview from the recipe equals what the build stores.
    A generator so that a shard job hashes the recipe once, not once per sample."""
    config = recipe.outputs[output]
    seed, augment = recipe.output_seed(output), split in config.augment
    meta = {"recipe": recipe.name, "recipe_hash": recipe.hash, "output": output}
    for index in indices:
        spec = plan_sample(config.compose, catalog, seed=seed, split=split, index=index, augment=augment)
        spec.meta.update(meta)
        yield spec


def render_shard(job: ShardJob, recipe: Recipe, catalog: Catalog | SegCatalog, out_dir: str) -> ShardInfo:
    """Plan, render and write one shard. One job is one core's work, so OpenCV runs single-threaded."""
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        if job.segmentation:
            return render_seg_shard(Path(out_dir) / job.path, recipe.segmentation.outputs[job.output], catalog,
                                    seed=recipe.output_seed(job.output), split=job.split, start=job.start,
                                    stop=job.stop, codec=recipe.shards.codec)
        with ShardWriter(Path(out_dir) / job.path, recipe.shards.codec) as writer:
            for spec in plan_output_samples(recipe, job.output, job.split, range(job.start, job.stop), catalog):
                writer.write(render_sample(spec, catalog))
    finally:
        cv2.setNumThreads(threads)
    assert writer.info is not None
    return writer.info


def _run_local(jobs: list[ShardJob], recipe: Recipe, catalogs: dict[str, Catalog | SegCatalog], out_dir: str,
               workers: int) -> Iterator[tuple[ShardJob, ShardInfo]]:
    if workers == 1:
        for job in jobs:
            yield job, render_shard(job, recipe, catalogs[job.catalog], out_dir)
        return
    from joblib import Parallel, delayed

    parallel = Parallel(n_jobs=workers, backend="loky", return_as="generator_unordered")
    yield from parallel(delayed(_tagged)(job, recipe, catalogs[job.catalog], out_dir) for job in jobs)


def _tagged(job: ShardJob, recipe: Recipe, catalog: Catalog | SegCatalog, out_dir: str) -> tuple[ShardJob, ShardInfo]:
    return job, render_shard(job, recipe, catalog, out_dir)


def _run_dask(jobs: list[ShardJob], recipe: Recipe, catalogs: dict[str, Catalog | SegCatalog], out_dir: str,
              scheduler: str) -> Iterator[tuple[ShardJob, ShardInfo]]:
    """The same jobs on a dask.distributed cluster; workers write to ``out_dir`` on shared storage."""
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise BuildError("--scheduler needs dask.distributed: pip install 'rvm-data[cluster]'") from None
    try:
        client = Client(scheduler, set_as_default=False, timeout="20s")
    except OSError as error:
        raise BuildError(f"cannot reach the dask scheduler at {scheduler}: {error}") from None
    with client, client.as_current():
        shared = {key: client.scatter(catalog, broadcast=True) for key, catalog in catalogs.items()}
        futures = [client.submit(_tagged, job, recipe, shared[job.catalog], out_dir, pure=False) for job in jobs]
        try:
            for future in as_completed(futures):
                yield future.result()
        finally:
            client.cancel(futures)


# ---------------------------------------------------------------------------------------------
# Resume bookkeeping
# ---------------------------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _recipe_diff(old: Any, new: Any, key: str = "") -> list[str]:
    """Key paths where two recipe dicts differ (for the refusal message)."""
    if isinstance(old, dict) and isinstance(new, dict):
        return [p for k in sorted(set(old) | set(new), key=str)
                for p in _recipe_diff(old.get(k), new.get(k), f"{key}.{k}" if key else str(k))]
    return [] if old == new else [key or "(top level)"]


def _existing_manifest(out: Path, recipe: Recipe) -> Manifest | None:
    if not (out / MANIFEST_NAME).exists():
        return None
    try:
        manifest = read_manifest(out)
    except ValueError as error:
        raise BuildError(f"{error}; delete it (the shards are then rebuilt) or build into a new --out") from None
    if manifest.version != __version__:
        raise BuildError(
            f"{out} was built by rvm_data {manifest.version}, this is {__version__}: samples could differ, so "
            "the builds are not mixed; build into a new --out DIR, or delete the folder"
        )
    if manifest.recipe_hash != recipe.hash:
        diff = _recipe_diff(manifest.recipe, recipe.to_dict())
        shown = ", ".join(diff[:4]) + (f" and {len(diff) - 4} more" if len(diff) > 4 else "")
        raise BuildError(
            f"{out} holds a build of another recipe ({manifest.recipe.get('name')!r}, hash "
            f"{manifest.recipe_hash[:12]}; this one is {recipe.hash[:12]}, differing in {shown or 'content'}); "
            "refusing to mix them: build into a new --out DIR, or delete the folder"
        )
    return manifest


def _reusable(out: Path, job: ShardJob, entry: ShardEntry | None) -> bool:
    path = out / job.path
    return (
        entry is not None and entry.samples == job.samples and path.is_file()
        and path.stat().st_size == entry.bytes and _sha256(path) == entry.sha256
    )


def _remove_stale_temporaries(out: Path, splits: Iterable[str]) -> None:
    """Temporary shard and manifest files left by a killed build (never read; a rerun's folder would
    otherwise differ from an uninterrupted build's)."""
    for tmp in out.glob(f".{MANIFEST_NAME}.tmp-*"):
        tmp.unlink(missing_ok=True)
    for split in splits:
        for tmp in (out / split).glob(".*.tar.tmp-*"):
            tmp.unlink(missing_ok=True)


@dataclass
class _Ledger:
    """The manifest as it grows: entries outside this build's scope, kept ones, new ones."""

    recipe: Recipe
    out: Path
    scope: list[ShardJob]
    other: dict[str, list[ShardEntry]]
    done: dict[str, ShardEntry] = field(default_factory=dict)

    def add(self, job: ShardJob, info: ShardInfo) -> None:
        self.done[job.path] = ShardEntry(job.path, info.samples, info.bytes, info.sha256)

    def manifest(self) -> Manifest:
        """Entries in a fixed order (split, output, shard) whatever order the jobs finished in."""
        splits = {split: list(entries) for split, entries in self.other.items()}
        for job in self.scope:
            if job.path in self.done:
                splits.setdefault(job.split, []).append(self.done[job.path])
        order = {split: i for i, split in enumerate(self.recipe.splits)}
        outputs = {name: i for i, name in enumerate(self.recipe.all_outputs())}

        def rank(entry: ShardEntry) -> tuple:
            output = shard_output(entry.path)
            return outputs.get(output, len(outputs)), output, entry.path  # within an output: by shard number

        ordered = sorted(splits, key=lambda s: (order.get(s, len(order)), s))
        return Manifest(recipe=self.recipe.to_dict(), recipe_hash=self.recipe.hash,
                        splits={s: sorted(splits[s], key=rank) for s in ordered if splits[s]})

    def write(self) -> Manifest:
        manifest = self.manifest()
        write_manifest(self.out, manifest)
        return manifest


def _ledger(out: Path, recipe: Recipe, jobs: list[ShardJob], splits: Sequence[str]) -> tuple[_Ledger, list[ShardJob]]:
    """Split the jobs into shards to keep (recorded and intact) and shards to render."""
    old = _existing_manifest(out, recipe)
    in_scope = {(split, name) for split in splits for name in recipe.all_outputs()}
    ledger = _Ledger(recipe, out, jobs, other={})
    entries: dict[str, ShardEntry] = {}
    for split, split_entries in (old.splits.items() if old else []):
        for entry in split_entries:
            if (split, shard_output(entry.path)) in in_scope:
                entries[entry.path] = entry
            else:
                ledger.other.setdefault(split, []).append(entry)
    todo = []
    for job in jobs:
        if _reusable(out, job, entries.get(job.path)):
            ledger.done[job.path] = entries[job.path]
        else:
            todo.append(job)
    return ledger, todo


# ---------------------------------------------------------------------------------------------
# The build
# ---------------------------------------------------------------------------------------------


def default_out_dir(recipe: Recipe) -> Path:
    return Path("shards") / recipe.name


def catalogs_for(recipe: Recipe, jobs: Iterable[ShardJob]) -> dict[str, Catalog | SegCatalog]:
    """Index the sources the jobs read, once per split and kind (they are shipped to every worker)."""
    catalogs: dict[str, Catalog | SegCatalog] = {}
    for job in jobs:
        if job.catalog in catalogs:
            continue
        key = f"segmentation.sources.{job.split}" if job.segmentation else f"sources.{job.split}"
        try:
            if job.segmentation:
                catalogs[job.catalog] = seg_catalog(recipe.segmentation, job.split,
                                                    lambda path: checked_path(path, recipe.origin, key))
            else:
                catalogs[job.catalog] = build_catalog(recipe.resolve_sources(job.split))
        except SourceError as error:
            hint = "" if job.segmentation else f"; {data_hint(recipe.sources[job.split].foreground)}"
            raise RecipeError(recipe.origin, key, f"{error}{hint}") from None
    return catalogs


def build(recipe: Recipe, out_dir: str | os.PathLike | None = None, *, workers: int = 1,
          limit: int | None = None, splits: Sequence[str] | None = None, scheduler: str | None = None,
          progress: bool = True) -> BuildSummary:
    """Render every missing shard of ``recipe`` into ``out_dir`` and write its manifest.

    ``workers`` loky processes on this machine, or the dask cluster at ``scheduler``
    (``tcp://host:port``; ``out_dir`` must then be on storage the workers share).
    ``limit`` caps the samples of every output and split (for a quick look).
    Raises BuildError / RecipeError with a one-line message; Ctrl-C raises BuildInterrupted after
    recording the shards that completed.
    """
    if workers < 1:
        raise BuildError(f"--workers must be >= 1, got {workers}")
    if limit is not None and limit < 0:
        raise BuildError(f"--limit must be >= 0, got {limit}")
    chosen = list(splits) if splits else recipe.splits
    unknown = [s for s in chosen if s not in recipe.splits]
    if unknown:
        raise BuildError(f"{recipe.origin}: no split {unknown[0]!r} (the recipe has: {', '.join(recipe.splits)})")
    jobs = plan_jobs(recipe, chosen, limit)
    catalogs = catalogs_for(recipe, jobs)
    shown = Path(out_dir) if out_dir is not None else default_out_dir(recipe)
    out = shown.resolve()  # absolute: dask workers elsewhere write to the same shared path
    out.mkdir(parents=True, exist_ok=True)
    ledger, todo = _ledger(out, recipe, jobs, chosen)
    kept = len(ledger.done)
    _remove_stale_temporaries(out, chosen)
    ledger.write()  # records the recipe first, so a build killed before its first shard still refuses others

    started = time.perf_counter()
    rendered = frames = samples = 0
    bar = tqdm(total=sum(j.samples for j in todo), unit="sample", disable=not progress or not todo,
               dynamic_ncols=True, desc=recipe.name)
    workers = max(1, min(workers, len(todo)))
    runner = f"dask {scheduler}" if scheduler else f"{workers} worker{'s' if workers > 1 else ''}"
    run = (_run_dask(todo, recipe, catalogs, str(out), scheduler) if scheduler
           else _run_local(todo, recipe, catalogs, str(out), workers))

    def summary() -> BuildSummary:
        totals = ledger.manifest().totals()["all"]
        return BuildSummary(shown, totals["samples"], totals["shards"], totals["bytes"], rendered, samples, frames,
                            kept, time.perf_counter() - started, runner)

    try:
        for job, info in run:
            ledger.add(job, info)
            ledger.write()
            rendered += 1
            samples += info.samples
            frames += info.samples * recipe.frames(job.output)
            bar.update(info.samples)
    except KeyboardInterrupt:
        with warnings.catch_warnings():
            # joblib warns that it cancelled the running tasks: that is what Ctrl-C asked for.
            warnings.filterwarnings("ignore", message=".*tasks which were still being processed", category=UserWarning)
            run.close()
        bar.close()
        ledger.write()
        _remove_stale_temporaries(out, chosen)
        raise BuildInterrupted(summary()) from None
    bar.close()
    return summary()
