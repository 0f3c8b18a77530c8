"""The same build on a real dask.distributed LocalCluster (loopback) gives the same bytes."""

from __future__ import annotations

import re

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


def test_a_worker_with_other_libraries_writes_nothing(tiny_recipe_path, tmp_path, monkeypatch):
    """A worker whose OpenCV differs from the build machine's would write shards of other bytes into the
    folder: it refuses, naming itself and the difference, and the build stops with nothing written."""
    import rvm_data.build as build_module
    from rvm_data.build import BuildError

    here = build_module.pixel_stack()

    def stack_of_the_caller() -> dict[str, str]:
        try:
            distributed.get_worker()
        except ValueError:  # the build's own process
            return here
        return {**here, "opencv": "4.9.0"}

    monkeypatch.setattr(build_module, "pixel_stack", stack_of_the_caller)
    out = tmp_path / "out"
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp", host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        with pytest.raises(BuildError, match=r"dask worker .* differs from the build's machine in opencv "
                                             rf"{re.escape(here['opencv'])} \(the worker has 4\.9\.0\)"):
            build(load_recipe(tiny_recipe_path), out, scheduler=cluster.scheduler_address, progress=False)
    assert not list(out.rglob("*.tar"))



def test_a_stopped_cluster_build_leaves_nothing_running_in_the_folder(tiny_recipe_path, tmp_path, monkeypatch):
    """A cancel leaves running dask tasks to write on; the build asks them to stop and waits: once it
    has stopped, nothing in the folder changes and every shard there is listed, without a temporary."""
    import time

    from build_helpers import folder_bytes

    import rvm_data.build as build_module
    from rvm_data.shards import read_manifest

    long = ["outputs.lr.samples.train=400", "outputs.lr.samples.valid=0", "outputs.hr.samples.train=0",
            "outputs.lr.compose.size=[128, 128]", "outputs.lr.compose.frames=8", "shards.samples_per_shard=20"]
    add = build_module._Ledger.add
    shards_done = []

    def stop_after_the_first(self, job, result):
        add(self, job, result)
        shards_done.append(job.path)
        raise KeyboardInterrupt  # as Ctrl-C would, with jobs still running on the cluster

    monkeypatch.setattr(build_module._Ledger, "add", stop_after_the_first)
    out = tmp_path / "out"
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, protocol="tcp", host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        with pytest.raises(KeyboardInterrupt):
            build(load_recipe(tiny_recipe_path, long), out, scheduler=cluster.scheduler_address, progress=False)
        settled = folder_bytes(out)
        time.sleep(1.5)
        assert folder_bytes(out) == settled, "a cancelled task still wrote into the folder"
    listed = {e.path for entries in read_manifest(out).splits.values() for e in entries}
    on_disk = {str(p.relative_to(out)) for p in out.glob("*/*.tar")}
    assert shards_done and on_disk == listed == set(shards_done)
    assert not list(out.rglob(".*.tmp-*"))
