"""rvm-data's sample statistics against RVM's, on the same sources (the built-in sample set).

"RVM" here is an independent re-implementation of the *sampling distribution* of RVM's public
training code (``dataset/videomatte.py``: clip chunks, 50/50 image/video backgrounds, frame indices
read modulo the clip length; ``dataset/augmentation.py``: ``TrainFrameSampler``,
``MotionAugmentation`` with ``VideoMatteTrainAugmentation``'s probabilities, ``easing-functions``
curves, ``RandomAffine``/``RandomResizedCrop`` parameter ranges), written from its published
parameters and formulas; it is not RVM's code and draws with numpy. Its alpha is rendered with one
fused warp per frame, like rvm-data, so pixel statistics differ only by what is sampled.

Statistics: alpha coverage (mean alpha of rendered frames), framing (mean foreground
magnification, output pixels per source pixel, from the matrices), motion per frame (mean
|alpha_t - alpha_t-1|), hidden cuts (share of samples whose frame sequence jumps against its
direction or by more than its speed: index wrap-around, or RVM's pause overwriting frames), colour
drift (mean |brightness factor at the last frame - at the first| where colour jitter fired), easing
shares, and the speeds streams really played (after ``fit`` / wrap-around).

    python benchmarks/bench_rvm_stats.py [--planned 2000] [--rendered 100] [--size 256] [--frames 15]
"""

from __future__ import annotations

import argparse
import math
from collections import Counter

import cv2
import numpy as np

from rvm_data.augment import geometry
from rvm_data.augment.easing import RVM_CURVES, ease
from rvm_data.augment.temporal import played_speed
from rvm_data.compose import ComposeConfig, plan_sample, render_sample
from rvm_data.sources import build_catalog, load_matte
from rvm_data.sources.builtin import builtin_sources

SPEEDS = (0.5, 1.0, 2.0, 3.0, 4.0, 5.0)


# ---------------------------------------------------------------- RVM's distribution, re-implemented


def _rvm_sampler(rng: np.random.Generator, T: int) -> tuple[list[int], float]:
    """TrainFrameSampler: int(i * speed) + shift (shift uniform in 0..T-1), reversed half the time."""
    speed = SPEEDS[int(rng.integers(len(SPEEDS)))]
    shift = int(rng.integers(T))
    frames = [int(i * speed) + shift for i in range(T)]
    return (frames[::-1] if rng.random() < 0.5 else frames), speed


def _rvm_easing(rng: np.random.Generator) -> str:
    return "linear" if rng.random() < 0.2 else RVM_CURVES[int(rng.integers(len(RVM_CURVES)))]


def _rvm_affine_params(rng: np.random.Generator, hw: tuple[int, int], scale: tuple[float, float]) -> dict:
    """RandomAffine.get_params: degrees (-10, 10), translate 0.1 (whole pixels), scale, x shear (-5, 5)."""
    h, w = hw
    return {"angle": rng.uniform(-10, 10), "tx": round(rng.uniform(-0.1 * w, 0.1 * w)),
            "ty": round(rng.uniform(-0.1 * h, 0.1 * h)), "scale": rng.uniform(*scale), "shear": rng.uniform(-5, 5)}


def _affine(p: dict, hw: tuple[int, int]) -> np.ndarray:
    h, w = hw
    return geometry.affine(((w - 1) / 2, (h - 1) / 2), p["angle"], (p["tx"], p["ty"]), p["scale"], (p["shear"], 0.0))


def _rvm_motion(rng: np.random.Generator, hw: tuple[int, int], T: int) -> tuple[list[np.ndarray], str]:
    a, b = _rvm_affine_params(rng, hw, (0.9, 1.1)), _rvm_affine_params(rng, hw, (0.9, 1.1))
    easing = _rvm_easing(rng)
    w = ease(easing, np.arange(T) / max(T - 1, 1))
    return [_affine({k: a[k] + (b[k] - a[k]) * wt for k in a}, hw) for wt in w], easing


