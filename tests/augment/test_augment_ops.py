import cv2
import numpy as np
import pytest

from rvm_data.augment import geometry, ops


def rgb(n=2, h=12, w=10, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, h, w, 3), dtype=np.uint8)


def colors(**values):
    base = {"brightness": [1.0, 1.0], "contrast": [1.0, 1.0], "saturation": [1.0, 1.0], "hue": [0.0, 0.0]}
    return {**base, **values}


def test_neutral_color_is_identity():
    stack = rgb()
    before = stack.copy()
    ops.apply_color(stack, ops.color_matrices(2, colors(), False, ops.frame_means(stack)))
    np.testing.assert_array_equal(stack, before)


def test_brightness_contrast_saturation_match_definitions():
    stack = rgb().astype(np.float64)
    m = ops.frame_means(stack.astype(np.uint8))
    mats = ops.color_matrices(2, colors(brightness=[1.2, 0.8], contrast=[0.7, 1.1], saturation=[0.5, 1.5]), False, m)
    gray = stack @ ops.LUMA
    for t, (b, c, s) in enumerate([(1.2, 0.7, 0.5), (0.8, 1.1, 1.5)]):
        x = b * stack[t]
        x = c * x + (1 - c) * b * m[t]
        g = c * b * gray[t] + (1 - c) * b * m[t]
        x = s * x + (1 - s) * g[..., None]
        np.testing.assert_allclose(stack[t] @ mats[t, :, :3].T + mats[t, :, 3], x, atol=1e-9)


def test_hue_rotation_keeps_grays_and_cycles_channels():
    np.testing.assert_allclose(ops.hue_rotation(0.3) @ np.ones(3), np.ones(3), atol=1e-12)
    np.testing.assert_allclose(ops.hue_rotation(1 / 3) @ np.array([1.0, 0, 0]), [0, 1.0, 0], atol=1e-12)  # red -> green
    np.testing.assert_allclose(ops.hue_rotation(0.0), np.eye(3), atol=1e-12)


def test_grayscale_gives_equal_channels():
    stack = rgb()
    ops.apply_color(stack, ops.color_matrices(2, None, True, None))
    assert np.abs(stack.astype(int) - stack[..., :1]).max() <= 1


def test_frame_means_inside_alpha():
    stack = np.zeros((1, 4, 4, 3), np.uint8)
    stack[0, :2] = 200
    alpha = np.zeros((1, 4, 4, 1), np.uint8)
    alpha[0, :2] = 255
    assert ops.frame_means(stack, alpha)[0] == pytest.approx(200 * ops.LUMA.sum())
    assert ops.frame_means(stack)[0] == pytest.approx(100 * ops.LUMA.sum())


def test_warp_frame_warps_color_and_alpha_on_one_grid():
    color = rgb(1, 20, 24)[0]
    packed = np.concatenate([color, color[..., :1]], axis=2)
    mats = np.stack([geometry.affine((11.5, 9.5), angle=7 * t, scale=0.9)[:2] for t in (0, 1, 1, 2, 3)])
    out_c = np.zeros((5, 16, 16, 3), np.uint8)
    out_a = np.zeros((5, 16, 16, 1), np.uint8)
    ops.warp_frame(packed, np.array([1, 2, 4]), mats, out_c, out_a, interpolation="linear", border="constant")
    np.testing.assert_array_equal(out_c[..., 0], out_a[..., 0])
    np.testing.assert_array_equal(out_c[1], out_c[2])  # the same matrix: copied
    ref = cv2.warpAffine(color, mats[4], (16, 16), flags=cv2.INTER_LINEAR)
    np.testing.assert_array_equal(out_c[4], ref)
    assert not out_c[[0, 3]].any() and not out_a[[0, 3]].any()  # frames not listed are left alone


def test_identity_resize_matrix_is_identity():
    np.testing.assert_allclose(geometry.resize((10, 20), (10, 20)), np.eye(3))
    m = geometry.resize((10, 20), (20, 40))
    # pixel edges map to pixel edges: source edge -0.5 -> output edge -0.5, 19.5 -> 39.5
    np.testing.assert_allclose(m @ [-0.5, -0.5, 1], [-0.5, -0.5, 1])
    np.testing.assert_allclose(m @ [19.5, 9.5, 1], [39.5, 19.5, 1])


def test_center_crop_aspect():
    x0, y0, h, w = geometry.center_crop((100, 200), 1.0)
    assert (x0, y0, h, w) == (50.0, 0.0, 100.0, 100.0)
    x0, y0, h, w = geometry.center_crop((100, 200), 4.0)
    assert w / h == pytest.approx(4.0) and w == 200


def test_blur_kernels():
    stack = np.zeros((2, 31, 31, 3), np.uint8)
    stack[:, 15, 15] = 255
    full, rvm = stack.copy(), stack.copy()
    ops.blur(full, [0.0, 4.0], "full")
    ops.blur(rvm, [0.0, 4.0], "rvm")
    np.testing.assert_array_equal(full[0], stack[0])  # sigma 0: untouched
    assert np.count_nonzero(full[1, 15, :, 0]) > np.count_nonzero(rvm[1, 15, :, 0]) >= 9  # rvm: 9 taps


def test_noise_freezes_on_pause_and_is_seeded():
    a, b = np.full((4, 8, 8, 3), 128, np.uint8), np.full((4, 8, 8, 3), 128, np.uint8)
    ops.add_noise([a], [0, 1, 1, 2], [1.0] * 4, [0.1] * 4, False, seed=3)
    ops.add_noise([b], [0, 1, 1, 2], [1.0] * 4, [0.1] * 4, False, seed=3)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a[1], a[2])
    assert not np.array_equal(a[0], a[1])


def test_blur_of_an_impulse_is_the_outer_product_of_pils_taps():
    taps = ops.gaussian_taps(1.5, 8)  # made odd: 9 taps
    x = np.arange(-4, 5)
    assert np.allclose(taps, np.exp(-x**2 / (2 * 1.5**2)) / np.exp(-x**2 / (2 * 1.5**2)).sum())
    stack = np.zeros((1, 21, 21, 1), np.uint8)
    stack[0, 10, 10, 0] = 255
    ops.blur(stack, [1.5], "full")  # int(1.5 * 3.5) * 2 + 1 = 11 taps
    wide = ops.gaussian_taps(1.5, 11)
    expected = np.zeros((21, 21))
    expected[5:16, 5:16] = np.outer(wide, wide) * 255
    assert np.abs(stack[0, ..., 0].astype(float) - expected).max() <= 1.0
