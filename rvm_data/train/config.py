"""TrainConfig: the `train:` section of a recipe, with RVM's four stages as presets.

Fields left at ``None`` take the value of the chosen ``stage`` (the values of RVM's
train.py), so ``train: {stage: 3}`` alone reproduces the paper's stage 3, while every
learning rate, epoch count and pass setting can still be set one by one.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from rvm_data.errors import ConfigError

GROUPS = ("backbone", "aspp", "decoder", "project", "refiner")
"""Parameter groups; ``project`` holds ``project_mat.`` and ``project_seg.``."""


@dataclass(frozen=True)
class StagePreset:
    """What one of RVM's stages sets (learning rates per group, epochs, high-res pass)."""

    lr: dict[str, float]
    epochs: int
    hr_pass: bool


# RVM's release train.py leaves project_mat/project_seg out of Adam (so they never
# train there); here they are a group of their own with the decoder's rate.
STAGES: dict[int, StagePreset] = {
    1: StagePreset({"backbone": 1e-4, "aspp": 2e-4, "decoder": 2e-4, "project": 2e-4, "refiner": 0.0}, 20, False),
    2: StagePreset({"backbone": 5e-5, "aspp": 1e-4, "decoder": 1e-4, "project": 1e-4, "refiner": 0.0}, 2, False),
    3: StagePreset({"backbone": 1e-5, "aspp": 1e-5, "decoder": 1e-5, "project": 1e-5, "refiner": 2e-4}, 1, True),
    4: StagePreset({"backbone": 1e-5, "aspp": 1e-5, "decoder": 5e-5, "project": 5e-5, "refiner": 2e-4}, 5, True),
}


@dataclass
class LearningRates:
    """Adam learning rate per parameter group; ``None`` = the stage's value, 0 = frozen."""

    backbone: float | None = None
    aspp: float | None = None
    decoder: float | None = None
    project: float | None = None
    refiner: float | None = None

    def __post_init__(self) -> None:
        for name in GROUPS:
            value = getattr(self, name)
            if value is not None and not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise ConfigError(f"lr.{name}", f"must be a finite number >= 0 or null, got {value!r}")


@dataclass
class TrainConfig:
    """How ``rvm-data train`` trains MattingNetwork on a recipe's shards."""

    stage: int = 1                      # RVM stage 1-4: default learning rates, epochs, high-res pass
    epochs: int | None = None           # None: the stage's (20, 2, 1, 5); one epoch = one pass over lr train
    max_steps: int | None = None        # stop at this step (counted over the whole run, across resumes)
    lr: LearningRates = field(default_factory=LearningRates)
    batch_size: int = 1                 # clips per process and step (RVM: 1 per GPU)
    lr_output: str | None = None        # recipe output of the low-res pass (None: the only matting output)
    hr_output: str = "hr"               # recipe output of the high-res pass (stages 3-4)
    hr_pass: bool | None = None         # None: the stage's (on for 3 and 4)
    downsample_ratio: float = 0.25      # high-res pass: the network runs at this scale, the DGF upsamples
    random_crop: bool = True            # RVM's per-batch crop: h, w in [size/2, size), resize, centre crop
    segmentation: bool = True           # interleave segmentation passes when seg shards exist
    seg_image_output: str = "seg_image"  # output name of the image segmentation shards (T = 1)
    seg_video_output: str = "seg_video"  # output name of the video segmentation shards
    seg_image_shards: str | None = None  # build folder holding seg_image (None: the recipe's own)
    seg_video_shards: str | None = None  # build folder holding seg_video (None: the recipe's own)
    # frames of each video segmentation clip; None: the matting pass's T, as RVM (15/50/40/40 by stage).
    # Longer shard clips are cut to a window of this many consecutive frames, drawn per step.
    seg_video_frames: int | None = None
    # Where an epoch re-reads samples an earlier epoch read (one build read for many epochs, or fewer
    # epochs built than trained), composite each clip's foreground over another clip's background of
    # its batch (a cyclic shift drawn from (seed, rank, epoch, batch)): new composites for free, though
    # the pairs no longer share a camera move. Off (RVM pairs them once per sample); left out of the
    # recipe hash while off ("omit_default", see rvm_data.recipe._plain).
    re_pair_backgrounds: bool = field(default=False, metadata={"omit_default": True})
    amp: bool = True                    # mixed precision (float16 autocast + GradScaler) on CUDA only
    sync_batchnorm: bool = True         # SyncBatchNorm under DDP on CUDA
    variant: str = "mobilenetv3"
    # torchvision's MobileNetV3-Large ImageNet weights file (mobilenet_v3_large-8738ca79.pth), as RVM starts
    # stage 1; may name a variable (${RVM_DATA_BACKBONE}). Never downloaded: a run without it says so.
    pretrained_backbone: str | None = None
    workers: int = 2                    # DataLoader worker processes per stream
    seed: int = 0                       # model init, data order, crops
    log_interval: int = 20              # steps between log.jsonl / TensorBoard records
    image_interval: int = 500           # steps between prediction PNGs
    checkpoint_interval: int = 500      # steps between checkpoints/last.pt
    validate: bool = True               # before training and after each epoch, on the valid split
    valid_batches: int | None = None    # cap on validation batches (None: the whole split)

    def __post_init__(self) -> None:
        if isinstance(self.lr, dict):
            self.lr = LearningRates(**self.lr)
        if self.stage not in STAGES:
            raise ConfigError("stage", f"must be one of {sorted(STAGES)}, got {self.stage!r}")
        positive = {"batch_size": self.batch_size, "log_interval": self.log_interval,
                    "image_interval": self.image_interval, "checkpoint_interval": self.checkpoint_interval}
        positive.update({k: v for k, v in (("epochs", self.epochs), ("max_steps", self.max_steps),
                                          ("valid_batches", self.valid_batches),
                                          ("seg_video_frames", self.seg_video_frames)) if v is not None})
        for name, value in positive.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(name, f"must be an integer >= 1, got {value!r}")
        if isinstance(self.workers, bool) or not isinstance(self.workers, int) or self.workers < 0:
            raise ConfigError("workers", f"must be an integer >= 0, got {self.workers!r}")
        if not (isinstance(self.downsample_ratio, (int, float)) and 0 < self.downsample_ratio <= 1):
            raise ConfigError("downsample_ratio", f"must be in (0, 1], got {self.downsample_ratio!r}")
        if self.variant != "mobilenetv3":
            raise ConfigError("variant", f"must be 'mobilenetv3', got {self.variant!r}")

    @property
    def preset(self) -> StagePreset:
        return STAGES[self.stage]

    def learning_rates(self) -> dict[str, float]:
        """Every group's rate, the stage's value where the config leaves it unset."""
        return {g: float(self.preset.lr[g] if getattr(self.lr, g) is None else getattr(self.lr, g)) for g in GROUPS}

    def total_epochs(self) -> int:
        return self.preset.epochs if self.epochs is None else self.epochs

    def uses_hr_pass(self) -> bool:
        return self.preset.hr_pass if self.hr_pass is None else self.hr_pass

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def replace(self, **changes: Any) -> TrainConfig:
        return dataclasses.replace(self, **changes)