def rvm_sample(rng: np.random.Generator, catalog, T: int, size: tuple[int, int], train: bool) -> dict:
    """One sample of RVM's pipeline as indices, matrices and the draws the statistics need."""
    fgs = catalog.foregrounds
    chunks = [(c, f) for c, clip in enumerate(fgs) for f in range(0, clip.frames, T)]
    use_video = rng.random() >= 0.5  # image background when random() < 0.5
    out: dict = {"cut": False, "easings": [], "drift": [], "speeds": {}}
    if use_video:
        vids = catalog.background_videos
        v = int(rng.integers(len(vids)))
        n = vids[v].frames
        start = int(rng.integers(max(1, n - T)))
        if train:
            idx, speed = _rvm_sampler(rng, T)
        else:
            idx, speed = list(range(T)), 1.0
        bg = [(start + i) % n for i in idx]
        out["speeds"]["bgr"] = speed
        out["cut"] |= _has_cut(bg, speed)
    c, f0 = chunks[int(rng.integers(len(chunks)))]
    clip = fgs[c]
    if train:
        idx, speed = _rvm_sampler(rng, T)
    else:
        idx, speed = list(range(T)), 1.0
    fg = [(f0 + i) % clip.frames for i in idx]
    out["speeds"]["fgr"] = speed
    out["cut"] |= _has_cut(fg, speed)
    hw = (clip.height, clip.width)
    mats = [np.eye(3)] * T
    if train:
        if rng.random() < 0.3:
            ms, easing = _rvm_motion(rng, hw, T)
            mats = [m @ x for m, x in zip(ms, mats, strict=True)]
            out["easings"].append(easing)
        if rng.random() < 0.15:  # background-only move: does not touch the foreground
            out["easings"].append(_rvm_motion(rng, hw, T)[1])
        if rng.random() < 0.15:  # foreground and background together
            ms, easing = _rvm_motion(rng, hw, T)
            mats = [m @ x for m, x in zip(ms, mats, strict=True)]
            out["easings"].append(easing)
    static = _affine(_rvm_affine_params(rng, hw, (0.5, 1.0)), hw)
    out_h, out_w = size
    aspect = min(max((hw[1] / hw[0]) / (out_w / out_h), 0.9), 1.1)  # RandomResizedCrop(scale=(1, 1)) fallback
    x0, y0, ch, cw = geometry.center_crop(hw, aspect * out_w / out_h)
    fixed = geometry.resize((ch, cw), size, offset=(x0, y0)) @ static
    if train and rng.random() < 0.5:
        fixed = geometry.hflip(out_w) @ fixed
    mats = [fixed @ m for m in mats]
    if train:
        for _ in ("fgr", "bgr"):
            if rng.random() < 0.3:  # colour jitter: brightness 1 + lerp(A, B, easing * U(0, 0.2))
                easing = _rvm_easing(rng)
                ba, bb = rng.normal(0, 0.1, 2)
                strength = rng.random() * 0.2
                w = ease(easing, np.array([0.0, 1.0])) * strength
                first, last = (max(1 + ba + (bb - ba) * x, 0.1) for x in w)
                out["drift"].append(abs(last - first))
                out["easings"].append(easing)
        out["easings"] += [_rvm_easing(rng) for _ in range(sum(rng.random() < 0.02 / 3 for _ in range(3)))]
        if rng.random() < 0.03:  # pause: frames pf+1 .. pf+len-1 overwritten by pf, then time jumps on
            pf = int(rng.integers(T - 1))
            length = int(rng.integers(T - pf))
            if length >= 2:
                fg[pf + 1: pf + length] = [fg[pf]] * (length - 1)
                out["cut"] |= pf + length < T
    out.update(fg=fg, clip=c, mats=np.array([m[:2] for m in mats]))
    return out


def _has_cut(frames: list[int], speed: float) -> bool:
    """A step against the sequence's direction or longer than its speed allows."""
    steps = np.diff(frames)
    if len(steps) == 0:
        return False
    direction = np.sign(steps[np.abs(steps) > 0][0]) if np.any(steps) else 1
    return bool(np.any(steps * direction < 0) or np.any(np.abs(steps) > math.ceil(speed)))


def rvm_alpha(sample: dict, catalog, size: tuple[int, int]) -> np.ndarray:
    clip = catalog.foregrounds[sample["clip"]]
    distinct, which = np.unique(sample["fg"], return_inverse=True)
    _, pha = load_matte(clip, distinct)
    return np.stack([cv2.warpAffine(pha[k], m, (size[1], size[0]), flags=cv2.INTER_LINEAR, borderValue=0)
                     for k, m in zip(which, sample["mats"], strict=True)])


# ----------------------------------------------------------------------------------- statistics


def _scale(mats: np.ndarray) -> float:
    return float(np.sqrt(np.abs(np.linalg.det(np.asarray(mats)[:, :, :2]))).mean())


def _pixels(alphas: list[np.ndarray]) -> tuple[float, float]:
    cov = np.mean([a.mean() / 255 for a in alphas])
    motion = np.mean([np.abs(np.diff(a.astype(np.float32), axis=0)).mean() / 255 for a in alphas])
    return float(cov), float(motion)


def _speeds(values: list[float]) -> str:
    counts = Counter(round(v, 2) for v in values)
    return " ".join(f"{k:g}:{v / len(values):.0%}" for k, v in sorted(counts.items()))


