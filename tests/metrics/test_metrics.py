"""Metric values on hand-computed cases and against slow loop implementations written here."""

from __future__ import annotations

import math
from collections import deque

import numpy as np
import pytest
import torch

from rvm_data import metrics as M


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


# ------------------------------------------------------------------ slow reference implementations


def slow_kernel(sigma: float = 1.4, eps: float = 1e-2) -> np.ndarray:
    half = math.ceil(sigma * math.sqrt(-2 * math.log(math.sqrt(2 * math.pi) * sigma * eps)))
    size = 2 * half + 1
    k = np.zeros((size, size))
    for i in range(size):
        for j in range(size):
            y, x = i - half, j - half
            gy = math.exp(-y * y / (2 * sigma**2)) / (sigma * math.sqrt(2 * math.pi))
            gx = math.exp(-x * x / (2 * sigma**2)) / (sigma * math.sqrt(2 * math.pi))
            k[i, j] = gy * (-x * gx / sigma**2)
    return k / math.sqrt((k**2).sum())


def slow_correlate(img: np.ndarray, k: np.ndarray) -> np.ndarray:
    h, w = img.shape
    r = k.shape[0] // 2
    out = np.zeros((h, w))
    for y in range(h):
        for x in range(w):
            s = 0.0
            for i in range(-r, r + 1):
                for j in range(-r, r + 1):
                    yy, xx = min(max(y + i, 0), h - 1), min(max(x + j, 0), w - 1)
                    s += k[i + r, j + r] * img[yy, xx]
            out[y, x] = s
    return out


def slow_grad(p: np.ndarray, t: np.ndarray, minmax: bool = True) -> float:
    kx = slow_kernel()
    total = 0.0
    for a, b in ((p, t),):
        mags = []
        for img in (a, b):
            if minmax:
                img = (img - img.min()) / (img.max() - img.min())
            gx, gy = slow_correlate(img, kx), slow_correlate(img, kx.T)
            mags.append(np.sqrt(gx**2 + gy**2))
        total += ((mags[0] - mags[1]) ** 2).sum()
    return total / 1e3


def slow_largest_component(mask: np.ndarray) -> np.ndarray:
    h, w = mask.shape
    seen = np.zeros_like(mask, dtype=bool)
    best: list[tuple[int, int]] = []
    for y0 in range(h):
        for x0 in range(w):
            if mask[y0, x0] and not seen[y0, x0]:
                comp, queue = [], deque([(y0, x0)])
                seen[y0, x0] = True
                while queue:
                    y, x = queue.popleft()
                    comp.append((y, x))
                    for yy, xx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
                        if 0 <= yy < h and 0 <= xx < w and mask[yy, xx] and not seen[yy, xx]:
                            seen[yy, xx] = True
                            queue.append((yy, xx))
                if len(comp) > len(best):
                    best = comp
    out = np.zeros_like(mask, dtype=bool)
    for y, x in best:
        out[y, x] = True
    return out


def slow_conn(p: np.ndarray, t: np.ndarray) -> float:
    h, w = t.shape
    level = np.full((h, w), -1.0)
    for i in range(1, 11):
        th = i / 10
        omega = slow_largest_component((t >= th) & (p >= th))
        for y in range(h):
            for x in range(w):
                if level[y, x] == -1 and not omega[y, x]:
                    level[y, x] = (i - 1) / 10
    level[level == -1] = 1.0
    total = 0.0
    for y in range(h):
        for x in range(w):
            dt, dp = t[y, x] - level[y, x], p[y, x] - level[y, x]
            total += abs((1 - dt * (dt >= 0.15)) - (1 - dp * (dp >= 0.15)))
    return total / 1e3


def slow_dtssd(p: np.ndarray, t: np.ndarray) -> list[float]:
    out = [0.0]
    for k in range(1, len(p)):
        s = 0.0
        for y in range(p.shape[1]):
            for x in range(p.shape[2]):
                s += ((p[k, y, x] - p[k - 1, y, x]) - (t[k, y, x] - t[k - 1, y, x])) ** 2
        out.append(math.sqrt(s / p[k].size) * 1e2)
    return out


