"""``train(recipe)``: from a recipe and its build folder to a trained run folder."""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from rvm_data.model import MattingNetwork, load_checkpoint
from rvm_data.model.errors import ModelError
from rvm_data.train.config import TrainConfig
from rvm_data.train.data import open_train_data
from rvm_data.train.distributed import Placement, setup, teardown
from rvm_data.train.epochs import RollingBuild, check_whole
from rvm_data.train.errors import TrainError, TrainFileMissing
from rvm_data.train.trainer import LAST, Trainer, TrainResult

if TYPE_CHECKING:
    from rvm_data.recipe import Recipe


BACKBONE_VAR = "RVM_DATA_BACKBONE"
BACKBONE_FILE = "mobilenet_v3_large-8738ca79.pth"
"""torchvision's ImageNet MobileNetV3-Large weights (IMAGENET1K_V1), which RVM's stage 1 starts from."""
_VAR = re.compile(r"\$\{([^}]*)\}")


def default_backbone() -> Path:
    """Where torchvision keeps the weights file once it has fetched it (``$TORCH_HOME/hub/checkpoints``)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / BACKBONE_FILE


def backbone_path(value: str | None) -> tuple[str | None, str]:
    """The weights file ``train.pretrained_backbone`` names, or None and why the backbone stays random.

    ``${VAR}``s come from the environment; with one unset, torchvision's own cached copy
    (:func:`default_backbone`) is used where it exists. A named file that is missing is an error.
    """
    if not value:
        return None, "train.pretrained_backbone is not set"
    unset = [name for name in _VAR.findall(value) if name not in os.environ]
    if unset:
        fallback = default_backbone()
        if fallback.is_file():
            return str(fallback), ""
        return None, f"${{{unset[0]}}} is not set and {fallback} does not exist"
    path = _VAR.sub(lambda m: os.environ[m.group(1)], value)
    if not Path(path).is_file():
        raise TrainFileMissing(f"train.pretrained_backbone: {path} does not exist"
                               + (f" (from {value})" if path != value else ""))
    return path, ""


def start_warnings(config: TrainConfig, init: str | Path | None, resume: bool) -> list[str]:
    """What is wrong with the weights a run starts from, compared with RVM (one line each).

    RVM starts stage 1 from ImageNet weights and every later stage from the one before it; a run that
    starts elsewhere still trains (a quick test may want it) but says so first.
    """
    if resume or init is not None:
        return []
    backbone, why = backbone_path(config.pretrained_backbone)
    if config.stage > 1:
        start = "random weights" if backbone is None else "ImageNet backbone weights alone"
        return [f"stage {config.stage} starts from scratch ({start}) without --init: RVM continues from stage "
                f"{config.stage - 1}'s weights, e.g. --init runs/vm_stage{config.stage - 1}/model.pth"]
    if backbone is None:
        return [f"stage 1 starts from a random backbone ({why}): RVM and the paper start from torchvision's "
                f"ImageNet MobileNetV3-Large weights; point {BACKBONE_VAR} at {BACKBONE_FILE} (no download)"]
    return []


def make_model(config: TrainConfig, init: str | Path | None = None) -> MattingNetwork:
    """A fresh network seeded by ``config.seed`` (the global RNG is left as it was), or ``init``'s weights.

    The backbone file is read only for a network that keeps it (no ``init``).
    """
    backbone = backbone_path(config.pretrained_backbone)[0] if init is None else None
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        try:
            model = MattingNetwork(config.variant, pretrained_backbone=backbone)
        except ModelError as error:  # not a MobileNetV3-Large weights file: named already
            raise TrainError(f"train.pretrained_backbone: {error}") from None
    if init is not None:
        try:
            load_checkpoint(model, init)
        except ModelError as error:  # a weights file that is not one: named already
            raise TrainError(f"--init {error}") from None
    return model


def train_build(config: TrainConfig, build_dir: str | Path, out_dir: str | Path, *, resume: bool = False,
                init: str | Path | None = None, device: str | None = None, progress: bool = True,
                place: Placement | None = None, builder: RollingBuild | None = None) -> TrainResult:
    """Train on the shards in ``build_dir`` into ``out_dir`` (one process, or one rank under torchrun);
    ``builder`` builds the next epochs beside training (on the main rank; the others wait for them)."""
    out_dir = Path(out_dir)
    if resume and init is not None:
        raise TrainError("--resume continues a run with its own weights; --init cannot be combined with it")
    if resume and not (out_dir / LAST).is_file():
        raise TrainFileMissing(f"nothing to resume: {out_dir / LAST} does not exist")
    if not resume and (out_dir / LAST).is_file():
        raise TrainError(f"{out_dir} already holds a run; pass --resume to continue it or choose another --out")
    own_place = place is None
    place = setup(device) if place is None else place
    try:
        if place.main:
            for line in start_warnings(config, init, resume):
                warnings.warn(line, stacklevel=2)
        if builder is not None:
            builder.launch = place.main
        data = open_train_data(config, build_dir, place, builder)
        # a resumed run takes its weights from the checkpoint: no backbone file to read
        model = make_model(config.replace(pretrained_backbone=None) if resume else config, init)
        trainer = Trainer(config, model, data, out_dir, place, progress=progress)
        if builder is not None:  # no epoch past the last one training reaches is built
            builder.epochs = -(-trainer.total_steps() // data.steps_per_epoch)
        try:
            if resume:
                trainer.resume()
            return trainer.fit()
        finally:
            trainer.close()
            if builder is not None:
                builder.close()
    finally:
        if own_place:
            teardown(place)


def train(recipe: Recipe, *, out_dir: str | Path | None = None, build_dir: str | Path | None = None,
          resume: bool = False, init: str | Path | None = None, device: str | None = None,
          progress: bool = True, build_ahead: int | None = None, build_workers: int = 1,
          build_scheduler: str | None = None, keep_epochs: int | None = None) -> TrainResult:
    """Train with the recipe's ``train:`` section on its build (default ``shards/<name>`` → ``runs/<name>``).

    ``build_ahead`` K builds epochs e+1 .. e+K of the build's recipe (the one its manifest records) on
    ``build_workers`` local processes (or the dask cluster at ``build_scheduler``) while epoch e
    trains; ``keep_epochs`` N then deletes the epoch folders training has left N epochs behind (see
    :mod:`rvm_data.train.epochs`)."""
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
    if keep_epochs is not None and build_ahead is None:
        raise TrainError("--keep-epochs deletes the epochs training has left behind, for a --build-ahead build; "
                         "it needs --build-ahead")
    builder = None
    if build_ahead is not None:
        builder = RollingBuild(build_dir, ahead=build_ahead, workers=build_workers, keep=keep_epochs,
                               scheduler=build_scheduler)
        check_whole(build_dir)
    return train_build(config, build_dir, out_dir, resume=resume, init=init, device=device, progress=progress,
                       builder=builder)
