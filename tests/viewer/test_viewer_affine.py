import cv2
import numpy as np
import pytest

from rvm_data.viewer.affine import compose, decompose


def test_rotation_about_centre_reads_as_pure_rotation():
    m = cv2.getRotationMatrix2D((24.0, 16.0), 30.0, 1.5)  # OpenCV: counter-clockwise in image coords
    p = decompose(m[None], centre=(24.0, 16.0))
    assert p.tx[0] == pytest.approx(0, abs=1e-9) and p.ty[0] == pytest.approx(0, abs=1e-9)
    assert p.scale_x[0] == pytest.approx(1.5) and p.scale_y[0] == pytest.approx(1.5)
    assert abs(p.rotation[0]) == pytest.approx(30.0) and p.shear[0] == pytest.approx(0, abs=1e-9)
    assert p.flip[0] == 0


def test_round_trip_with_shear_flip_and_3x3():
    rng = np.random.default_rng(1)
    t = 6
    a = rng.normal(size=(t, 2, 2)) + 2 * np.eye(2)
    a[::2, :, 0] *= -1  # some flipped frames
    m = np.concatenate([a, rng.normal(scale=5, size=(t, 2, 1))], axis=2)
    p = decompose(m, centre=(10.0, 7.0))
    np.testing.assert_allclose(compose(p, centre=(10.0, 7.0)), m, atol=1e-9)
    m33 = np.concatenate([m, np.tile([[0.0, 0.0, 1.0]], (t, 1, 1))], axis=1)
    np.testing.assert_allclose(decompose(m33, centre=(10.0, 7.0)).shear, p.shear)
    assert set(p.flip.tolist()) == {0.0, 1.0}


def test_bad_shape():
    with pytest.raises(ValueError, match="T×2×3"):
        decompose(np.zeros((2, 2)), centre=(0, 0))
