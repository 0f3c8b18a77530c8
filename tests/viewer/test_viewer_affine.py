import cv2
import numpy as np
import pytest

from rvm_data.augment.geometry import affine
from rvm_data.viewer.affine import compose, decompose


def test_engine_affine_reads_back_its_parameters():
    m = np.stack([affine((24.0, 16.0), angle=a, translate=(3.0, -2.0), scale=s, shear=(sh, 0.0))
                  for a, s, sh in [(0.0, 1.0, 0.0), (30.0, 1.5, 0.0), (-12.0, 0.8, 7.0)]])
    p = decompose(m, centre=(24.0, 16.0))
    np.testing.assert_allclose(p.rotation, [0.0, 30.0, -12.0], atol=1e-9)
    np.testing.assert_allclose(p.scale_x, [1.0, 1.5, 0.8])
    np.testing.assert_allclose(p.scale_y, [1.0, 1.5, 0.8])
    np.testing.assert_allclose(p.shear, [0.0, 0.0, 7.0], atol=1e-9)
    np.testing.assert_allclose(p.tx, 3.0)
    np.testing.assert_allclose(p.ty, -2.0)
    np.testing.assert_array_equal(p.flip, 0)


def test_opencv_rotation_about_centre_is_pure_rotation():
    m = cv2.getRotationMatrix2D((24.0, 16.0), 30.0, 1.5)  # counter-clockwise on screen too
    p = decompose(m[None], centre=(24.0, 16.0))
    assert p.tx[0] == pytest.approx(0, abs=1e-9) and p.ty[0] == pytest.approx(0, abs=1e-9)
    assert p.rotation[0] == pytest.approx(30.0) and p.scale_x[0] == pytest.approx(1.5)


def test_round_trip_with_shear_flip_centres_and_3x3():
    rng = np.random.default_rng(1)
    t = 6
    a = rng.normal(size=(t, 2, 2)) + 2 * np.eye(2)
    a[::2, :, 0] *= -1  # some flipped frames
    m = np.concatenate([a, rng.normal(scale=5, size=(t, 2, 1))], axis=2)
    p = decompose(m, centre=(10.0, 7.0), out_centre=(3.0, 4.0))
    np.testing.assert_allclose(compose(p, centre=(10.0, 7.0), out_centre=(3.0, 4.0)), m, atol=1e-9)
    m33 = np.concatenate([m, np.tile([[0.0, 0.0, 1.0]], (t, 1, 1))], axis=1)
    np.testing.assert_allclose(decompose(m33, centre=(10.0, 7.0)).shear, p.shear)
    assert set(p.flip.tolist()) == {0.0, 1.0}


def test_bad_shape():
    with pytest.raises(ValueError, match="T×2×3"):
        decompose(np.zeros((2, 2)), centre=(0, 0))
