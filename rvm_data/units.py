"""Byte counts as people read them: binary units, as ``du -h`` and ``ls -lh`` print them, so the
sizes ``build`` and ``inspect`` print agree with each other and with the shell."""

from __future__ import annotations

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def byte_size(n: float) -> str:
    """``184432112`` -> ``'175.9 MiB'``; below 1 KiB a whole number of bytes."""
    k = 0
    while n >= 1024 and k < len(_UNITS) - 1:
        n, k = n / 1024, k + 1
    return f"{n:.0f} B" if k == 0 else f"{n:.1f} {_UNITS[k]}"
