"""Matting metrics as RVM's evaluation reports them, on arrays, tensors, frame folders and shards.

Every metric takes a clip (T frames) and returns one value per frame, already multiplied by the
scale factor the matting literature prints with: alpha MAD and MSE x1e3, Grad and Conn /1e3,
dtSSD x1e2, foreground MAD and MSE x1e3 (on the pixels whose true alpha is above 0).
The definitions follow RVM's evaluation script so numbers are comparable with the paper:

- Grad: gradient magnitude from first-derivative-of-Gaussian filters (sigma 1.4, replicate
  border), sum of squared differences. RVM has two versions and the paper prints both: its
  ``evaluate_lr.py`` (the 512x288 tables) min-max normalises each frame first, its
  ``evaluate_hr.py`` (the 1920x1080 tables) does not. ``grad_normalise`` picks one: ``minmax``,
  ``none``, or ``auto`` (the default), which takes RVM's choice for the clip's resolution:
  ``none`` when the shorter side is at least :data:`GRAD_HR_SIDE` (1080) pixels, else ``minmax``.
- Conn: thresholds 0.1 .. 1.0; a pixel's level is the last threshold up to which it stays in the
  largest 4-connected component of ``true >= t & pred >= t``; only differences >= 0.15 count.
- dtSSD: root mean square of the difference of the temporal derivatives; the first frame of a clip
  has no predecessor and scores 0, as in RVM, so a clip's mean is over all of its frames.

A clip's value is the mean over its frames (frames without any true alpha > 0 have no foreground
score and are left out of the foreground means); the summary is the mean over clips.
"""

from __future__ import annotations

import csv
import math
from collections import deque
from collections.abc import Callable, Container, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from rvm_data.errors import RvmDataError
from rvm_data.shards.layout import MANIFEST_NAME, SHARD_SUFFIX, is_shard_file
from rvm_data.sources.imageio import is_image, natural_key

METRICS: tuple[str, ...] = ("pha_mad", "pha_mse", "pha_grad", "pha_conn", "pha_dtssd", "fgr_mad", "fgr_mse")
GRAD_NORMALISE: tuple[str, ...] = ("auto", "minmax", "none")
GRAD_HR_SIDE = 1080
"""Shorter side from which ``auto`` scores Grad as RVM's evaluate_hr.py (no normalisation)."""
GRAD_SOURCE = {"minmax": "each frame min-max normalised first, as RVM's evaluate_lr.py",
               "none": "frames not normalised, as RVM's evaluate_hr.py"}


class EvalError(RvmDataError, ValueError):
    """Predictions or ground truth that cannot be scored (shapes, clips that do not pair up, unreadable
    frames) or a metric setting out of range, naming the clip, file or setting."""


class EvalFileMissing(EvalError, FileNotFoundError):
    """A prediction or ground-truth folder or file that is not there."""


# ---------------------------------------------------------------- array plumbing


def _numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):  # torch tensor, without importing torch here (half/bfloat16 -> float32)
        x = x.detach()
        x = (x.float() if x.is_floating_point() else x).cpu().numpy()
    return np.asarray(x)


def to_unit(x: Any) -> np.ndarray:
    """Array or torch tensor -> float32 numpy in [0, 1] (uint8 /255, uint16 /65535, floats as they are)."""
    a = _numpy(x)
    if a.dtype == np.uint8:
        return a.astype(np.float32) / 255.0
    if a.dtype == np.uint16:
        return a.astype(np.float32) / 65535.0
    return a.astype(np.float32, copy=False)


def alpha_frames(x: Any) -> np.ndarray:
    """An alpha clip as T x H x W float32 in [0, 1].

    Accepts T x H x W, T x H x W x 1 (the Sample layout), T x 1 x H x W (the tensor layout) or a
    single H x W frame.
    """
    a = to_unit(x)
    if a.ndim == 2:
        a = a[None]
    elif a.ndim == 4 and a.shape[-1] == 1:
        a = a[..., 0]
    elif a.ndim == 4 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim != 3:
        raise EvalError(f"alpha must be T x H x W (x 1) or T x 1 x H x W, got shape {a.shape}")
    return np.ascontiguousarray(a)


