"""Share of a CPU training step spent waiting for data: shards (ShardDataset) vs making samples on the fly.

Both feed the same Trainer through a DataLoader with the same worker count; the on-the-fly loader runs
ENGINE's plan_sample + render_sample on the built-in sample set in its workers (what a trainer without
pre-built shards would do). The trainer times ``next(stream)`` (waiting) against the whole step.

    python benchmarks/bench_train.py [--sizes 64 128] [--frames 4 8] [--batch 2] [--steps 20] [--workers 0 2]

One row per (size, frames, workers, data); every run uses the same torch thread count (set OMP_NUM_THREADS).
With 0 workers the data is made in the training process, so "waiting" is the whole cost of decoding
(shards) or rendering (on the fly); with workers it is what the workers fail to hide, and the CPU they
take from the step shows as a longer step.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from rvm_data.compose import ComposeConfig, plan_sample, render_sample
from rvm_data.shards import write_shard
from rvm_data.shards.manifest import Manifest, ShardEntry, write_manifest
from rvm_data.sources import SourcesConfig, build_catalog
from rvm_data.sources.builtin import ensure_sample_set
from rvm_data.train.config import TrainConfig
from rvm_data.train.data import open_train_data
from rvm_data.train.distributed import Placement
from rvm_data.train.run import make_model
from rvm_data.train.trainer import TrainData, Trainer

WARMUP = 3


class OnTheFly(IterableDataset):
    """Endless batches rendered by the engine; worker w of W makes batches n with n % W == w."""

    def __init__(self, compose: ComposeConfig, catalog, batch: int):
        self.compose, self.catalog, self.batch = compose, catalog, batch

    def __iter__(self):
        info = get_worker_info()
        workers, worker = (1, 0) if info is None else (info.num_workers, info.id)
        n = worker
        while True:
            samples = [render_sample(plan_sample(self.compose, self.catalog, seed=0, split="train",
                                                 index=n * self.batch + b, augment=True), self.catalog)
                       for b in range(self.batch)]
            yield {k: torch.from_numpy(np.stack([s[k] for s in samples]).transpose(0, 1, 4, 2, 3).copy())
                   for k in ("fgr", "pha", "bgr")}
            n += workers


class LoaderStream:
    """The stream interface the Trainer uses, over a plain DataLoader (nothing to resume)."""

    name = "lr"

    def __init__(self, loader: DataLoader):
        self._it = iter(loader)

    def __next__(self):
        return next(self._it)

    def state_dict(self) -> dict:
        return {}


def catalog_of_sample_set():
    root = ensure_sample_set()
    return build_catalog(SourcesConfig(
        foreground=str(root / "videomatte" / "train"),
        background_videos=str(root / "backgrounds" / "videos" / "train"),
        background_images=str(root / "backgrounds" / "images" / "train")))


def write_build(folder: Path, compose: ComposeConfig, catalog, samples: int) -> Path:
    per_shard = 16
    entries = []
    for j, start in enumerate(range(0, samples, per_shard)):
        rel = f"train/lr-{j:06d}.tar"
        rendered = (render_sample(plan_sample(compose, catalog, seed=0, split="train", index=i, augment=True), catalog)
                    for i in range(start, min(start + per_shard, samples)))
        info = write_shard(folder / rel, rendered)
        entries.append(ShardEntry(rel, info.samples, info.bytes, info.sha256))
    recipe = {"name": "bench", "outputs": {"lr": {"compose": {"frames": compose.frames}}}}
    write_manifest(folder, Manifest(recipe=recipe, recipe_hash="0" * 64, splits={"train": entries}))
    return folder


def measure(config: TrainConfig, data: TrainData, out: Path, steps: int) -> tuple[float, float]:
    """(seconds per step, share waiting for data) over ``steps`` steps after a warm-up."""
    place = Placement(0, 1, torch.device("cpu"))
    trainer = Trainer(config.replace(max_steps=WARMUP), make_model(config), data, out, place, progress=False)
    trainer.fit()
    trainer.result.data_seconds = trainer.result.step_seconds = 0.0
    trainer.config = config.replace(max_steps=WARMUP + steps)
    result = trainer.fit()
    trainer.close()
    return result.step_seconds / steps, result.data_seconds / result.step_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--frames", type=int, nargs="+", default=[4, 8], help="T for each size")
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    args = parser.parse_args()
    if len(args.frames) != len(args.sizes):
        parser.error("give one --frames value per --sizes value")

    catalog = catalog_of_sample_set()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size, frames in zip(args.sizes, args.frames, strict=True):
            compose = ComposeConfig(size=(size, size), frames=frames)
            work = Path(tmp) / f"{size}x{frames}"
            build = write_build(work / "build", compose, catalog, (WARMUP + args.steps + 2) * args.batch)
            for workers in args.workers:
                config = TrainConfig(batch_size=args.batch, workers=workers, validate=False, segmentation=False,
                                     log_interval=10**6, image_interval=10**6, checkpoint_interval=10**6,
                                     epochs=10**4)
                shard_data = open_train_data(config, build, Placement(0, 1, torch.device("cpu")))
                rows.append((size, frames, workers, "shards (ShardDataset)",
                             *measure(config, shard_data, work / f"shards{workers}", args.steps)))
                loader = DataLoader(OnTheFly(compose, catalog, args.batch), batch_size=None, num_workers=workers)
                fly = TrainData(lr=LoaderStream(loader), steps_per_epoch=10**6)
                rows.append((size, frames, workers, "on the fly (plan_sample + render_sample)",
                             *measure(config, fly, work / f"fly{workers}", args.steps)))

    print(f"CPU training step of MattingNetwork, batch {args.batch}, {args.steps} steps after {WARMUP} warm-up, "
          f"torch threads {torch.get_num_threads()}\n")
    print("| size | T | workers | data | s / step | waiting for data |")
    print("|---:|---:|---:|---|---:|---:|")
    for size, frames, workers, name, per_step, share in rows:
        print(f"| {size}x{size} | {frames} | {workers} | {name} | {per_step:.3f} | {100 * share:.1f} % |")


if __name__ == "__main__":
    main()