def slow_fgr(pf: np.ndarray, tf: np.ndarray, ta: np.ndarray) -> tuple[float, float]:
    ad, sq, n = 0.0, 0.0, 0
    for y in range(ta.shape[0]):
        for x in range(ta.shape[1]):
            if ta[y, x] > 0:
                for c in range(3):
                    d = float(pf[y, x, c]) - float(tf[y, x, c])
                    ad, sq, n = ad + abs(d), sq + d * d, n + 1
    return ad / n * 1e3, sq / n * 1e3


# ------------------------------------------------------------------ hand-computed cases


def test_identical_inputs_score_zero() -> None:
    rng = _rng(1)
    pha = rng.integers(0, 256, (3, 24, 32, 1), dtype=np.uint8)
    fgr = rng.integers(0, 256, (3, 24, 32, 3), dtype=np.uint8)
    values = M.clip_metrics(pha, pha, fgr, fgr)
    assert set(values) == set(M.METRICS)
    assert all(v == 0 for v in values.values()), values


def test_constant_offset_gives_expected_mad_mse() -> None:
    true = _rng(2).uniform(0, 0.75, (2, 16, 16)).astype(np.float32)
    pred = true + np.float32(0.25)
    assert M.pha_mad(pred, true) == pytest.approx([250.0, 250.0], rel=1e-5)
    assert M.pha_mse(pred, true) == pytest.approx([62.5, 62.5], rel=1e-5)
    # a constant offset moves no edge and keeps every frame-to-frame change
    assert M.pha_grad(pred, true) == pytest.approx([0, 0], abs=1e-9)
    assert M.pha_dtssd(pred, true) == pytest.approx([0, 0], abs=1e-4)  # float32 rounding only


def test_shifted_frame_pair_gives_expected_dtssd() -> None:
    frame = np.zeros((8, 8), np.float32)
    frame[2:6, 2:4] = 1.0
    moved = np.roll(frame, 1, axis=1)  # 4 pixels leave, 4 arrive: 8 of 64 change by 1
    true = np.stack([frame, moved])
    pred = np.stack([frame, frame])  # the prediction does not move
    expected = math.sqrt(8 / 64) * 1e2
    assert M.pha_dtssd(pred, true) == pytest.approx([0.0, expected])
    assert M.clip_metrics(pred, true, metrics=["pha_dtssd"])["pha_dtssd"] == pytest.approx(expected / 2)


def test_fgr_counts_only_pixels_with_true_alpha() -> None:
    true_fgr = np.zeros((1, 4, 4, 3), np.float32)
    pred_fgr = np.full((1, 4, 4, 3), 0.5, np.float32)
    pha = np.zeros((1, 4, 4), np.float32)
    pha[0, 0, :2] = 0.1
    pred_fgr[0, 0, :2] = 0.2  # error 0.2 on the two counted pixels, 0.5 elsewhere (not counted)
    assert M.fgr_mad(pred_fgr, true_fgr, pha) == pytest.approx([200.0])
    assert M.fgr_mse(pred_fgr, true_fgr, pha) == pytest.approx([40.0])
    assert np.isnan(M.fgr_mad(pred_fgr, true_fgr, np.zeros_like(pha))[0])


def test_connectivity_of_identical_and_fully_wrong() -> None:
    true = np.ones((1, 6, 6), np.float32)
    assert M.pha_conn(true, true)[0] == 0.0
    # true 1 everywhere, pred 0: level 0 everywhere, true phi = 0, pred phi = 1 -> 36 / 1e3
    assert M.pha_conn(np.zeros_like(true), true)[0] == pytest.approx(0.036)


