"""The fixed-order matrix algebra that replaced ``@`` and ``np.linalg`` on the plan and render path."""

from __future__ import annotations

import numpy as np
import pytest

from rvm_data.augment import geometry


def _affine_stack(rng: np.random.Generator, n: int) -> np.ndarray:
    m = np.tile(np.eye(3), (n, 1, 1))
    m[:, :2] = rng.normal(size=(n, 2, 3))
    return m


def test_matmul_is_the_product_for_every_shape_the_plan_uses():
    rng = np.random.default_rng(0)
    a, b, v = rng.normal(size=(3, 3)), _affine_stack(rng, 5), rng.normal(size=3)
    np.testing.assert_allclose(geometry.matmul(a, b), a @ b, rtol=0, atol=1e-14)
    np.testing.assert_allclose(geometry.matmul(b, v), b @ v, rtol=0, atol=1e-14)
    lin, centre = rng.normal(size=(5, 2, 2)), rng.normal(size=2)
    np.testing.assert_allclose(geometry.matmul(lin, centre), lin @ centre, rtol=0, atol=1e-14)
    frames, subs = b[:, None], _affine_stack(rng, 20).reshape(5, 4, 3, 3)
    np.testing.assert_allclose(geometry.matmul(frames, subs), frames @ subs, rtol=0, atol=1e-13)
    points = rng.normal(size=(3, 5))
    np.testing.assert_allclose(geometry.matmul(subs[..., :2, :], points), subs[..., :2, :] @ points, atol=1e-13)


def test_matmul_sums_in_index_order():
    """((a0 b0 + a1 b1) + a2 b2), each product rounded on its own: no fused or reordered sums."""
    a = np.array([[1e16, 1.0, -1e16]])
    b = np.array([[1.0], [1.0], [1.0]])
    assert geometry.matmul(a, b)[0, 0] == (1e16 + 1.0) - 1e16 == 0.0


def test_inverse_and_max_scale_match_linear_algebra():
    rng = np.random.default_rng(1)
    m = _affine_stack(rng, 50)
    np.testing.assert_allclose(geometry.matmul(geometry.inverse(m), m), np.tile(np.eye(3), (50, 1, 1)), atol=1e-9)
    for matrix in (m, np.diag([0.5, 0.5, 1.0])[None], np.diag([-2.0, 0.3, 1.0])[None]):
        singular = np.linalg.svd(matrix[:, :2, :2], compute_uv=False).max()
        assert geometry.max_scale(matrix) == pytest.approx(singular, rel=1e-12)
    with pytest.raises(np.linalg.LinAlgError, match="singular"):
        geometry.inverse(np.zeros((1, 3, 3)))
