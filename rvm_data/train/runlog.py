"""Where a run's numbers and pictures go: a JSONL file, TensorBoard when it is installed, PNGs."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import torch
from torch import Tensor

from rvm_data.shards.layout import write_atomically

if TYPE_CHECKING:
    from torch.utils.tensorboard import SummaryWriter


def _tensorboard(folder: Path) -> SummaryWriter | None:
    """A TensorBoard writer, or None without the tensorboard package (which rvm-data does not depend on)."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return None
    return SummaryWriter(str(folder))


class RunLog:
    """Appends one JSON object per event to ``log.jsonl`` (kept across resumes)."""

    def __init__(self, out_dir: str | Path, tensorboard: bool = True):
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.out_dir / "log.jsonl"
        self._file = self.path.open("a", encoding="utf-8")
        self._tb = _tensorboard(self.out_dir / "tensorboard") if tensorboard else None

    def rewind(self, step: int) -> list[dict[str, Any]]:
        """Resuming from a checkpoint of ``step``: drop the records of later steps (the interrupted run
        logged them, the resumed run logs them again, so they would repeat) and return those kept.
        The file is replaced by rename, so a crash leaves the old or the new log, never half of one."""
        self._file.close()
        kept: list[dict[str, Any]] = []
        lines: list[str] = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a line cut short by the interruption
            if isinstance(record, dict) and int(record.get("step", 0)) <= step:
                kept.append(record)
                lines.append(line)
        write_atomically(self.path, "".join(f"{line}\n" for line in lines))
        self._file = self.path.open("a", encoding="utf-8")
        return kept

    def write(self, kind: str, step: int, epoch: int, values: dict[str, float]) -> None:
        record = {"kind": kind, "step": step, "epoch": epoch, "time": round(time.time(), 3)}
        record.update({k: (float(v) if isinstance(v, (int, float, np.floating)) else v) for k, v in values.items()})
        self._file.write(json.dumps(record) + "\n")
        self._file.flush()
        if self._tb is not None:
            for k, v in values.items():
                if isinstance(v, (int, float, np.floating)):
                    self._tb.add_scalar(f"{kind}/{k}", float(v), step)

    def image(self, name: str, step: int, rows: list[Tensor], frames: int = 4,
              labels: Sequence[str] | None = None) -> Path:
        """Save rows (each T×C×H×W in [0, 1], C = 1 or 3) of up to ``frames`` frames as one PNG, each row
        under a header strip naming it (``labels``), so a picture says which row is the prediction."""
        grid = image_grid(rows, frames, labels)
        path = self.out_dir / "images" / f"{name}-{step:07d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        if not cv2.imwrite(str(path), cv2.cvtColor(grid, cv2.COLOR_RGB2BGR)):
            raise OSError(f"cannot write image {path}")
        if self._tb is not None:
            self._tb.add_image(name, grid, step, dataformats="HWC")
        return path

    def close(self) -> None:
        self._file.close()
        if self._tb is not None:
            self._tb.close()


MATTING_LABELS = ("composite", "true alpha", "predicted alpha", "predicted foreground")
LABEL_HEIGHT = 14  # pixels of the header strip above each labelled row


def image_grid(rows: list[Tensor], frames: int, labels: Sequence[str] | None = None) -> np.ndarray:
    """Rows of frames side by side as an H×W×3 uint8 RGB array (grey rows repeated to RGB); with
    ``labels`` (one per row) each row is preceded by a black strip with its label in white."""
    if labels is not None and len(labels) != len(rows):
        raise ValueError(f"{len(labels)} labels for {len(rows)} image rows")
    tiles = []
    for row in rows:
        row = row[:frames].detach().float().cpu().clamp(0, 1)
        if row.shape[1] == 1:
            row = row.expand(-1, 3, -1, -1)
        tiles.append(torch.cat(list(row), dim=-1))
    width = max(t.shape[-1] for t in tiles)
    images = [(torch.nn.functional.pad(t, (0, width - t.shape[-1])).permute(1, 2, 0).numpy() * 255 + 0.5
               ).astype(np.uint8) for t in tiles]
    if labels is not None:
        images = [part for label, tile in zip(labels, images, strict=True) for part in (_header(label, width), tile)]
    return np.concatenate(images, axis=0)


def _header(label: str, width: int) -> np.ndarray:
    strip = np.zeros((LABEL_HEIGHT, width, 3), np.uint8)
    cv2.putText(strip, label, (2, LABEL_HEIGHT - 4), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (255, 255, 255), 1, cv2.LINE_AA)
    return strip