def test_gaussian_kernel_shape_and_norm() -> None:
    fx, fy = M.gaussian_derivative_filters(1.4)
    assert fx.shape == (9, 9) and np.allclose(fy, fx.T)
    assert np.sqrt((fx**2).sum()) == pytest.approx(1.0)
    np.testing.assert_allclose(fx, slow_kernel(), rtol=1e-12)


# ------------------------------------------------------------------ random inputs vs slow versions


@pytest.mark.parametrize("seed", [0, 1])
def test_random_inputs_match_slow_implementation(seed: int) -> None:
    rng = _rng(10 + seed)
    t, h, w = 3, 14, 17
    # smooth-ish blobs so that Conn has several components and levels
    true = (rng.random((t, h, w)) ** 2 * 255).round().astype(np.uint8)
    pred = np.clip(true.astype(int) + rng.integers(-60, 60, (t, h, w)), 0, 255).astype(np.uint8)
    true_f, pred_f = true / 255.0, pred / 255.0
    fg_t = rng.integers(0, 256, (t, h, w, 3), dtype=np.uint8)
    fg_p = rng.integers(0, 256, (t, h, w, 3), dtype=np.uint8)

    got = M.frame_metrics(pred[..., None], true[..., None], fg_p, fg_t)
    np.testing.assert_allclose(got["pha_mad"], [np.abs(pred_f[k] - true_f[k]).mean() * 1e3 for k in range(t)],
                               rtol=1e-5)
    np.testing.assert_allclose(got["pha_mse"], [((pred_f[k] - true_f[k]) ** 2).mean() * 1e3 for k in range(t)],
                               rtol=1e-5)
    np.testing.assert_allclose(got["pha_grad"], [slow_grad(pred_f[k], true_f[k]) for k in range(t)], rtol=1e-4)
    np.testing.assert_allclose(got["pha_conn"], [slow_conn(pred_f[k], true_f[k]) for k in range(t)],
                               rtol=1e-4, atol=1e-9)
    np.testing.assert_allclose(got["pha_dtssd"], slow_dtssd(pred_f, true_f), rtol=1e-5)
    slow = [slow_fgr(fg_p[k] / 255.0, fg_t[k] / 255.0, true_f[k]) for k in range(t)]
    np.testing.assert_allclose(got["fgr_mad"], [s[0] for s in slow], rtol=1e-5)
    np.testing.assert_allclose(got["fgr_mse"], [s[1] for s in slow], rtol=1e-5)


def test_tensor_layouts_match_arrays() -> None:
    rng = _rng(3)
    true = rng.integers(0, 256, (2, 2, 12, 12, 1), dtype=np.uint8)  # B x T x H x W x 1
    pred = rng.integers(0, 256, (2, 2, 12, 12, 1), dtype=np.uint8)
    fg_t = rng.integers(0, 256, (2, 2, 12, 12, 3), dtype=np.uint8)
    fg_p = rng.integers(0, 256, (2, 2, 12, 12, 3), dtype=np.uint8)
    as_tensor = lambda a: torch.from_numpy(a).permute(0, 1, 4, 2, 3).float() / 255  # noqa: E731  B x T x C x H x W
    from_arrays = M.batch_metrics(pred, true, fg_p, fg_t)
    from_tensors = M.batch_metrics(as_tensor(pred), as_tensor(true), as_tensor(fg_p), as_tensor(fg_t))
    assert from_arrays.keys() == from_tensors.keys() == set(M.METRICS)
    for name in M.METRICS:
        assert from_tensors[name] == pytest.approx(from_arrays[name], rel=1e-4, abs=1e-9)
    per_clip = [M.clip_metrics(pred[b], true[b], fg_p[b], fg_t[b]) for b in range(2)]
    assert from_arrays["pha_mad"] == pytest.approx((per_clip[0]["pha_mad"] + per_clip[1]["pha_mad"]) / 2)


def test_bad_shapes_and_names_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="differs from ground truth"):
        M.pha_mad(np.zeros((1, 4, 4)), np.zeros((1, 4, 5)))
    with pytest.raises(ValueError, match="unknown metric"):
        M.clip_metrics(np.zeros((1, 4, 4)), np.zeros((1, 4, 4)), metrics=["sad"])


