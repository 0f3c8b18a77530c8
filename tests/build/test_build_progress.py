"""The build bar counts samples, not shards, also when other processes render them."""

from __future__ import annotations

import time

import pytest
from tqdm import tqdm

import rvm_data.build as build_module
from rvm_data.build import build
from rvm_data.buildprogress import SampleBar, remote_ticker
from rvm_data.recipe import load_recipe


def _bar() -> tqdm:
    return tqdm(total=10, disable=False, file=open("/dev/null", "w"))


def test_ticks_then_the_shard_total() -> None:
    bar = SampleBar(_bar(), listen=False)
    for _ in range(3):
        bar.tick("train/a-000000.tar")
    assert bar._bar.n == 3
    bar.shard_done("train/a-000000.tar", 4)  # one tick was lost: the shard still counts whole
    assert bar._bar.n == 4
    bar.tick("train/a-000000.tar")  # a late tick of a counted shard
    assert bar._bar.n == 4
    bar.close()


def test_ticks_from_another_socket_reach_the_bar() -> None:
    bar = SampleBar(_bar(), listen=True)
    if bar.address is None:
        pytest.skip("no abstract Unix sockets on this platform")
    tick, release = remote_ticker(bar.address, "train/a-000000.tar")
    assert tick is not None
    for _ in range(5):
        tick()
    release()
    deadline = time.monotonic() + 10
    while bar._bar.n < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert bar._bar.n == 5
    listener = bar._listener
    bar.close()
    assert listener is not None and not listener.is_alive()  # a closed bar leaves no thread behind
    tick2, release2 = remote_ticker(bar.address, "x")
    assert tick2 is not None
    tick2()  # the bar is gone: not an error
    release2()


def test_a_two_worker_build_moves_the_bar_per_sample(tiny_recipe_path, tmp_path, monkeypatch) -> None:
    steps: list[float] = []

    class Recording(tqdm):
        def update(self, n: float | None = 1) -> bool | None:
            steps.append(1 if n is None else n)
            return super().update(n)

    monkeypatch.setattr(build_module, "tqdm", Recording)
    monkeypatch.setattr("sys.stderr", open("/dev/null", "w"))
    recipe = load_recipe(tiny_recipe_path)
    summary = build(recipe, tmp_path / "out", workers=2, progress=True)
    assert sum(steps) == summary.samples
    assert steps.count(1) > 0 and len(steps) > summary.shards  # ticks, not one step per shard
