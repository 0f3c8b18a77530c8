"""A sample's plan and pixels do not depend on which BLAS kernel the CPU gets.

numpy's ``@`` calls OpenBLAS, which picks a kernel by CPU (SkylakeX here, Haswell on most AMD and older
Intel machines, others on ARM) and the kernels sum and fuse in other orders: with ``@`` in the plan,
another kernel gave matrices differing in the last digit, so the sample's spec (and sometimes its
pixels) differed from one machine to the next. Each child interpreter here is told which kernel to use
(``OPENBLAS_CORETYPE``) and plans and renders the samples of ``test_render_hashes``: every spec and
every frame must be the same under each.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest


def _cpu_flags() -> set[str]:
    """The CPU's features as /proc/cpuinfo names them (none where there is no such file)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    return {flag for line in text.splitlines() if line.startswith("flags") for flag in line.split(":", 1)[1].split()}


# "": the kernel OpenBLAS detects; the others only where this CPU can run them
_NEEDS = {"Prescott": {"pni"}, "Haswell": {"avx2", "fma"}, "SkylakeX": {"avx512f", "avx512bw", "avx512dq", "avx512vl"}}
KERNELS = ("", *(kernel for kernel, needs in _NEEDS.items() if needs <= _cpu_flags()))


def _digests() -> dict[str, str]:
    """Spec and pixel digests of a few samples of every render-hash config (run in a child)."""
    sys.path.insert(0, str(Path(__file__).parent))
    from engine_sources import write_sources
    from test_render_hashes import configs

    from rvm_data.compose import plan_sample, render_sample

    out = {}
    with tempfile.TemporaryDirectory() as folder:
        catalog = write_sources(Path(folder), fg_frames=12, bg_frames=14, images=3, videos=2)
        for name, config in configs().items():
            for split, augment in (("train", True), ("valid", False)):
                for index in range(4):
                    spec = plan_sample(config, catalog, seed=3, split=split, index=index, augment=augment)
                    rendered = render_sample(spec, catalog)
                    key = f"{name}/{split}/{index}"
                    out[f"{key}/spec"] = hashlib.sha256(json.dumps(spec.to_dict(), sort_keys=True).encode()).hexdigest()
                    out[f"{key}/pixels"] = hashlib.sha256(b"".join(rendered[k].tobytes() for k in ("fgr", "pha", "bgr"))
                                                          ).hexdigest()
    return out


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="OPENBLAS_CORETYPE names x86-64 kernels")
def test_plans_and_pixels_are_the_same_under_every_blas_kernel() -> None:
    results = {}
    for kernel in KERNELS:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        env.pop("OPENBLAS_CORETYPE", None)
        if kernel:
            env["OPENBLAS_CORETYPE"] = kernel
        child = subprocess.run([sys.executable, __file__], capture_output=True, text=True, check=True, env=env)
        results[kernel or "detected"] = json.loads(child.stdout)
    reference = results["detected"]
    assert len(reference) == 5 * 2 * 4 * 2 and len(results) >= 2
    for kernel, digests in results.items():
        differ = sorted(key for key in reference if digests[key] != reference[key])
        assert not differ, f"under {kernel}, {len(differ)} of {len(reference)} differ, e.g. {differ[:4]}"


if __name__ == "__main__":
    print(json.dumps(_digests()))
