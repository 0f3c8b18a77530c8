"""Odd and broken sources through whole builds (``--workers 2``, and dask for some): every frame exact
or a clear refusal, skips recorded and replaced deterministically, and the README's table is what
these runs print."""

from __future__ import annotations

from pathlib import Path

import pytest
from bad_inputs import CASES, Case, Outcome, run_build, table_row, write_sources

README = Path(__file__).parents[2] / "README.md"


def _run(tmp_path: Path, case: Case, mode: str, *extra: str) -> tuple[Outcome, str]:
    """One build of the case's sources; every run of a test shares one source tree, since its path is in
    the recipe and so in every spec's recipe hash."""
    root = tmp_path / "src"
    marker = tmp_path / "damaged.txt"
    if not root.exists():
        write_sources(root)
        marker.write_text(case.make(root))
    out = tmp_path / f"out-{mode}-{'-'.join(extra).replace(':', '').replace('/', '') or 'serial'}"
    return run_build(root, out, mode, *extra), marker.read_text()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_bad_input(case: Case, tmp_path: Path) -> None:
    error, damaged = _run(tmp_path, case, "error")  # serial: the first bad file met is always the same one
    parallel_error, _ = _run(tmp_path, case, "error", "--workers", "2")
    skip, _ = _run(tmp_path, case, "skip", "--workers", "2")
    assert skip.code == 0 and skip.bad_frames == ()
    if damaged:
        for stop in (error, parallel_error):
            assert stop.code == 2 and f"SRC/{damaged}" in stop.message, stop.message
        assert skip.skipped and f"skipped {len(skip.skipped)} bad clip" in skip.message
        assert all(damaged.rstrip("/") in s["path"] for s in skip.skipped)
        serial, _ = _run(tmp_path, case, "skip")
        assert serial.digest == skip.digest and serial.skipped == skip.skipped  # replacements: any worker count
    else:
        assert error.code == 0 and error.bad_frames == () and "clip1" in error.clips, error
        assert error.digest == parallel_error.digest and not skip.skipped  # (skip's recipe, so its hash, differs)
    row = table_row(case, error, skip)
    assert row in README.read_text().splitlines(), f"README's bad-input table lacks or differs in:\n{row}"


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as c:
        yield c.scheduler_address


@pytest.mark.parametrize("case", [c for c in CASES if c.on_dask], ids=lambda c: c.name)
def test_bad_input_on_dask(case: Case, cluster: str, tmp_path: Path) -> None:
    local, damaged = _run(tmp_path, case, "skip", "--workers", "2")
    dask, _ = _run(tmp_path, case, "skip", "--scheduler", cluster)
    assert dask.code == 0 and dask.digest == local.digest and dask.skipped == local.skipped
    error, _ = _run(tmp_path, case, "error", "--scheduler", cluster)
    assert error.code == 2 and f"SRC/{damaged}" in error.message, error.message
