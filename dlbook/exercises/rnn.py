"""Checks for the exercises of chapter "Recurrent networks" (`chapters/rnn.ipynb`).

Each check compares a learner's function with the reference in `dlbook.numpy.rnn` on random
inputs, raises `AssertionError` with a hint when it differs, and prints one line when it agrees.
Never imports torch.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import dlbook.numpy as dnp
from dlbook.exercises._core import OK, check_close

__all__ = ["check_gru_step", "check_lstm_param_count", "check_rnn_step_backward"]


def _triple(name: str, got: object) -> tuple[object, object, object]:
    if not isinstance(got, tuple | list) or len(got) != 3:
        raise AssertionError(f"{name} must return a tuple of three arrays (da, dh_prev, dw_hh)")
    return got[0], got[1], got[2]


def check_rnn_step_backward(backward: Callable, *, seed: int = 0) -> None:
    """backward(dh_next, h_prev, h_next, w_hh) -> (da, dh_prev, dw_hh) of h_next = tanh(a),
    a = a_x + h_prev @ w_hh.T, checked against `dnp.rnn_step_backward`."""
    rng = np.random.default_rng(seed)
    for n, h in ((1, 1), (3, 4), (5, 2)):
        a_x, h_prev, w_hh = (
            rng.normal(size=(n, h)),
            rng.normal(size=(n, h)),
            rng.normal(size=(h, h)),
        )
        h_next, cache = dnp.rnn_step_forward(a_x, h_prev, w_hh)
        dh_next = rng.normal(size=(n, h))
        want = dnp.rnn_step_backward(dh_next, cache)
        got = _triple("rnn step backward", backward(dh_next, h_prev, h_next, w_hh))
        hints = (
            "da = dL/da: multiply dh_next by tanh'(a) = 1 - h_next**2",
            "dh_prev = da @ w_hh (h_prev enters through h_prev @ w_hh.T)",
            "dw_hh = da.T @ h_prev, shape (H, H)",
        )
        for name, g, w, hint in zip(("da", "dh_prev", "dw_hh"), got, want, hints, strict=True):
            try:
                check_close(name, g, w, rtol=1e-8, atol=1e-10)
            except AssertionError as err:
                raise AssertionError(f"{err}. Hint: {hint}") from None
    print(f"{OK} rnn step backward matches dlbook.numpy.rnn_step_backward")


def _lstm_params(input_size: int, hidden_size: int, num_layers: int) -> int:
    """torch.nn.LSTM's count: per layer w_ih (4H, D_in), w_hh (4H, H), b_ih and b_hh (4H,)."""
    total = 0
    for layer in range(num_layers):
        d_in = input_size if layer == 0 else hidden_size
        total += 4 * hidden_size * (d_in + hidden_size) + 2 * 4 * hidden_size
    return total


def check_lstm_param_count(count: Callable) -> None:
    """count(input_size, hidden_size, num_layers) must equal torch.nn.LSTM's parameter count."""
    for d, h, layers in ((1, 1, 1), (10, 20, 1), (32, 128, 1), (65, 256, 2), (3, 7, 3)):
        got, want = count(d, h, layers), _lstm_params(d, h, layers)
        if got != want:
            raise AssertionError(
                f"lstm_param_count({d}, {h}, {layers}) = {got}, expected {want}. Hint: each "
                "layer has four gates, each with a weight on its input, a weight on h and "
                "torch's two bias vectors; layers above the first take h (size H) as input"
            )
    print(f"{OK} parameter counts match torch.nn.LSTM's")


def check_gru_step(step: Callable, *, seed: int = 0) -> None:
    """step(x, h_prev, w_ih, w_hh, b_ih, b_hh) -> h_next of one GRU step (torch's equations)."""
    rng = np.random.default_rng(seed)
    for n, d, h in ((1, 1, 1), (2, 3, 4), (4, 5, 2)):
        x, h_prev = rng.normal(size=(n, d)), rng.normal(size=(n, h))
        w_ih, w_hh = rng.normal(size=(3 * h, d)), rng.normal(size=(3 * h, h))
        b_ih, b_hh = rng.normal(size=3 * h), rng.normal(size=3 * h)
        want, _ = dnp.gru_forward(x[:, None], h_prev, w_ih, w_hh, b_ih, b_hh)
        got = step(x, h_prev, w_ih, w_hh, b_ih, b_hh)
        try:
            check_close("h_next", got, want[:, 0], rtol=1e-8, atol=1e-10)
        except AssertionError as err:
            raise AssertionError(
                f"{err}. Hint: gates in the order r, z, n; the reset gate multiplies "
                "(h_prev @ W_hn.T + b_hn), bias included; h_next = (1 - z) * n + z * h_prev"
            ) from None
    print(f"{OK} GRU step matches torch's GRU equations (dlbook.numpy.gru_forward)")
