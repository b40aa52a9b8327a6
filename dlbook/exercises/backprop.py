"""Exercise checks of chapter "Multilayer perceptrons and backpropagation"
(`chapters/backprop.ipynb`).

Each check compares an answer with the dlbook reference code; see `dlbook.exercises._core`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import dlbook.numpy as dnp
from dlbook.exercises._core import OK, check_close, unpack

__all__ = [
    "check_swish",
    "check_tanh_backward",
    "check_two_layer_backward",
    "check_value_sigmoid",
]


def check_tanh_backward(tanh_backward: Callable, *, seed: int = 0) -> None:
    """Compare tanh_backward(dout, cache) with `dnp.tanh_backward` (cache from dnp.tanh_forward)."""
    rng = np.random.default_rng(seed)
    shapes = [(5,), (4, 3), (2, 3, 4)]
    for shape in shapes:
        x, dout = rng.normal(scale=2.0, size=shape), rng.normal(size=shape)
        _, cache = dnp.tanh_forward(x)
        got = tanh_backward(dout.copy(), cache)
        check_close(f"dx for x of shape {shape}", got, dnp.tanh_backward(dout, cache))
    print(f"{OK} your tanh_backward agrees with dnp.tanh_backward on {len(shapes)} shapes")


def _two_layer_reference(dout, x, w1, b1, w2):
    z1, linear1 = dnp.linear_forward(x, w1, b1)
    h, relu = dnp.relu_forward(z1)
    _, linear2 = dnp.linear_forward(h, w2, np.zeros(w2.shape[1]))
    dh, dw2, db2 = dnp.linear_backward(dout, linear2)
    _, dw1, db1 = dnp.linear_backward(dnp.relu_backward(dh, relu), linear1)
    return dw1, db1, dw2, db2


def check_two_layer_backward(backward: Callable, *, seed: int = 0) -> None:
    """Compare backward(dout, x, w1, b1, w2) -> (dw1, db1, dw2, db2) of out = relu(x w1 + b1) w2
    + b2 with the chain rule through `dnp.linear_*` and `dnp.relu_*`."""
    rng = np.random.default_rng(seed)
    for n, d, h, m in [(5, 4, 3, 2), (8, 3, 6, 6), (1, 2, 4, 3)]:
        x, dout = rng.normal(size=(n, d)), rng.normal(size=(n, m))
        w1, b1, w2 = rng.normal(size=(d, h)), rng.normal(size=h), rng.normal(size=(h, m))
        got = unpack(
            "backward",
            backward(dout.copy(), x.copy(), w1.copy(), b1.copy(), w2.copy()),
            ("dw1", "db1", "dw2", "db2"),
        )
        want = _two_layer_reference(dout, x, w1, b1, w2)
        for name, g, e in zip(("dw1", "db1", "dw2", "db2"), got, want, strict=True):
            check_close(f"{name} (N={n}, D={d}, H={h}, M={m})", g, e)
    print(f"{OK} your backward pass agrees with the chain rule through dnp's layers")


def _swish_reference(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """swish(x) = x sigma(x) and its derivative sigma(x) + x sigma(x) (1 - sigma(x))."""
    s = dnp.sigmoid(x)
    return x * s, s + x * s * (1.0 - s)


def check_swish(forward: Callable, backward: Callable, *, seed: int = 0) -> None:
    """Check forward(x) -> (out, cache) and backward(dout, cache) -> dx of swish(x) = x sigma(x):
    the forward against the formula, the backward against a numerical gradient of the formula
    and against its derivative."""
    rng = np.random.default_rng(seed)
    shapes = [(6,), (3, 4), (2, 2, 3)]
    for shape in shapes:
        x, dout = rng.normal(scale=3.0, size=shape), rng.normal(size=shape)
        out, cache = forward(x.copy())
        want_out, want_grad = _swish_reference(x)
        check_close(f"swish(x) for x of shape {shape}", out, want_out)
        dx = np.asarray(backward(dout.copy(), cache), dtype=np.float64)
        numeric = dnp.numerical_gradient(lambda v: _swish_reference(v)[0], x.copy(), dout)
        if dx.shape != x.shape:
            raise AssertionError(f"dx must have the shape of x {x.shape}; got {dx.shape}")
        err = dnp.relative_error(dx, numeric)
        if err > 1e-6:
            raise AssertionError(
                f"gradient check failed for shape {shape}: relative error {err:.1e} between your "
                "dx and the numerical gradient (it should be below 1e-6)"
            )
        check_close(f"dx for x of shape {shape}", dx, dout * want_grad)
    print(f"{OK} your swish layer passes the gradient check on {len(shapes)} shapes")


def check_value_sigmoid(sigmoid: Callable) -> None:
    """Check sigmoid(v) for a `dnp.Value` v: its data is 1/(1 + e^-x) and, after backward(),
    v.grad is sigma(x) (1 - sigma(x)), so the result must be built from v's operations."""
    for x in (-3.0, -0.5, 0.0, 0.7, 4.0):
        v = dnp.Value(x)
        out = sigmoid(v)
        if not isinstance(out, dnp.Value):
            raise AssertionError(f"sigmoid must return a Value; got {type(out).__name__}")
        out.backward()
        s = float(dnp.sigmoid(np.array(x)))
        check_close(f"sigmoid(Value({x})).data", out.data, s)
        if v.grad == 0.0:
            raise AssertionError(
                f"v.grad is 0 for x = {x}: build the result from v with Value operations "
                "(v.exp(), +, /, ...), not from floats, so that backward() can reach v"
            )
        check_close(f"v.grad for x = {x}", v.grad, s * (1 - s))
    print(f"{OK} your Value sigmoid has the right values and gradients at 5 points")
