"""Two CPU processes (gloo over loopback) train a few steps under DDP and must stay in step."""

import dataclasses
import os
import shutil
import socket
import time

import pytest
import torch
import torch.multiprocessing as mp

from rvm_data.shards.layout import epoch_root
from rvm_data.shards.manifest import read_manifest, write_manifest
from rvm_data.train.config import TrainConfig
from rvm_data.train.data import open_train_data
from rvm_data.train.distributed import setup, teardown
from rvm_data.train.epochs import EpochSource
from rvm_data.train.run import make_model
from rvm_data.train.trainer import Trainer

CONFIG = TrainConfig(batch_size=1, max_steps=3, log_interval=1, workers=0, valid_batches=1, segmentation=False,
                     lr={"backbone": 1e-3, "aspp": 1e-3, "decoder": 1e-3, "project": 1e-3})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_ranks(target, args: tuple, timeout: float = 240.0) -> None:
    """Two ranks of ``target``; a failure if they have not finished within ``timeout`` (a collective that one
    rank calls and the other does not hangs them both)."""
    context = mp.spawn(target, args=args, nprocs=2, join=False)
    deadline = time.monotonic() + timeout
    while not context.join(timeout=1.0):
        if time.monotonic() > deadline:
            for process in context.processes:
                process.kill()
            pytest.fail(f"the ranks did not finish within {timeout:.0f} s: a collective left unpaired?")


def _rank(rank: int, world: int, port: int, build: str, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      WORLD_SIZE=str(world), LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    place = setup("cpu")
    try:
        trainer = Trainer(CONFIG, make_model(CONFIG), open_train_data(CONFIG, build, place), out, place, progress=False)
        result = trainer.fit()
        trainer.close()
        params = {k: v.detach().clone() for k, v in trainer.model.named_parameters()}
        torch.save({"params": params, "losses": [r["lr_total"] for r in result.train_losses]},
                   os.path.join(out, f"rank{rank}.pt"))
    finally:
        teardown(place)


def test_two_ranks_stay_in_step(tiny_build, tmp_path):
    _run_ranks(_rank, (2, _free_port(), str(tiny_build), str(tmp_path)))
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    assert len(r0["losses"]) == len(r1["losses"]) == 3
    assert r0["losses"] != r1["losses"]  # each rank trained on its own part of the data
    start = make_model(CONFIG).state_dict()
    assert any(not torch.equal(v, start[k]) for k, v in r0["params"].items())  # it did train
    assert all(torch.equal(v, r1["params"][k]) for k, v in r0["params"].items())  # and identically
    assert (tmp_path / "checkpoints" / "last.pt").is_file()  # written once, by rank 0


def _rank_reading_epochs(rank: int, world: int, port: int, build: str, out: str, not_yet: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      WORLD_SIZE=str(world), LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    if rank == 1 and not_yet == "epoch":  # this rank listed the folder a moment before epoch 1's manifest appeared
        EpochSource.built = lambda self: [0]  # type: ignore[method-assign]
    if rank == 1 and not_yet == "epochs":  # it opened its streams a moment before epoch 1's folder appeared
        import rvm_data.train.data as data_module
        data_module.built_epochs = lambda root: []  # type: ignore[assignment]
    place = setup("cpu")
    try:
        config = CONFIG.replace(max_steps=6)  # 4 batches per rank and epoch: into epoch 1
        trainer = Trainer(config, make_model(config), open_train_data(config, build, place), out, place,
                          progress=False)
        trainer.fit()
        trainer.close()
        torch.save({"reads": trainer.data.lr.reads}, os.path.join(out, f"rank{rank}.pt"))
    finally:
        teardown(place)


@pytest.mark.parametrize("not_yet", ["epoch", "epochs"])
def test_every_rank_reads_the_epoch_the_main_rank_chose(tiny_build, tmp_path, not_yet):
    build = tmp_path / "build"
    shutil.copytree(tiny_build, build)
    shutil.copytree(tiny_build, epoch_root(build, 1))  # an epoch 1 of the same build
    write_manifest(epoch_root(build, 1), dataclasses.replace(read_manifest(build), epoch=1))
    _run_ranks(_rank_reading_epochs, (2, _free_port(), str(build), str(tmp_path), not_yet))
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    assert r0["reads"] == r1["reads"] == 1  # rank 1 alone would have reused epoch 0