def colour_frames(x: Any, unit: bool = True) -> np.ndarray:
    """A colour clip as T x H x W x 3 float32 in [0, 1] (``unit=False``: numpy, dtype kept);
    accepts T x 3 x H x W tensors too."""
    c = to_unit(x) if unit else _numpy(x)
    if c.ndim == 3:
        c = c[None]
    if c.ndim == 4 and c.shape[-1] != 3 and c.shape[1] == 3:
        c = np.moveaxis(c, 1, -1)
    if c.ndim != 4 or c.shape[-1] != 3:
        raise EvalError(f"foreground must be T x H x W x 3 or T x 3 x H x W, got shape {c.shape}")
    return np.ascontiguousarray(c)


def _check_same(pred: np.ndarray, true: np.ndarray, what: str) -> None:
    if pred.shape != true.shape:
        raise EvalError(f"{what}: prediction shape {pred.shape} differs from ground truth {true.shape}")


# ---------------------------------------------------------------- per-frame metrics


def pha_mad(pred: Any, true: Any) -> np.ndarray:
    """Mean absolute alpha difference per frame, x1e3."""
    p, t = alpha_frames(pred), alpha_frames(true)
    _check_same(p, t, "pha_mad")
    mad: np.ndarray = np.abs(p - t).mean(axis=(1, 2), dtype=np.float64) * 1e3
    return mad


def pha_mse(pred: Any, true: Any) -> np.ndarray:
    """Mean squared alpha difference per frame, x1e3."""
    p, t = alpha_frames(pred), alpha_frames(true)
    _check_same(p, t, "pha_mse")
    mse: np.ndarray = np.square(p - t).mean(axis=(1, 2), dtype=np.float64) * 1e3
    return mse


def gaussian_derivative_filters(sigma: float = 1.4, epsilon: float = 1e-2) -> tuple[np.ndarray, np.ndarray]:
    """The x and y first-derivative-of-Gaussian kernels of the Grad metric.

    The half width is where the Gaussian falls to ``epsilon``; the x kernel is Gaussian along y times
    the Gaussian's derivative along x, scaled to unit L2 norm; the y kernel is its transpose.
    """
    half = math.ceil(sigma * math.sqrt(-2.0 * math.log(math.sqrt(2.0 * math.pi) * sigma * epsilon)))
    r = np.arange(-half, half + 1, dtype=np.float64)
    g = np.exp(-(r**2) / (2.0 * sigma**2)) / (sigma * math.sqrt(2.0 * math.pi))
    dg = -r * g / sigma**2
    fx = np.outer(g, dg)
    fx /= np.sqrt(np.square(fx).sum())
    return fx, np.ascontiguousarray(fx.T)


def _minmax(frame: np.ndarray) -> np.ndarray:
    """Per-frame min-max normalisation to [0, 1]; a flat frame becomes 0 (as cv2.normalize does)."""
    lo, hi = float(frame.min()), float(frame.max())
    if hi - lo <= np.finfo(np.float64).eps:
        return np.zeros_like(frame)
    return ((frame - lo) * (1.0 / (hi - lo))).astype(np.float32)


def _gradient_magnitude(frame: np.ndarray, fx: np.ndarray, fy: np.ndarray) -> np.ndarray:
    gx = cv2.filter2D(frame, -1, fx, borderType=cv2.BORDER_REPLICATE)
    gy = cv2.filter2D(frame, -1, fy, borderType=cv2.BORDER_REPLICATE)
    return np.sqrt(gx * gx + gy * gy)


def grad_mode(height: int, width: int, grad_normalise: str = "auto") -> str:
    """``minmax`` or ``none``: what ``grad_normalise`` means for frames of this size (``auto``: RVM's
    choice, evaluate_hr.py's ``none`` from a 1080-pixel shorter side, evaluate_lr.py's ``minmax`` below)."""
    if grad_normalise not in GRAD_NORMALISE:
        raise EvalError(f"grad_normalise must be one of {', '.join(GRAD_NORMALISE)}, got {grad_normalise!r}")
    if grad_normalise != "auto":
        return grad_normalise
    return "none" if min(height, width) >= GRAD_HR_SIDE else "minmax"


