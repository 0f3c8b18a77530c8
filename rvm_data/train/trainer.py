"""The training loop: RVM's matting pass (+ high-res DGF pass) and interleaved segmentation,
Adam per parameter group, AMP on CUDA, DDP, checkpoints that resume exactly, validation.

Every random choice the trainer itself makes (the per-batch crop) is drawn from a generator
seeded by (seed, rank, step, pass), so there is no random state to carry across a resume.
"""

from __future__ import annotations

import signal
import sys
import time
import warnings
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from rvm_data.metrics import batch_metrics
from rvm_data.train.batch import composite, random_crop, to_device
from rvm_data.train.checkpoint import load_checkpoint, save_checkpoint
from rvm_data.train.config import TrainConfig
from rvm_data.train.distributed import Placement, barrier
from rvm_data.train.errors import TrainError, TrainInterrupted
from rvm_data.train.losses import matting_loss, segmentation_loss
from rvm_data.train.optim import make_optimizer
from rvm_data.train.runlog import MATTING_LABELS, RunLog

if TYPE_CHECKING:
    from rvm_data.train.data import Stream

VALID_METRICS = ("pha_mad", "pha_mse", "pha_grad", "pha_dtssd", "fgr_mad")
LAST = "checkpoints/last.pt"


@dataclass
class TrainData:
    """The batch streams one process trains on (each already split for its rank)."""

    lr: Stream
    steps_per_epoch: int
    hr: Stream | None = None
    seg_image: Stream | None = None
    seg_video: Stream | None = None
    valid: Callable[[], Iterable[dict[str, Any]]] | None = None
    valid_ratio: float = 1.0

    def streams(self) -> dict[str, Stream]:
        named = {"lr": self.lr, "hr": self.hr, "seg_image": self.seg_image, "seg_video": self.seg_video}
        return {k: v for k, v in named.items() if v is not None}


@dataclass
class TrainResult:
    steps: int
    out_dir: Path
    main: bool = True
    train_losses: list[dict[str, float]] = field(default_factory=list)
    valid: list[dict[str, float]] = field(default_factory=list)
    data_seconds: float = 0.0
    step_seconds: float = 0.0

    def line(self) -> str:
        """One summary line for the command line."""
        text = f"trained to step {self.steps} in {self.out_dir}"
        if self.valid and "pha_mad" in self.valid[0]:
            first, last = self.valid[0], self.valid[-1]
            text += (f"; valid alpha MAD x1e3 {first['pha_mad']:.1f} (step {first['step']})"
                     f" -> {last['pha_mad']:.1f} (step {last['step']})")
        if self.step_seconds > 0:
            text += f"; waiting for data {100 * self.data_seconds / self.step_seconds:.1f}% of step time"
        return text


def _seed(*parts: int) -> int:
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1, dtype=np.uint64)[0] >> 1)


