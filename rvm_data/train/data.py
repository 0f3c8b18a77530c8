"""The trainer's batch streams, read from a build folder's shards with SHARDS' ShardDataset.

Every training stream is endless (``resample``): RVM restarts its high-res and segmentation
loaders when they run out, and the main loader is treated the same way, so an epoch of the
trainer is ``steps_per_epoch`` batches of the low-res stream and a stream's position is the
loader's own (epoch, batches) state, which resumes without decoding what it skips.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rvm_data.shards.dataset import ShardDataset
from rvm_data.shards.folder import BuildFolder, BuiltOutput
from rvm_data.train.config import TrainConfig
from rvm_data.train.distributed import Placement
from rvm_data.train.errors import TrainError
from rvm_data.train.trainer import TrainData


class Stream:
    """Endless batches of one output's train split, for this rank; resumable via ``state_dict``."""

    def __init__(self, name: str, dataset: ShardDataset, workers: int, pin_memory: bool):
        self.name, self.dataset = name, dataset
        self._loader = dataset.loader(num_workers=workers, pin_memory=pin_memory)
        self._it: Iterator[dict[str, Any]] | None = None

    def __iter__(self) -> Stream:
        return self

    def __next__(self) -> dict[str, Any]:
        if self._it is None:
            self._it = iter(self._loader)
        return next(self._it)

    def state_dict(self) -> dict[str, Any]:
        return self.dataset.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.dataset.load_state_dict(state)
        self._it = None


def recipe_outputs(folder: BuildFolder) -> dict[str, BuiltOutput]:
    """The matting outputs the build's recipe records (one of them is the low-res stream)."""
    outputs = folder.recipe.of_kind("matting")
    if not outputs:
        raise TrainError(f"{folder.root}: the build's manifest records no recipe outputs")
    return outputs


def choose_lr_output(config: TrainConfig, outputs: dict[str, BuiltOutput], where: str) -> str:
    """The configured low-res output, else the one output that is not high-res or segmentation."""
    if config.lr_output is not None:
        if config.lr_output not in outputs:
            raise TrainError(f"{where}: train.lr_output {config.lr_output!r} is not an output (has {sorted(outputs)})")
        return config.lr_output
    others = {config.hr_output, config.seg_image_output, config.seg_video_output}
    candidates = [name for name in outputs if name not in others]
    if len(candidates) != 1:
        raise TrainError(f"{where}: set train.lr_output to one of {sorted(outputs)}")
    return candidates[0]


def open_train_data(config: TrainConfig, build_dir: str | Path, place: Placement) -> TrainData:
    """Low-res (+ high-res, + segmentation) streams of the train split and the valid split's loader."""
    build_dir = Path(build_dir)
    build = BuildFolder(build_dir)
    outputs = recipe_outputs(build)
    lr_name = choose_lr_output(config, outputs, str(build_dir))
    pin = place.device.type == "cuda"

    def stream(name: str, folder: BuildFolder, output: str, batch_size: int) -> Stream | None:
        if not folder.entries("train", output):
            return None
        # From the manifest: its counts (no header scan of every shard) and its recipe's frames and size,
        # which every sample is checked against before it is decoded.
        dataset = ShardDataset(folder.manifest, root=folder.root, split="train", output=output,
                               batch_size=batch_size, seed=config.seed, resample=True, rank=place.rank,
                               world_size=place.world)
        return Stream(name, dataset, config.workers, pin)

    lr = stream("lr", build, lr_name, config.batch_size)
    if lr is None:
        raise TrainError(f"{build_dir}: no train shards of output {lr_name!r} (build the recipe first)")
    hr = None
    if config.uses_hr_pass():
        hr = stream("hr", build, config.hr_output, config.batch_size)
        if hr is None:
            raise TrainError(f"{build_dir}: stage {config.stage} trains a high-res pass but the build has no "
                             f"train shards of output {config.hr_output!r} (or set train.hr_pass: false)")
    seg_image = seg_video = None
    if config.segmentation:
        # Each kind from its own build folder when set (recipes/seg_image.yaml, seg_video.yaml), else this one.
        frames = outputs[lr_name].frames
        if frames is None:
            raise TrainError(f"{build_dir}: the build's manifest records no frame count for output {lr_name!r}")
        kinds = {"seg_image": (config.seg_image_shards, config.seg_image_output, config.batch_size * frames),
                 "seg_video": (config.seg_video_shards, config.seg_video_output, config.batch_size)}
        found = {}
        for kind, (folder, output, batch) in kinds.items():
            other = Path(folder) if folder else build_dir
            found[kind] = stream(kind, build if other == build_dir else BuildFolder(other), output, batch)
        seg_image, seg_video = found["seg_image"], found["seg_video"]
        if seg_image is None and seg_video is None:
            warnings.warn(f"no {config.seg_image_output!r} or {config.seg_video_output!r} train shards, "
                          "training without the segmentation pass", stacklevel=2)
    # Validate on the low-res output's valid split; stages 3-4 have it on the high-res output only
    # (as RVM validates at high resolution there), run with the pass's downsample ratio.
    valid_name, valid_ratio = lr_name, 1.0
    valid_shards = build.entries("valid", lr_name)
    if not valid_shards and hr is not None:
        valid_name, valid_ratio = config.hr_output, config.downsample_ratio
        valid_shards = build.entries("valid", valid_name)

    def valid():
        # Validation runs on the main rank alone, over the whole split, in order.
        dataset = ShardDataset(build.manifest, root=build.root, split="valid", output=valid_name,
                               batch_size=config.batch_size, shuffle=False, drop_last=False, rank=0, world_size=1)
        return dataset.loader(num_workers=min(config.workers, 1), pin_memory=pin)

    if not valid_shards and config.validate:
        warnings.warn(f"{build_dir}: no valid shards of output {valid_name!r}, training without validation",
                      stacklevel=2)
    return TrainData(lr=lr, steps_per_epoch=lr.dataset.num_batches, hr=hr, seg_image=seg_image,
                     seg_video=seg_video, valid=valid if valid_shards else None,
                     valid_ratio=valid_ratio)

