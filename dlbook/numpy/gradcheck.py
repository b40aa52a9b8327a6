"""Numerical gradients by central differences, and the relative error used to compare them.

Every backward pass in `dlbook.numpy` is tested against `numerical_gradient`, in float64.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["numerical_gradient", "relative_error"]


def numerical_gradient(
    f: Callable[[np.ndarray], np.ndarray | float],
    x: np.ndarray,
    dout: np.ndarray | float | None = None,
    *,
    h: float = 1e-6,
) -> np.ndarray:
    """Return d(sum(f(x) * dout))/dx by central differences, same shape as `x`.

    `f` maps an array shaped like `x` to an array (or a scalar); `dout` is the upstream gradient
    with the shape of f(x) (default: ones, i.e. the gradient of sum(f(x))). Each entry costs two
    calls of `f`, and the truncation error is O(h**2). `x` is restored before returning.
    """
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"x must be a floating-point array; got dtype {x.dtype}")
    if not np.all(np.isfinite(x)):
        raise ValueError("x contains NaN or inf; expected finite numbers")
    if not (np.isfinite(h) and h > 0):
        raise ValueError(f"h must be a finite number > 0; got {h!r}")
    grad = np.zeros_like(x, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        original = x[i]
        x[i] = original + h
        plus = np.asarray(f(x), dtype=np.float64)
        x[i] = original - h
        minus = np.asarray(f(x), dtype=np.float64)
        x[i] = original
        upstream = np.ones_like(plus) if dout is None else np.asarray(dout, dtype=np.float64)
        if upstream.shape != plus.shape:
            raise ValueError(
                f"dout must have the shape of f(x), {plus.shape}; got {upstream.shape}"
            )
        # dL/dx_i = sum_k dout_k * (f_k(x + h e_i) - f_k(x - h e_i)) / (2h)
        grad[i] = np.sum(upstream * (plus - minus)) / (2 * h)
    return grad


def relative_error(a: np.ndarray, b: np.ndarray, *, eps: float = 1e-12) -> float:
    """max |a - b| / max(|a| + |b|, eps), elementwise; 0 for identical arrays.

    Values below about 1e-7 mean an analytic and a numerical gradient agree in float64.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape; got {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), eps)))
