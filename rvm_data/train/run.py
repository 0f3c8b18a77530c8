"""``train(recipe)``: from a recipe and its build folder to a trained run folder."""

from __future__ import annotations

import warnings
from pathlib import Path

import torch

from rvm_data.model import MattingNetwork, load_checkpoint
from rvm_data.train.config import TrainConfig
from rvm_data.train.data import open_train_data
from rvm_data.train.distributed import Placement, setup, teardown
from rvm_data.train.errors import TrainError, TrainFileMissing
from rvm_data.train.trainer import LAST, Trainer, TrainResult


def make_model(config: TrainConfig, init: str | Path | None = None) -> MattingNetwork:
    """A fresh network seeded by ``config.seed`` (the global RNG is left as it was), or ``init``'s weights."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        model = MattingNetwork(config.variant, pretrained_backbone=config.pretrained_backbone)
    if init is not None:
        try:
            load_checkpoint(model, init)
        except (ValueError, FileNotFoundError) as error:  # a weights file that is not one: named already
            raise TrainError(f"--init {error}") from None
    return model


def train_build(config: TrainConfig, build_dir: str | Path, out_dir: str | Path, *, resume: bool = False,
                init: str | Path | None = None, device: str | None = None, progress: bool = True,
                place: Placement | None = None) -> TrainResult:
    """Train on the shards in ``build_dir`` into ``out_dir`` (one process, or one rank under torchrun)."""
    out_dir = Path(out_dir)
    if resume and init is not None:
        raise TrainError("--resume continues a run with its own weights; --init cannot be combined with it")
    if resume and not (out_dir / LAST).is_file():
        raise TrainFileMissing(f"nothing to resume: {out_dir / LAST} does not exist")
    if not resume and (out_dir / LAST).is_file():
        raise TrainError(f"{out_dir} already holds a run; pass --resume to continue it or choose another --out")
    own_place = place is None
    place = setup(device) if own_place else place
    try:
        data = open_train_data(config, build_dir, place)
        trainer = Trainer(config, make_model(config, init), data, out_dir, place, progress=progress)
        try:
            if resume:
                trainer.resume()
            return trainer.fit()
        finally:
            trainer.close()
    finally:
        if own_place:
            teardown(place)


def train(recipe, *, out_dir: str | Path | None = None, build_dir: str | Path | None = None, resume: bool = False,
          init: str | Path | None = None, device: str | None = None, progress: bool = True) -> TrainResult:
    """Train with the recipe's ``train:`` section on its build (default ``shards/<name>`` → ``runs/<name>``)."""
    config = recipe.train
    if config is None:
        warnings.warn(f"{recipe.origin}: no train: section, training with TrainConfig() defaults (stage 1)",
                      stacklevel=2)
        config = TrainConfig()
    build_dir = Path(build_dir) if build_dir else Path("shards") / recipe.name
    if not (build_dir / "manifest.json").is_file():
        raise TrainError(f"{build_dir}: no build here; run `rvm-data build {recipe.origin}` first "
                         f"(or point --shards at the folder it built)")
    out_dir = Path(out_dir) if out_dir else Path("runs") / recipe.name
    return train_build(config, build_dir, out_dir, resume=resume, init=init, device=device, progress=progress)