def test_scoring_in_chunks_equals_scoring_whole_clips() -> None:
    rng = _rng(4)
    pha = [rng.integers(0, 256, (7, 12, 14, 1), dtype=np.uint8) for _ in range(2)]
    fgr = [rng.integers(0, 256, (7, 12, 14, 3), dtype=np.uint8) for _ in range(2)]
    whole = M.clip_metrics(pha[0], pha[1], fgr[0], fgr[1])
    for chunk in (1, 3, 7):
        got = M.score_clip(M.Clip("p", pha[0], fgr[0]), M.Clip("t", pha[1], fgr[1]), chunk=chunk).metrics
        for name in M.METRICS:
            assert got[name] == pytest.approx(whole[name], rel=1e-9), (chunk, name)


# ------------------------------------------------------------------ Grad: RVM's two versions


def test_grad_without_normalisation_matches_slow_implementation() -> None:
    rng = _rng(7)
    true = rng.uniform(0.2, 0.7, (2, 13, 11)).astype(np.float32)  # spans less than [0, 1]: the versions differ
    pred = np.clip(true + rng.uniform(-0.1, 0.1, true.shape), 0, 1).astype(np.float32)
    raw = M.pha_grad(pred, true, grad_normalise="none")
    np.testing.assert_allclose(raw, [slow_grad(pred[k], true[k], minmax=False) for k in range(2)], rtol=1e-4)
    normed = M.pha_grad(pred, true, grad_normalise="minmax")
    np.testing.assert_allclose(normed, [slow_grad(pred[k], true[k]) for k in range(2)], rtol=1e-4)
    assert not np.allclose(raw, normed, rtol=0.05)


@pytest.mark.parametrize(("size", "mode"), [((288, 512), "minmax"), ((1079, 1920), "minmax"),
                                            ((1080, 1920), "none"), ((1920, 1080), "none")])
def test_grad_auto_follows_rvm_by_resolution(size, mode) -> None:
    assert M.grad_mode(*size) == mode
    assert M.grad_mode(*size, "minmax") == "minmax" and M.grad_mode(*size, "none") == "none"


def test_grad_auto_on_a_1080p_clip_is_evaluate_hr_and_on_a_small_one_evaluate_lr() -> None:
    rng = _rng(8)
    for (h, w), expected in (((1080, 1080), "none"), ((36, 64), "minmax")):
        true = np.zeros((1, h, w), np.float32)
        true[0, h // 4: h // 2, w // 4: w // 2] = 0.6
        pred = np.clip(true + rng.uniform(0, 0.05, true.shape), 0, 1).astype(np.float32)
        np.testing.assert_array_equal(M.pha_grad(pred, true), M.pha_grad(pred, true, grad_normalise=expected))
    with pytest.raises(ValueError, match="grad_normalise"):
        M.pha_grad(pred, true, grad_normalise="hr")


def test_evaluation_table_says_which_grad(tmp_path) -> None:
    rng = _rng(9)
    pha = rng.integers(0, 256, (2, 12, 16, 1), dtype=np.uint8)
    clip = M.Clip("a", pha)
    table = M.Evaluation([M.score_clip(clip, clip)]).table()
    assert table.splitlines()[-1] == "pha_grad: " + M.GRAD_SOURCE["minmax"]
    mixed = M.Evaluation([M.score_clip(clip, clip), M.score_clip(clip, clip, grad_normalise="none")]).table()
    assert mixed.splitlines()[-2:] == ["pha_grad: " + M.GRAD_SOURCE["minmax"] + " (1 of 2 clips)",
                                       "pha_grad: " + M.GRAD_SOURCE["none"] + " (1 of 2 clips)"]
    without = M.Evaluation([M.score_clip(clip, clip, metrics=("pha_mad",))]).table()
    assert "pha_grad" not in without
