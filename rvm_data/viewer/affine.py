"""Read per-frame affine matrices back as the motion parameters people tune.

A 2×3 (or 3×3) matrix ``[A | t]`` mapping source pixels to output pixels is split as
``A = R(rotation) · [[sx, sy·tan(shear)], [0, sy]]`` (QR with a positive-diagonal upper factor), after
taking out a horizontal flip when ``det A < 0``. ``R`` turns counter-clockwise on screen (y down), as
rvm_data.augment.geometry.affine does, so its angle and x-shear read back unchanged. Translation is
reported as where the source centre lands relative to the output centre, so a rotation or zoom about
the centre reads as a pure rotation or zoom rather than as one plus a translation."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class AffineParams:
    """Per-frame arrays (length T): centre shift in pixels, scales, angles in degrees, flip as 0/1."""

    tx: np.ndarray
    ty: np.ndarray
    scale_x: np.ndarray
    scale_y: np.ndarray
    rotation: np.ndarray
    shear: np.ndarray
    flip: np.ndarray


def as_matrices(matrices: object) -> np.ndarray:
    """T×2×3 float64 from a T×2×3 or T×3×3 nested list/array; ValueError otherwise."""
    m = np.asarray(matrices, dtype=np.float64)
    if m.ndim != 3 or m.shape[1] not in (2, 3) or m.shape[2] != 3:
        raise ValueError(f"affine matrices must be T×2×3 or T×3×3, got shape {m.shape}")
    return m[:, :2, :]


def decompose(
    matrices: object, centre: tuple[float, float], out_centre: tuple[float, float] | None = None
) -> AffineParams:
    """Split each frame's matrix into :class:`AffineParams`; ``centre`` is the source centre (x, y) and
    ``out_centre`` the output's (default: the same)."""
    m = as_matrices(matrices)
    a = m[:, :, :2].copy()
    flip = np.linalg.det(a) < 0
    a[flip, :, 0] *= -1.0  # A = A' · diag(-1, 1) with det A' > 0
    rotation = np.arctan2(-a[:, 1, 0], a[:, 0, 0])
    sx = np.hypot(a[:, 0, 0], a[:, 1, 0])
    upper = (a[:, 0, 0] * a[:, 0, 1] + a[:, 1, 0] * a[:, 1, 1]) / sx
    sy = np.linalg.det(a) / sx
    c = np.asarray(centre, dtype=np.float64)
    oc = c if out_centre is None else np.asarray(out_centre, dtype=np.float64)
    shift = np.einsum("tij,j->ti", m[:, :, :2], c) + m[:, :, 2] - oc
    return AffineParams(
        tx=shift[:, 0],
        ty=shift[:, 1],
        scale_x=sx,
        scale_y=sy,
        rotation=np.degrees(rotation),
        shear=np.degrees(np.arctan2(upper, sy)),
        flip=flip.astype(np.float64),
    )


def compose(
    params: AffineParams, centre: tuple[float, float], out_centre: tuple[float, float] | None = None
) -> np.ndarray:
    """Inverse of :func:`decompose`: T×2×3 matrices from the parameters."""
    th, sh = np.radians(params.rotation), np.radians(params.shear)
    cos, sin = np.cos(th), np.sin(th)
    rot = np.stack([np.stack([cos, sin], -1), np.stack([-sin, cos], -1)], -2)
    upper = np.zeros_like(rot)
    upper[:, 0, 0] = params.scale_x
    upper[:, 0, 1] = params.scale_y * np.tan(sh)
    upper[:, 1, 1] = params.scale_y
    a = rot @ upper
    a[params.flip > 0.5, :, 0] *= -1.0
    c = np.asarray(centre, dtype=np.float64)
    oc = c if out_centre is None else np.asarray(out_centre, dtype=np.float64)
    shift = np.stack([params.tx, params.ty], -1)
    t = shift + oc - np.einsum("tij,j->ti", a, c)
    return np.concatenate([a, t[:, :, None]], axis=2)