def pha_grad(pred: Any, true: Any, sigma: float = 1.4, grad_normalise: str = "auto") -> np.ndarray:
    """Gradient error per frame, /1e3 (normalised per frame or not: see :func:`grad_mode`)."""
    p, t = alpha_frames(pred), alpha_frames(true)
    _check_same(p, t, "pha_grad")
    prepare = _minmax if grad_mode(p.shape[1], p.shape[2], grad_normalise) == "minmax" else (lambda frame: frame)
    fx, fy = gaussian_derivative_filters(sigma)
    out = np.empty(len(p))
    for i in range(len(p)):  # cv2 filters one 2-D frame at a time
        gp = _gradient_magnitude(prepare(p[i]), fx, fy)
        gt = _gradient_magnitude(prepare(t[i]), fx, fy)
        out[i] = np.square(gt - gp).sum(dtype=np.float64)
    return out / 1e3


def _largest_component(mask: np.ndarray) -> np.ndarray:
    """The largest 4-connected component of a boolean mask (empty mask -> all False)."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=4)
    if n <= 1:
        return np.zeros(mask.shape, dtype=bool)
    largest: np.ndarray = labels == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return largest


def _conn_frame(p: np.ndarray, t: np.ndarray, step: float) -> float:
    thresholds = np.arange(0, 1 + step, step)
    inside = np.stack([_largest_component((t >= th) & (p >= th)) for th in thresholds[1:]])
    leaves = ~inside
    first_out = leaves.argmax(axis=0)
    level = np.where(leaves.any(axis=0), thresholds[:-1][first_out], 1.0).astype(np.float32)
    dt, dp = t - level, p - level
    phi_t = 1 - dt * (dt >= 0.15)
    phi_p = 1 - dp * (dp >= 0.15)
    return float(np.abs(phi_t - phi_p).sum(dtype=np.float64))


def pha_conn(pred: Any, true: Any, step: float = 0.1) -> np.ndarray:
    """Connectivity error per frame, /1e3."""
    p, t = alpha_frames(pred), alpha_frames(true)
    _check_same(p, t, "pha_conn")
    return np.array([_conn_frame(p[i], t[i], step) for i in range(len(p))]) / 1e3


def pha_dtssd(pred: Any, true: Any) -> np.ndarray:
    """Temporal coherence error per frame, x1e2; frame 0 scores 0 (no predecessor)."""
    p, t = alpha_frames(pred), alpha_frames(true)
    _check_same(p, t, "pha_dtssd")
    d = np.diff(p, axis=0) - np.diff(t, axis=0)
    per = np.sqrt(np.square(d).mean(axis=(1, 2), dtype=np.float64))
    return np.concatenate([[0.0], per]) * 1e2


def fgr_errors(pred_fgr: Any, true_fgr: Any, true_pha: Any) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame foreground MAD and MSE over the pixels with true alpha > 0, x1e3 (NaN: no such pixel).

    uint8 inputs are compared as integers (exact, and no float copy of a 1080p clip)."""
    pf, tf = colour_frames(pred_fgr, unit=False), colour_frames(true_fgr, unit=False)
    _check_same(pf, tf, "foreground")
    mask = alpha_frames(true_pha) > 0
    if mask.shape != tf.shape[:3]:
        raise EvalError(f"foreground: alpha shape {mask.shape} does not match foreground {tf.shape}")
    exact = pf.dtype == tf.dtype == np.uint8
    if not exact:
        pf, tf = to_unit(pf), to_unit(tf)
    mad, mse = np.full(len(tf), np.nan), np.full(len(tf), np.nan)
    for t in range(len(tf)):  # gather the counted pixels of one frame (RVM's fgr[mask])
        m = mask[t]
        if m.any():
            d = pf[t][m].astype(np.int32) - tf[t][m] if exact else pf[t][m] - tf[t][m]
            mad[t] = np.abs(d).sum(dtype=np.float64) / d.size
            mse[t] = np.square(d).sum(dtype=np.float64) / d.size
    if exact:
        mad, mse = mad / 255.0, mse / 255.0**2
    return mad * 1e3, mse * 1e3


def fgr_mad(pred_fgr: Any, true_fgr: Any, true_pha: Any) -> np.ndarray:
    """Foreground mean absolute difference over pixels with true alpha > 0, x1e3 (NaN: no such pixel)."""
    return fgr_errors(pred_fgr, true_fgr, true_pha)[0]


