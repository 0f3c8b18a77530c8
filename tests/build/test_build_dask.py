"""The same build on a real dask.distributed LocalCluster (loopback) gives the same bytes."""

from __future__ import annotations

import pytest
from build_helpers import folder_bytes

from rvm_data.build import build
from rvm_data.recipe import load_recipe

distributed = pytest.importorskip("distributed")


def test_local_cluster_build_equals_local_build(reference_build, tiny_recipe_path, tmp_path):
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, protocol="tcp", host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        summary = build(load_recipe(tiny_recipe_path), tmp_path / "out", scheduler=cluster.scheduler_address,
                        progress=False)
    assert summary.runner.startswith("dask tcp://127.0.0.1:") and summary.rendered_shards == 9
    assert folder_bytes(tmp_path / "out") == folder_bytes(reference_build)

