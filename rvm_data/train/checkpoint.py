"""Trainer checkpoints: everything needed to resume exactly.

A checkpoint is a plain dict of tensors, numbers and strings saved with ``torch.save``
and read back with ``weights_only=True``; no pickled objects.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import torch

from rvm_data.shards.layout import write_atomically
from rvm_data.train.errors import TrainError, TrainFileMissing


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> Path:
    """Write atomically (temporary name, then rename) so a crash never leaves half a file, nor a temporary."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return write_atomically(path, buffer.getvalue())


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise TrainFileMissing(f"checkpoint not found: {path}")
    try:
        state: dict[str, Any] = torch.load(path, map_location=map_location, weights_only=True)
        return state
    except Exception as exc:  # torch raises several types for a bad file; name the file once
        raise TrainError(f"cannot read checkpoint {path}: {' '.join(str(exc).split())[:300]}") from exc

