"""The C library's functions of plan arrays, element by element, shape kept."""

from __future__ import annotations

import math

import numpy as np

from rvm_data.augment.libm import elementwise


def test_elementwise_is_the_c_librarys_value_of_each_element_in_the_arrays_shape():
    x = np.linspace(-3.0, 3.0, 24).reshape(2, 3, 4)
    out = elementwise(math.exp2, x)
    assert out.shape == x.shape and out.dtype == np.float64
    assert [float(v) for v in out.ravel()] == [math.exp2(float(v)) for v in x.ravel()]
    assert elementwise(math.tan, 0.25).shape == () and float(elementwise(math.tan, 0.25)) == math.tan(0.25)