def fgr_mse(pred_fgr: Any, true_fgr: Any, true_pha: Any) -> np.ndarray:
    """Foreground mean squared difference over pixels with true alpha > 0, x1e3 (NaN: no such pixel)."""
    return fgr_errors(pred_fgr, true_fgr, true_pha)[1]


_ALPHA_FUNCS: dict[str, Callable[[Any, Any], np.ndarray]] = {
    "pha_mad": pha_mad,
    "pha_mse": pha_mse,
    "pha_grad": pha_grad,
    "pha_conn": pha_conn,
    "pha_dtssd": pha_dtssd,
}


def check_metric_names(metrics: Iterable[str]) -> tuple[str, ...]:
    names = tuple(metrics)
    unknown = [m for m in names if m not in METRICS]
    if unknown:
        raise EvalError(f"unknown metric(s) {', '.join(unknown)}; choose from {', '.join(METRICS)}")
    return names


def frame_metrics(
    pred_pha: Any,
    true_pha: Any,
    pred_fgr: Any = None,
    true_fgr: Any = None,
    metrics: Sequence[str] = METRICS,
    grad_normalise: str = "auto",
) -> dict[str, np.ndarray]:
    """Per-frame values of the chosen metrics for one clip; foreground metrics only when both fgr are given."""
    names = check_metric_names(metrics)
    p, t = alpha_frames(pred_pha), alpha_frames(true_pha)
    out = {m: pha_grad(p, t, grad_normalise=grad_normalise) if m == "pha_grad" else _ALPHA_FUNCS[m](p, t)
           for m in names if m in _ALPHA_FUNCS}
    if pred_fgr is not None and true_fgr is not None and {"fgr_mad", "fgr_mse"} & set(names):
        mad, mse = fgr_errors(pred_fgr, true_fgr, t)
        out.update({m: v for m, v in (("fgr_mad", mad), ("fgr_mse", mse)) if m in names})
    return out


def _nanmean(values: np.ndarray) -> float:
    values = np.asarray(values, dtype=np.float64)
    finite = values[~np.isnan(values)]
    return float(finite.mean()) if finite.size else math.nan


def clip_metrics(
    pred_pha: Any,
    true_pha: Any,
    pred_fgr: Any = None,
    true_fgr: Any = None,
    metrics: Sequence[str] = METRICS,
    grad_normalise: str = "auto",
) -> dict[str, float]:
    """One clip's metrics: the mean over its frames of each per-frame value."""
    values = frame_metrics(pred_pha, true_pha, pred_fgr, true_fgr, metrics, grad_normalise)
    return {m: _nanmean(v) for m, v in values.items()}


def batch_metrics(
    pred_pha: Any,
    true_pha: Any,
    pred_fgr: Any = None,
    true_fgr: Any = None,
    metrics: Sequence[str] = METRICS,
    grad_normalise: str = "auto",
) -> dict[str, float]:
    """Mean over a batch of clips (B x T x C x H x W tensors or arrays), for the trainer's validation."""
    n = len(pred_pha)
    if len(true_pha) != n:
        raise EvalError(f"batch sizes differ: prediction {n}, ground truth {len(true_pha)}")
    per_clip = [
        clip_metrics(
            pred_pha[b],
            true_pha[b],
            None if pred_fgr is None else pred_fgr[b],
            None if true_fgr is None else true_fgr[b],
            metrics,
            grad_normalise,
        )
        for b in range(n)
    ]
    return summarise(per_clip)


def summarise(per_clip: Sequence[dict[str, float]]) -> dict[str, float]:
    """Mean over clips of each metric, ignoring clips where a metric is NaN."""
    names = list(dict.fromkeys(k for d in per_clip for k in d))
    return {m: _nanmean(np.array([d.get(m, math.nan) for d in per_clip])) for m in names}


# ---------------------------------------------------------------- clips on disk


@dataclass(frozen=True)
class Clip:
    """One clip to score: uint8 frames, and the frame names when they came from files."""

    name: str
    pha: np.ndarray  # T x H x W x 1 or T x H x W
    fgr: np.ndarray | None = None  # T x H x W x 3 RGB
    frames: tuple[str, ...] | None = None

    def select(self, frames: Sequence[str]) -> Clip:
        """The sub-clip of the named frames (a prediction may cover only some of the frames)."""
        index = {f: i for i, f in enumerate(self.frames or ())}
        idx = [index[f] for f in frames]
        return Clip(self.name, self.pha[idx], None if self.fgr is None else self.fgr[idx], tuple(frames))