def _shares(easings: list[str]) -> str:
    n = len(easings)
    linear = sum(e == "linear" for e in easings) / n
    over = sum(e.startswith(("back", "elastic")) for e in easings) / n
    step = sum(e == "step" for e in easings) / n
    return f"linear {linear:.1%}, back/elastic {over:.1%}, step {step:.1%}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--planned", type=int, default=2000)
    parser.add_argument("--rendered", type=int, default=100)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--frames", type=int, default=15)
    args = parser.parse_args()
    size, T = (args.size, args.size), args.frames
    catalog = build_catalog(builtin_sources("train"))
    cfg = ComposeConfig(size=size, frames=T)

    ours = [plan_sample(cfg, catalog, seed=0, split="train", index=i, augment=True) for i in range(args.planned)]
    ours_valid = [plan_sample(cfg, catalog, seed=0, split="valid", index=i, augment=False)
                  for i in range(args.planned)]
    rng = np.random.default_rng(0)
    theirs = [rvm_sample(rng, catalog, T, size, True) for _ in range(args.planned)]
    theirs_valid = [rvm_sample(rng, catalog, T, size, False) for _ in range(args.planned)]

    n = args.rendered
    our_px = _pixels([render_sample(s, catalog)["pha"][..., 0] for s in ours[:n]])
    our_vpx = _pixels([render_sample(s, catalog)["pha"][..., 0] for s in ours_valid[:n]])
    rvm_px = _pixels([rvm_alpha(s, catalog, size) for s in theirs[:n]])
    rvm_vpx = _pixels([rvm_alpha(s, catalog, size) for s in theirs_valid[:n]])

    def our_cut(s) -> bool:
        return any(_has_cut(st.source_frames, played_speed(st.temporal, st.source["frames"], s.clock[-1] + 1))
                   for st in (s.fgr, s.bgr) if st.temporal is not None)

    our_drift = [abs(m["values"]["brightness"][-1] - m["values"]["brightness"][0])
                 for s in ours for k, m in s.motion.items() if k.endswith("_color")]
    # RVM's noise has no easing (fixed per clip): compare the augmentations both ease
    our_easings = [m["easing"] for s in ours for k, m in s.motion.items() if k != "noise"]
    rvm_easings = [e for s in theirs for e in s["easings"]]
    our_speed = {name: [played_speed(getattr(s, name).temporal, getattr(s, name).source["frames"], s.clock[-1] + 1)
                        for s in ours if getattr(s, name).temporal is not None] for name in ("fgr", "bgr")}
    rvm_speed = {name: [s["speeds"][name] for s in theirs if name in s["speeds"]] for name in ("fgr", "bgr")}

    rows = [
        ("alpha coverage, train", f"{our_px[0]:.3f}", f"{rvm_px[0]:.3f}"),
        ("alpha coverage, valid", f"{our_vpx[0]:.3f}", f"{rvm_vpx[0]:.3f}"),
        ("foreground scale, train", f"{np.mean([_scale(s.fgr.matrices) for s in ours]):.3f}",
         f"{np.mean([_scale(s['mats']) for s in theirs]):.3f}"),
        ("foreground scale, valid", f"{np.mean([_scale(s.fgr.matrices) for s in ours_valid]):.3f}",
         f"{np.mean([_scale(s['mats']) for s in theirs_valid]):.3f}"),
        ("alpha motion per frame (mean abs change)", f"{our_px[1]:.4f}", f"{rvm_px[1]:.4f}"),
        ("samples with a hidden cut", f"{np.mean([our_cut(s) for s in ours]):.1%}",
         f"{np.mean([s['cut'] for s in theirs]):.1%}"),
        ("colour drift, first->last brightness", f"{np.mean(our_drift):.4f}",
         f"{np.mean([d for s in theirs for d in s['drift']]):.4f}"),
        ("easing shares", _shares(our_easings), _shares(rvm_easings)),
        ("fgr speeds played", _speeds(our_speed["fgr"]), _speeds(rvm_speed["fgr"])),
        ("bgr video speeds played", _speeds(our_speed["bgr"]), _speeds(rvm_speed["bgr"])),
    ]
    print(f"Built-in set (train sources), {size[0]}x{size[1]}, T={T}; {args.planned} planned samples per "
          f"pipeline, {n} rendered. RVM = independent re-implementation of its sampling distribution.\n")
    print("| statistic | rvm-data (defaults) | RVM (re-implemented) |")
    print("|---|---|---|")
    for name, a, b in rows:
        print(f"| {name} | {a} | {b} |")


if __name__ == "__main__":
    main()