class Trainer:
    """Trains ``model`` on ``data`` into ``out_dir``; one instance per process."""

    def __init__(self, config: TrainConfig, model: nn.Module, data: TrainData, out_dir: str | Path,
                 place: Placement, *, progress: bool = True):
        self.config, self.data, self.place = config, data, place
        self.out_dir = Path(out_dir)
        self.progress = progress and place.main
        cuda = place.device.type == "cuda"
        if place.distributed and cuda and config.sync_batchnorm:
            model = nn.SyncBatchNorm.convert_sync_batchnorm(model)  # type: ignore[no-untyped-call]  # unannotated in torch
        self.model = model.to(place.device)
        self.optimizer = make_optimizer(self.model, config.learning_rates())
        self.net: nn.Module = self.model
        if place.distributed:
            # BatchNorm statistics stay per rank between steps, as in RVM; parameters are synced by DDP.
            self.net = DistributedDataParallel(
                self.model, device_ids=[place.device.index] if cuda else None,
                forward_sync_buffers=False, find_unused_parameters=True)
        self.amp = config.amp and cuda
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp)
        self.step = 0
        self.checkpoint_step: int | None = None  # the step last.pt holds
        self._short_seg_said = False
        self.log = RunLog(self.out_dir) if place.main else None
        self.result = TrainResult(0, self.out_dir, place.main)

    # ------------------------------------------------------------------ state

    def state_dict(self) -> dict[str, Any]:
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict(),
            "streams": {k: s.state_dict() for k, s in self.data.streams().items()},
            "step": self.step,
            "epoch": self.step // self.data.steps_per_epoch,
            "world": self.place.world,
            "config": self.config.to_dict(),
        }

    def _check_rates(self, saved: dict[str, Any]) -> None:
        """The checkpoint's optimizer brings its own learning rates: say so when the config asks others.

        Adam's moments belong to the groups the checkpoint trained, so a group frozen there (rate 0)
        cannot start training on resume, nor the other way round: that needs a new run with --init.
        """
        groups = saved.get("param_groups", [])
        kept = {g.get("name"): float(g["lr"]) for g in groups}
        asked = {g["name"]: float(g["lr"]) for g in self.optimizer.param_groups}
        if list(kept) != list(asked):
            raise TrainError(f"the checkpoint trains groups {', '.join(map(str, kept))}, this config "
                             f"{', '.join(asked)} (a rate turned 0 or back): start a new run with --init instead")
        changed = [f"{name} {asked[name]:g} (checkpoint {kept[name]:g})" for name in asked if asked[name] != kept[name]]
        if changed and self.place.main:
            warnings.warn(f"--resume keeps the checkpoint's learning rates, not train.lr: {', '.join(changed)}; "
                          "start a new run with --init to train at the new rates", stacklevel=3)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self._check_rates(state["optimizer"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scaler.load_state_dict(state["scaler"])
        for name, stream in self.data.streams().items():
            if name not in state["streams"]:
                raise TrainError(f"checkpoint has no position for the {name!r} stream (was it trained without it?)")
            stream.load_state_dict(state["streams"][name])
        self.step = int(state["step"])

    def resume(self, path: str | Path | None = None) -> None:
        """Continue from ``path`` (default: this run's last checkpoint)."""
        path = Path(path) if path else self.out_dir / LAST
        state = load_checkpoint(path, map_location=self.place.device)
        if int(state.get("world", 1)) != self.place.world:
            raise TrainError(f"{path} was written by {state['world']} processes, now {self.place.world}: "
                             "the data split differs, start a new run with --init instead")
        self.load_state_dict(state)
        self.checkpoint_step = self.step
        if self.log is not None:  # the summary spans the whole run; steps after the checkpoint are redone
            kept = self.log.rewind(self.step)
            self.result.valid = [{k: v for k, v in r.items() if k not in ("kind", "epoch", "time")}
                                 for r in kept if r.get("kind") == "valid"]

    def save(self, name: str = LAST) -> None:
        """Checkpoint on the main rank (all ranks hold the same weights under DDP)."""
        if self.place.main:
            save_checkpoint(self.out_dir / name, self.state_dict())
        barrier(self.place)
        if name == LAST:
            self.checkpoint_step = self.step

    def save_model(self, name: str) -> None:
        """The weights alone, keyed like the original RVM checkpoints (for --init and inference)."""
        if self.place.main:
            save_checkpoint(self.out_dir / name, self.model.state_dict())

    # ------------------------------------------------------------------ passes

    def _autocast(self) -> AbstractContextManager[None]:
        return torch.autocast("cuda", dtype=torch.float16) if self.amp else nullcontext()

    def _update(self, loss: Tensor) -> None:
        self.scaler.scale(loss).backward()  # type: ignore[no-untyped-call]  # unannotated in torch
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)

    def _crop(self, tensors: list[Tensor], pass_index: int) -> list[Tensor]:
        if not self.config.random_crop:
            return tensors
        gen = torch.Generator().manual_seed(_seed(self.config.seed, self.place.rank, self.step, pass_index))
        return random_crop(tensors, gen)

    def train_mat(
        self, batch: dict[str, Any], downsample_ratio: float, pass_index: int
    ) -> tuple[dict[str, Tensor], list[Tensor]]:
        fgr, pha, bgr = self._crop(to_device(batch, ("fgr", "pha", "bgr"), self.place.device), pass_index)
        src = composite(fgr, pha, bgr)
        with self._autocast():
            pred_fgr, pred_pha = self.net(src, downsample_ratio=downsample_ratio)[:2]
        loss = matting_loss(pred_fgr.float(), pred_pha.float(), fgr, pha)
        self._update(loss["total"])
        return loss, [src[0], pha[0], pred_pha[0].detach(), pred_fgr[0].detach()]

    def _seg_window(self, batch: dict[str, Any], frames: int) -> dict[str, Any]:
        """``frames`` consecutive frames of the video segmentation clips (RVM: the stage's matting T),
        from a start drawn per step, so one T=50 build serves T=40 stages too."""
        have = batch["img"].shape[1]
        if have == frames:
            return batch
        if have < frames:
            if not self._short_seg_said:
                self._short_seg_said = True
                self._warn(f"video segmentation clips have {have} frames, the matting pass {frames}: RVM trains "
                           f"both at the stage's T; rebuild seg_video with frames >= {frames}")
            return batch
        gen = torch.Generator().manual_seed(_seed(self.config.seed, self.place.rank, self.step, 3))
        start = int(torch.randint(have - frames + 1, (1,), generator=gen))
        return {**batch, "img": batch["img"][:, start:start + frames], "seg": batch["seg"][:, start:start + frames]}

    def train_seg(self, batch: dict[str, Any], pass_index: int) -> Tensor:
        img, seg = self._crop(to_device(batch, ("img", "seg"), self.place.device), pass_index)
        with self._autocast():
            pred = self.net(img, segmentation_pass=True)[0]
        loss = segmentation_loss(pred.float(), seg)
        self._update(loss)
        return loss

    def _re_paired(self, batch: dict[str, Any], stream: Stream) -> dict[str, Any]:
        """``train.re_pair_backgrounds``: in a pass that re-reads samples, each clip's background comes
        from another clip of the batch (a cyclic shift of 1..B-1 drawn from (seed, rank, epoch, batch))."""
        size = len(batch["bgr"])
        epoch, index, rereads = stream.delivered()
        if not self.config.re_pair_backgrounds or not rereads or size < 2:
            return batch
        shift = 1 + int(np.random.default_rng([self.config.seed, self.place.rank, epoch, index]).integers(size - 1))
        return {**batch, "bgr": torch.roll(batch["bgr"], shift, dims=0)}

    def _next(self, stream: Stream) -> dict[str, Any]:
        t0 = time.perf_counter()
        batch = next(stream)
        self.result.data_seconds += time.perf_counter() - t0
        return batch

    def train_step(self) -> dict[str, Tensor]:
        """One step as RVM's: matting (low-res, then high-res), then one segmentation pass."""
        lr_batch = self._re_paired(self._next(self.data.lr), self.data.lr)
        losses, pictures = self.train_mat(lr_batch, 1.0, 0)
        out = {f"lr_{k}": v for k, v in losses.items()}
        if self.data.hr is not None:
            hr, _ = self.train_mat(self._re_paired(self._next(self.data.hr), self.data.hr),
                                   self.config.downsample_ratio, 1)
            out.update({f"hr_{k}": v for k, v in hr.items()})
        seg = self.data.seg_video if self.step % 2 == 0 else self.data.seg_image
        if seg is not None:
            batch = self._next(seg)
            if seg is self.data.seg_video:
                batch = self._seg_window(batch, self.config.seg_video_frames or lr_batch["fgr"].shape[1])
            out[f"{seg.name}_bce"] = self.train_seg(batch, 2)
        if self.log is not None and (self.step + 1) % self.config.image_interval == 0:
            self.log.image("train", self.step + 1, pictures, labels=MATTING_LABELS)
        self.step += 1
        return out

    # ------------------------------------------------------------------ validation

    @torch.no_grad()
    def validate(self) -> dict[str, float] | None:
        """Loss and matting metrics over the valid split, on the main rank (others wait)."""
        values = None
        if self.place.main and self.log is not None and self.data.valid is not None:  # the log is the main rank's
            self.model.eval()
            sums: dict[str, float] = {}
            count = 0
            for i, batch in enumerate(self.data.valid()):
                if self.config.valid_batches is not None and i >= self.config.valid_batches:
                    break
                fgr, pha, bgr = to_device(batch, ("fgr", "pha", "bgr"), self.place.device)
                src = composite(fgr, pha, bgr)
                with self._autocast():
                    pred_fgr, pred_pha = self.model(src, downsample_ratio=self.data.valid_ratio)[:2]
                pred_fgr, pred_pha = pred_fgr.float(), pred_pha.float()
                n = src.shape[0]
                batch_values = {k: v.item() for k, v in matting_loss(pred_fgr, pred_pha, fgr, pha).items()}
                batch_values.update(batch_metrics(pred_pha, pha, pred_fgr, fgr, VALID_METRICS))
                for k, v in batch_values.items():
                    sums[k] = sums.get(k, 0.0) + v * n
                if i == 0:
                    self.log.image("valid", self.step, [src[0], pha[0], pred_pha[0], pred_fgr[0]],
                                   labels=MATTING_LABELS)
                count += n
            self.model.train()
            if count:
                values = {k: v / count for k, v in sums.items()}
                values["samples"] = count
                self.log.write("valid", self.step, self._epoch(), values)
                self.result.valid.append({"step": self.step, **values})
                self._say(f"step {self.step} valid: loss {values['total']:.4f}, "
                          + ", ".join(f"{k} {values[k]:.2f}" for k in VALID_METRICS))
        barrier(self.place)
        return values

    # ------------------------------------------------------------------ loop

    def _warn(self, text: str) -> None:
        if self.place.main:
            warnings.warn(text, stacklevel=3)

    def _say(self, text: str) -> None:
        """A line for the person watching, on stderr beside the bar (main rank only)."""
        if self.place.main:
            tqdm.write(text, file=sys.stderr)

    def _epoch(self) -> int:
        return max(self.step - 1, 0) // self.data.steps_per_epoch

    def total_steps(self) -> int:
        steps = self.config.total_epochs() * self.data.steps_per_epoch
        return steps if self.config.max_steps is None else min(steps, self.config.max_steps)

    def fit(self) -> TrainResult:
        """Train until the configured epochs (or ``max_steps``) are done; validates first on a fresh run.
        Ctrl-C raises :class:`TrainInterrupted`, which names the step the last checkpoint holds."""
        try:
            return self._fit()
        except KeyboardInterrupt as interrupt:  # Ctrl-C, or a stop signal the CLI turned into one (signum)
            raise TrainInterrupted(str(self.out_dir), self.step, self.checkpoint_step,
                                   getattr(interrupt, "signum", signal.SIGINT)) from None

    def _fit(self) -> TrainResult:
        cfg, spe, total = self.config, self.data.steps_per_epoch, self.total_steps()
        lrs = ", ".join(f"{g['name']} {g['lr']:g}" for g in self.optimizer.param_groups)
        passes = "+".join(s.name for s in self.data.streams().values())
        self._say(f"stage {cfg.stage}: steps {self.step}..{total} ({spe} per epoch), passes {passes}, "
                  f"batch {cfg.batch_size} x {self.place.world} process(es) on {self.place.device}, Adam lr {lrs}")
        self.model.train()
        if self.step == 0 and cfg.validate:
            self.validate()
        while self.step < total:
            epoch = self.step // spe
            end = min((epoch + 1) * spe, total)
            bar = tqdm(total=end - epoch * spe, initial=self.step - epoch * spe, desc=f"epoch {epoch}",
                       disable=not self.progress, dynamic_ncols=True, leave=True)
            mark = (self.step, time.perf_counter())
            while self.step < end:
                t0 = time.perf_counter()
                losses = self.train_step()
                self.result.step_seconds += time.perf_counter() - t0
                if self.step % cfg.log_interval == 0 or self.step == end:
                    now = time.perf_counter()
                    values = {k: v.item() for k, v in losses.items()}
                    samples = (self.step - mark[0]) * cfg.batch_size * self.place.world
                    values["samples_per_s"] = samples / (now - mark[1])
                    mark = (self.step, now)
                    if self.log is not None:
                        self.log.write("train", self.step, self._epoch(), values)
                    self.result.train_losses.append({"step": self.step, **values})
                    bar.set_postfix(loss=f"{values['lr_total']:.4f}", sps=f"{values['samples_per_s']:.1f}")
                if self.step % cfg.checkpoint_interval == 0:
                    self.save()
                bar.update(1)
            bar.close()
            if self.step % spe == 0:
                self.save_model(f"checkpoints/epoch-{epoch}.pth")
            if cfg.validate:
                self.validate()
        self.save()
        self.save_model("model.pth")
        self.result.steps = self.step
        return self.result

    def close(self) -> None:
        for stream in self.data.streams().values():
            stream.close()
        if self.log is not None:
            self.log.close()