def list_frames(folder: Path) -> list[Path]:
    """Image files of a frame folder in frame order (numeric names sorted as numbers)."""
    return sorted((p for p in folder.iterdir() if is_image(p.name)), key=lambda p: natural_key(p.name))


def read_image(path: Path, colour: bool) -> np.ndarray:
    """One frame as stored (uint8/uint16): H x W x 3 RGB when colour, else H x W."""
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise EvalError(f"cannot read image {path}")
    if colour:
        if img.ndim == 2:
            return cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
        return cv2.cvtColor(img, cv2.COLOR_BGRA2RGB if img.shape[2] == 4 else cv2.COLOR_BGR2RGB)
    if img.ndim == 3:
        img = img[..., 0] if img.shape[2] < 3 else cv2.cvtColor(np.ascontiguousarray(img[..., :3]), cv2.COLOR_BGR2GRAY)
    return img


def find_frame_clips(root: Path) -> dict[str, Path]:
    """Clip name -> folder, for every folder under ``root`` (root included) that has a ``pha/`` subfolder.

    Covers ``<root>/pha/`` (one clip, named after root), ``<root>/<clip>/pha/`` and deeper layouts such
    as RVM's ``<root>/<dataset>/<clip>/pha/`` (clip named ``dataset/clip``).
    """
    found = {}
    for pha in sorted(root.rglob("pha")):
        if pha.is_dir() and list_frames(pha):
            folder = pha.parent
            found[folder.name if folder == root else folder.relative_to(root).as_posix()] = folder
    return found


def read_frames(paths: Sequence[Path], colour: bool) -> np.ndarray:
    """The frames of one clip stacked; frames of another size or bit depth are an error naming them
    (stacking would fail unclearly, or rescale 8-bit frames as 16-bit ones)."""
    frames = [read_image(p, colour) for p in paths]
    for path, frame in zip(paths, frames, strict=True):
        if frame.shape != frames[0].shape or frame.dtype != frames[0].dtype:
            raise EvalError(f"{path}: {frame.shape} {frame.dtype}, but {paths[0].name} is {frames[0].shape} "
                             f"{frames[0].dtype} (a clip's frames must match)")
    return np.stack(frames)


def read_frame_folder(folder: Path, name: str) -> Clip:
    """A clip from ``folder/pha/*`` and, when that folder exists, ``folder/fgr/*`` (matched by file stem)."""
    pha_paths = list_frames(folder / "pha")
    pha = read_frames(pha_paths, colour=False)
    fgr = None
    if (folder / "fgr").is_dir():
        by_stem = {p.stem: p for p in list_frames(folder / "fgr")}
        missing = [p.stem for p in pha_paths if p.stem not in by_stem]
        if missing:
            raise EvalError(f"{folder / 'fgr'}: no foreground frame for {', '.join(missing[:3])}")
        fgr = read_frames([by_stem[p.stem] for p in pha_paths], colour=True)
    return Clip(name, pha, fgr, tuple(p.stem for p in pha_paths))


def is_shard_source(path: Path) -> bool:
    """A shard build folder (manifest.json), a split folder of ``.tar`` shards or one ``.tar``."""
    return is_shard_file(path) or (path / MANIFEST_NAME).is_file() or any(path.glob(f"*{SHARD_SUFFIX}"))


def iter_shard_clips(source: Path, split: str | None = None, only: Container[str] | None = None) -> Iterator[Clip]:
    """Matting samples of shards (or those named in ``only``), in shard order, as clips named
    ``<split>/<output>/<key>``."""
    from rvm_data.evalsets import iter_shard_samples  # only needed when scoring shards

    for name, fields in iter_shard_samples(source, split, ("pha", "fgr"), only):
        yield Clip(name, fields["pha"], fields.get("fgr"))


# ---------------------------------------------------------------- results


@dataclass
class ClipResult:
    name: str
    frames: int
    metrics: dict[str, float]
    grad: str | None = None  # how pha_grad was computed ("minmax" or "none"), None when it was not


