"""The trainer's batch streams, read from a build folder's shards with SHARDS' ShardDataset.

Every training stream is endless (``resample``): RVM restarts its high-res and segmentation
loaders when they run out, and the main loader is treated the same way, so an epoch of the
trainer is ``steps_per_epoch`` batches of the low-res stream and a stream's position is the
loader's own (epoch, batches) state, which resumes without decoding what it skips.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from rvm_data.shards.dataset import ShardDataset, ShardLoader
from rvm_data.shards.folder import BuildFolder, BuiltOutput
from rvm_data.shards.layout import built_epochs, epoch_root
from rvm_data.train.config import TrainConfig
from rvm_data.train.distributed import Placement, from_main
from rvm_data.train.epochs import EpochSource, RollingBuild
from rvm_data.train.errors import TrainError
from rvm_data.train.trainer import TrainData


class Stream:
    """Endless batches of one output's train split, for this rank; resumable via ``state_dict``."""

    def __init__(self, name: str, dataset: ShardDataset, workers: int, pin_memory: bool):
        self.name, self.dataset = name, dataset
        self._loader = dataset.loader(num_workers=workers, pin_memory=pin_memory)
        self._it: Iterator[dict[str, Any]] | None = None

    def delivered(self) -> tuple[int, int, bool]:
        """The batch last returned: its pass (epoch of the stream), its number in the pass, and whether
        the pass re-reads samples an earlier pass read (every pass after the first, with one set)."""
        epoch, batches = self.dataset.epoch, self.dataset.batches
        epoch, index = (epoch, batches - 1) if batches else (epoch - 1, self.dataset.num_batches - 1)
        return epoch, index, epoch >= 1

    def __iter__(self) -> Stream:
        return self

    def __next__(self) -> dict[str, Any]:
        if self._it is None:
            self._it = iter(self._loader)
        return next(self._it)

    def state_dict(self) -> dict[str, Any]:
        return self.dataset.state_dict()

    def close(self) -> None:
        """The run is over: its loader's workers stop."""
        self._it = None

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.dataset.load_state_dict(state)
        self._it = None


class EpochStream(Stream):
    """A stream whose pass e reads the train samples of epoch e of its build (:class:`EpochSource`
    decides which built epoch, waiting for a rolling build or cycling), each pass in the order of
    (seed, e); resumable via ``state_dict`` (the pass, the epoch it reads, the position in it)."""

    def __init__(self, name: str, source: EpochSource, make: Callable[[BuildFolder], ShardDataset],
                 workers: int, pin_memory: bool):
        self.name, self.source, self._make = name, source, make
        self._workers, self._pin = workers, pin_memory
        self.dataset = make(BuildFolder(source.root))  # epoch 0's; every epoch has its counts
        self.pass_index, self.reads, self._opened = 0, 0, False
        self.seen: set[int] = set()  # the epochs the finished passes read
        self.rereads = False  # whether this pass reads an epoch an earlier pass read
        self._it: Iterator[dict[str, Any]] | None = None

    def _open(self, pass_index: int, reads: int | None = None) -> None:
        self.pass_index = pass_index
        self.reads = self.source.epoch_for(pass_index) if reads is None else reads
        self.rereads = self.reads in self.seen
        self.dataset = self._make(BuildFolder(epoch_root(self.source.root, self.reads)))
        self.dataset.set_epoch(pass_index)
        self._opened = True

    def __next__(self) -> dict[str, Any]:
        while True:
            if self._it is None:
                if not self._opened:
                    self._open(self.pass_index)
                self._it = iter(self.dataset.loader(num_workers=self._workers, pin_memory=self._pin))
            try:
                return next(self._it)
            except StopIteration:
                self._it, self._opened = None, False
                self.seen.add(self.reads)
                self.pass_index += 1

    def delivered(self) -> tuple[int, int, bool]:
        epoch, index, _ = super().delivered()
        return epoch, index, self.rereads

    def close(self) -> None:
        """The run is over: its loader's workers stop and it holds its epoch no more."""
        super().close()
        self.source.release()

    def state_dict(self) -> dict[str, Any]:
        return {"pass": self.pass_index, "reads": self.reads, "seen": sorted(self.seen),
                "dataset": self.dataset.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if "pass" not in state:
            raise TrainError(f"the checkpoint's {self.name!r} stream read a build without epochs; this one has "
                             "epochs (built with --epochs): resume on the build it started on, or start a new run")
        self.source.ready(int(state["reads"]))
        # a checkpoint of 0.3.0 has no "seen": its passes each read their own epoch then
        self.seen = {int(e) for e in state.get("seen", range(int(state["pass"])))}
        self._open(int(state["pass"]), int(state["reads"]))
        self.dataset.load_state_dict(state["dataset"])
        if self.dataset.epoch != self.pass_index:  # the checkpoint came at the end of its pass
            self.seen.add(self.reads)
            self.pass_index, self._opened = self.pass_index + 1, False
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


def open_train_data(config: TrainConfig, build_dir: str | Path, place: Placement,
                    builder: RollingBuild | None = None) -> TrainData:
    """Low-res (+ high-res, + segmentation) streams of the train split and the valid split's loader.

    A stream of a build with epochs (``rvm-data build --epochs``, or ``builder`` building them beside
    training) reads epoch e's shards in its pass e (:class:`EpochStream`); else one set, reshuffled."""
    build_dir = Path(build_dir)
    build = BuildFolder(build_dir)
    outputs = recipe_outputs(build)
    lr_name = choose_lr_output(config, outputs, str(build_dir))
    pin = place.device.type == "cuda"

    def stream(name: str, folder: BuildFolder, output: str, batch_size: int,
               follow: EpochStream | None = None) -> Stream | None:
        """``follow``: the low-res stream, whose epoch the other streams of its build read (their passes
        are not epochs: a short output runs through many per epoch)."""
        if not folder.entries("train", output):
            return None
        rolling = builder if folder is build else None

        def dataset(of: BuildFolder, resample: bool) -> ShardDataset:
            # From the manifest: its counts (no header scan of every shard) and its recipe's frames and
            # size, which every sample is checked against before it is decoded.
            return ShardDataset(of.manifest, root=of.root, split="train", output=output, batch_size=batch_size,
                                seed=config.seed, resample=resample, rank=place.rank, world_size=place.world)

        # Under DDP the main rank decides: a rank that saw an epoch folder another build had just made would
        # read epochs (and broadcast each pass's choice) while the others read epoch 0 alone.
        if rolling is None and not from_main(place, len(built_epochs(folder.root))):
            return Stream(name, dataset(folder, True), config.workers, pin)
        built = folder.recipe.outputs.get(output)
        source = EpochSource(folder.root, output, folder.count("train", output), rolling,
                             frames=(built.frames or 1) if built else 1,
                             follow=None if follow is None else follow.source,
                             agree=functools.partial(from_main, place) if place.distributed else None,
                             hold=place.main)
        return EpochStream(name, source, lambda of: dataset(of, False), config.workers, pin)

    lr = stream("lr", build, lr_name, config.batch_size)
    if lr is None:
        raise TrainError(f"{build_dir}: no train shards of output {lr_name!r} (build the recipe first)")
    leader = lr if isinstance(lr, EpochStream) else None
    hr = None
    if config.uses_hr_pass():
        hr = stream("hr", build, config.hr_output, config.batch_size, leader)
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
            found[kind] = (stream(kind, build, output, batch, leader) if other == build_dir
                           else stream(kind, BuildFolder(other), output, batch))
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

    def valid() -> ShardLoader:
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

