"""A sample's plan and pixels do not depend on the CPU's BLAS kernel or on numpy's SIMD level.

numpy's ``@`` calls OpenBLAS, which picks a kernel by CPU (SkylakeX here, Haswell on most AMD and older
Intel machines, others on ARM), and numpy's own exp, tan and power pick SIMD code by CPU; kernels and
SIMD levels round differently in the last digit, so with them in the plan a sample's spec (and sometimes
its pixels) differed from one machine to the next. Each child interpreter here is held to one BLAS
kernel (``OPENBLAS_CORETYPE``) or one numpy SIMD level (``NPY_DISABLE_CPU_FEATURES``) and plans and
renders samples of ``test_render_hashes``' configs: every spec and every frame must be the same.
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


def _cpu_flags() -> set[str]:
    """The CPU's features as /proc/cpuinfo names them (none where there is no such file)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    return {flag for line in text.splitlines() if line.startswith("flags") for flag in line.split(":", 1)[1].split()}


# OpenBLAS kernels this CPU can run (x86-64 names); forcing one it cannot would crash the child
_NEEDS = {"Prescott": {"pni"}, "Haswell": {"avx2", "fma"}, "SkylakeX": {"avx512f", "avx512bw", "avx512dq", "avx512vl"}}
KERNELS = [kernel for kernel, needs in _NEEDS.items() if needs <= _cpu_flags()] if platform.machine() in (
    "x86_64", "AMD64") else []


PLANS, RENDERS = 300, 4


def _variants() -> dict[str, dict[str, str]]:
    """Name -> environment of each child: as detected, each BLAS kernel, and numpy held below each of
    the SIMD levels it found (down to its baseline)."""
    from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__

    found = [feature for feature in __cpu_dispatch__ if __cpu_features__.get(feature)]
    variants: dict[str, dict[str, str]] = {"detected": {}}
    variants |= {f"OpenBLAS {kernel}": {"OPENBLAS_CORETYPE": kernel} for kernel in KERNELS}
    variants |= {f"numpy below {feature}": {"NPY_DISABLE_CPU_FEATURES": " ".join(found[i:])}
                 for i, feature in enumerate(found)}
    return variants


def _digests() -> dict[str, str]:
    """Spec digests of 300 training plans and pixel digests of 4 renders per split of every render-hash
    config (run in a child): a last-digit difference shows in about 2 plans in 100."""
    sys.path.insert(0, str(Path(__file__).parent))
    from engine_sources import write_sources
    from test_render_hashes import configs

    from rvm_data.compose import plan_sample, render_sample

    out = {}
    with tempfile.TemporaryDirectory() as folder:
        catalog = write_sources(Path(folder), fg_frames=12, bg_frames=14, images=3, videos=2)
        for name, config in configs().items():
            for split, augment, samples in (("train", True, PLANS), ("valid", False, RENDERS)):
                for index in range(samples):
                    spec = plan_sample(config, catalog, seed=3, split=split, index=index, augment=augment)
                    key = f"{name}/{split}/{index}"
                    out[f"{key}/spec"] = hashlib.sha256(json.dumps(spec.to_dict(), sort_keys=True).encode()).hexdigest()
                    if index < RENDERS:
                        rendered = render_sample(spec, catalog)
                        out[f"{key}/pixels"] = hashlib.sha256(
                            b"".join(rendered[k].tobytes() for k in ("fgr", "pha", "bgr"))).hexdigest()
    return out


def test_plans_and_pixels_are_the_same_under_every_blas_kernel_and_numpy_simd_level() -> None:
    results = {}
    for name, settings in _variants().items():
        env = {key: value for key, value in os.environ.items()
               if key not in ("OPENBLAS_CORETYPE", "NPY_DISABLE_CPU_FEATURES")}
        env |= {"PYTHONPATH": os.pathsep.join(sys.path), **settings}
        child = subprocess.run([sys.executable, __file__], capture_output=True, text=True, check=True, env=env)
        results[name] = json.loads(child.stdout)
    reference = results["detected"]
    assert len(reference) == 5 * (PLANS + RENDERS * 3) and len(results) >= 2
    for name, digests in results.items():
        differ = sorted(key for key in reference if digests[key] != reference[key])
        assert not differ, f"under {name}, {len(differ)} of {len(reference)} differ, e.g. {differ[:4]}"


if __name__ == "__main__":
    print(json.dumps(_digests()))