@dataclass
class Evaluation:
    """Per-clip results and their mean, printable as a table and writable as CSV."""

    clips: list[ClipResult] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        present = {m for c in self.clips for m in c.metrics}
        return [m for m in METRICS if m in present]

    @property
    def mean(self) -> dict[str, float]:
        return summarise([c.metrics for c in self.clips])

    def rows(self) -> list[list[str]]:
        """Header, one row per clip, and the mean over clips."""
        names, mean = self.names, self.mean

        def fmt(v: float) -> str:
            return "nan" if math.isnan(v) else f"{v:.4f}"

        rows = [["clip", "frames", *names]]
        rows += [[c.name, str(c.frames), *(fmt(c.metrics.get(m, math.nan)) for m in names)] for c in self.clips]
        rows.append(["mean", str(sum(c.frames for c in self.clips)), *(fmt(mean.get(m, math.nan)) for m in names)])
        return rows

    def table(self) -> str:
        rows = self.rows()
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]

        def line(r: list[str]) -> str:
            cells = enumerate(zip(r, widths, strict=True))
            return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in cells)

        return "\n".join([line(rows[0]), "  ".join("-" * w for w in widths), *map(line, rows[1:]),
                          *self.notes()])

    def notes(self) -> list[str]:
        """What the numbers mean where RVM has two versions (Grad: normalised per frame or not)."""
        counts: dict[str, int] = {}
        for c in self.clips:
            if c.grad is not None:
                counts[c.grad] = counts.get(c.grad, 0) + 1
        return [f"pha_grad: {GRAD_SOURCE[mode]}" + (f" ({n} of {len(self.clips)} clips)" if len(counts) > 1 else "")
                for mode, n in sorted(counts.items())]

    def write_csv(self, path: str | Path) -> None:
        with open(path, "w", newline="") as f:
            csv.writer(f, lineterminator="\n").writerows(self.rows())


def score_clip(pred: Clip, true: Clip, metrics: Sequence[str] = METRICS, chunk: int = 16,
               grad_normalise: str = "auto") -> ClipResult:
    """Pair the frames (by name when the prediction's names are among the truth's, else in order) and
    score them ``chunk`` frames at a time, so a 100-frame 1080p clip never exists in float32 at once
    (each chunk repeats the frame before it, which dtSSD compares against)."""
    if pred.frames is not None and true.frames is not None and set(pred.frames) <= set(true.frames):
        true = true.select(pred.frames)
    if len(pred.pha) != len(true.pha):
        raise EvalError(f"clip {true.name}: {len(pred.pha)} predicted frames, {len(true.pha)} true frames")
    if pred.pha.shape[1:3] != true.pha.shape[1:3]:
        raise EvalError(f"clip {true.name}: prediction is {pred.pha.shape[1:3]}, ground truth {true.pha.shape[1:3]}")
    pred_fgr, true_fgr = (None, None) if pred.fgr is None or true.fgr is None else (pred.fgr, true.fgr)
    per_frame: dict[str, list[np.ndarray]] = {}
    for start in range(0, len(true.pha), chunk):
        lo, hi = max(start - 1, 0), min(start + chunk, len(true.pha))
        values = frame_metrics(pred.pha[lo:hi], true.pha[lo:hi], None if pred_fgr is None else pred_fgr[lo:hi],
                               None if true_fgr is None else true_fgr[lo:hi], metrics, grad_normalise)
        for name, v in values.items():
            per_frame.setdefault(name, []).append(v[start - lo:])
    grad = grad_mode(true.pha.shape[1], true.pha.shape[2], grad_normalise) if "pha_grad" in metrics else None
    return ClipResult(true.name, len(true.pha), {m: _nanmean(np.concatenate(v)) for m, v in per_frame.items()}, grad)


# ---------------------------------------------------------------- evaluate folders or shards

ClipPair = tuple[Callable[[], Clip], Callable[[], Clip]]


def match_clips(pred: Sequence[str], true: Sequence[str]) -> dict[str, str]:
    """Predicted clip name -> ground-truth clip name. Equal names match; else a name matches the one
    name on the other side that ends with it (either tree may be rooted a folder higher or lower);
    one clip on each side always matches, whatever the folder names."""
    if len(pred) == 1 and len(true) == 1:
        return {pred[0]: true[0]}
    exact = set(true)
    mapping, missing = {}, []
    for p in pred:
        found = [p] if p in exact else [t for t in true if t.endswith("/" + p) or p.endswith("/" + t)]
        if len(found) > 1:
            raise EvalError(f"predicted clip {p} matches several ground-truth clips ({', '.join(found[:3])})")
        if found:
            mapping[p] = found[0]
        else:
            missing.append(p)
    if missing:
        raise EvalError(f"no ground truth for predicted clip(s) {', '.join(missing[:5])}")
    return mapping


