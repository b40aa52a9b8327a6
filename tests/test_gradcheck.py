import numpy as np
import pytest

import dlbook.numpy as dnp


def test_numerical_gradient_of_a_known_function(rng):
    x = rng.normal(size=(3, 4))
    dout = rng.normal(size=(3, 4))
    # d/dx sum(dout * sin(x)) = dout * cos(x)
    grad = dnp.numerical_gradient(np.sin, x, dout)
    np.testing.assert_allclose(grad, dout * np.cos(x), rtol=1e-7, atol=1e-10)


def test_numerical_gradient_of_a_scalar_function_and_restores_x(rng):
    x = rng.normal(size=5)
    before = x.copy()
    grad = dnp.numerical_gradient(lambda v: np.sum(v**3), x)
    np.testing.assert_allclose(grad, 3 * before**2, rtol=1e-7)
    np.testing.assert_array_equal(x, before)


def test_numerical_gradient_matrix_product(rng):
    a, w = rng.normal(size=(4, 3)), rng.normal(size=(3, 2))
    dout = rng.normal(size=(4, 2))
    grad = dnp.numerical_gradient(lambda v: v @ w, a, dout)
    np.testing.assert_allclose(grad, dout @ w.T, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize(
    ("x", "kwargs", "match"),
    [
        (np.array([1, 2, 3]), {}, "floating-point"),
        (np.array([1.0, np.nan]), {}, "NaN"),
        (np.array([1.0, 2.0]), {"h": 0.0}, "h must be"),
    ],
)
def test_numerical_gradient_rejects_bad_input(x, kwargs, match):
    with pytest.raises(ValueError, match=match):
        dnp.numerical_gradient(np.sin, x, **kwargs)


def test_numerical_gradient_rejects_mismatched_dout():
    with pytest.raises(ValueError, match="dout"):
        dnp.numerical_gradient(np.sin, np.ones(3), np.ones(4))


def test_relative_error():
    a = np.array([1.0, 2.0, 0.0])
    assert dnp.relative_error(a, a) == 0.0
    assert dnp.relative_error(np.array([1.0]), np.array([1.0 + 1e-6])) == pytest.approx(
        5e-7, rel=1e-3
    )
    assert dnp.relative_error(np.array([1.0]), np.array([-1.0])) == 1.0
    with pytest.raises(ValueError, match="same shape"):
        dnp.relative_error(np.ones(2), np.ones(3))
