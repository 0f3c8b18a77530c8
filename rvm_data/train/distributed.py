"""One process or many: torchrun's environment decides, gloo on CPU, nccl on GPU."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
from torch import distributed as dist

from rvm_data.train.errors import TrainError


@dataclass(frozen=True)
class Placement:
    """Where this process runs: its rank among ``world`` processes and its device."""

    rank: int
    world: int
    device: torch.device

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world > 1


def resolve_device(device: str | None) -> torch.device:
    """``None`` -> CUDA when available, else CPU; asking for CUDA without it is an error."""
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device not in ("cpu", "cuda"):
        raise TrainError(f"--device must be cpu or cuda, got {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise TrainError("--device cuda asked for, but torch sees no CUDA device")
    return torch.device(device)


def setup(device: str | None = None) -> Placement:
    """Join the process group when started by torchrun (WORLD_SIZE > 1), else run alone."""
    kind = resolve_device(device)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Placement(0, 1, kind)
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if kind.type == "cuda":
        torch.cuda.set_device(local)
        kind = torch.device("cuda", local)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if kind.type == "cuda" else "gloo", rank=rank, world_size=world)
    return Placement(rank, world, kind)


def from_main(place: Placement, value: int) -> int:
    """The main rank's ``value`` on every rank: what all ranks must agree on (which epoch's shards they
    read) where each may see the shared folder at a different moment."""
    if not place.distributed:
        return value
    shared = torch.tensor([value], dtype=torch.int64, device=place.device)
    dist.broadcast(shared, src=0)
    return int(shared.item())


def barrier(place: Placement) -> None:
    if place.distributed:
        dist.barrier()


def teardown(place: Placement) -> None:
    if place.distributed and dist.is_initialized():
        dist.destroy_process_group()