def _folder_loader(folders: dict[str, Path], key: str, name: str) -> Callable[[], Clip]:
    return lambda: read_frame_folder(folders[key], name)


def _loaded(clip: Clip) -> Callable[[], Clip]:
    """A loader for a clip already in memory (a shard clip, streamed in order)."""
    return lambda: clip


def _pairs(pred: Path, true: Path, split: str | None) -> Iterator[ClipPair]:
    """(pred loader, true loader) per matched clip; shards stream in their order, folders load on demand."""
    from rvm_data.evalsets import shard_clip_names

    pred_shards, true_shards = is_shard_source(pred), is_shard_source(true)
    pred_folders = {} if pred_shards else find_frame_clips(pred)
    true_folders = {} if true_shards else find_frame_clips(true)
    try:
        mapping = match_clips(shard_clip_names(pred, split) if pred_shards else list(pred_folders),
                              shard_clip_names(true, split) if true_shards else list(true_folders))
    except EvalError as err:
        raise EvalError(f"{true}: {err}") from None
    back = {t: p for p, t in mapping.items()}
    if true_shards:
        preds = iter_shard_clips(pred, split, only=set(mapping)) if pred_shards else None
        for t in iter_shard_clips(true, split, only=set(back)):
            if preds is None:
                p_load = _folder_loader(pred_folders, back[t.name], t.name)
            else:
                p = next(preds)
                if mapping[p.name] != t.name:
                    raise EvalError(
                        f"{pred}: clip {p.name} comes where {true} has {t.name}; list clips in the same order"
                    )
                p_load = _loaded(p)
            yield p_load, _loaded(t)
    elif pred_shards:
        for p in iter_shard_clips(pred, split, only=set(mapping)):
            yield _loaded(p), _folder_loader(true_folders, mapping[p.name], mapping[p.name])
    else:
        for p_name, t_name in mapping.items():
            yield _folder_loader(pred_folders, p_name, t_name), _folder_loader(true_folders, t_name, t_name)


def _ordered_map(fn: Callable[[ClipPair], ClipResult], items: Iterable[ClipPair], workers: int) -> Iterator[ClipResult]:
    """``map`` on a thread pool with at most ``2 * workers`` clips in memory, results in order."""
    if workers <= 1:
        yield from map(fn, items)
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:  # cv2 and numpy release the GIL
        pending: deque[Future[ClipResult]] = deque()
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def evaluate(
    pred: str | Path,
    true: str | Path,
    *,
    metrics: Sequence[str] = METRICS,
    split: str | None = None,
    workers: int = 1,
    grad_normalise: str = "auto",
    progress: bool = False,
) -> Evaluation:
    """Score every predicted clip against the ground-truth clip of the same name.

    ``pred`` and ``true`` are each a frame-folder tree (``pha/`` and optionally ``fgr/`` per clip) or
    shards; one clip on each side is matched whatever the folder names. Ground-truth clips without a
    prediction are skipped, predictions without ground truth are an error. Foreground metrics are
    computed when both sides have foregrounds. ``grad_normalise``: see :func:`grad_mode`; the table
    says which Grad each clip got. ``progress``: a bar per clip when stderr is a terminal.
    """
    names = check_metric_names(metrics)
    grad_mode(1, 1, grad_normalise)  # a bad choice fails before any clip is read
    pred, true = Path(pred), Path(true)
    for path in (pred, true):
        if not path.exists():
            raise EvalFileMissing(f"no such file or folder: {path}")
    from tqdm import tqdm

    scored = _ordered_map(lambda pair: score_clip(pair[0](), pair[1](), names, grad_normalise=grad_normalise),
                          _pairs(pred, true, split), workers)
    results = list(tqdm(scored, desc="evaluate", unit="clip", disable=None if progress else True))
    if not results:
        raise EvalError(f"{pred}: no clips to evaluate (expected <clip>/pha/*.png, pha/*.png or shards)")
    return Evaluation(results)
