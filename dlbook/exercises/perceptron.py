"""Exercise checks of chapter "From neurons to the perceptron" (`chapters/perceptron.ipynb`).

Each check compares an answer with the dlbook reference code; see `dlbook.exercises._core`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import product

import numpy as np

import dlbook.numpy as dnp
from dlbook.exercises._core import OK, check_close, unpack

__all__ = [
    "check_mp_gate",
    "check_novikoff_bound",
    "check_perceptron_update",
    "check_xnor_network",
]


def _binary_inputs(d: int) -> np.ndarray:
    return np.array(list(product((0, 1), repeat=d)), dtype=np.float64)


def _check_truth_table(name: str, got: object, expected: np.ndarray, inputs: np.ndarray) -> None:
    got = np.asarray(got).reshape(-1)
    if got.shape != expected.shape:
        raise AssertionError(f"{name}: expected {expected.shape[0]} outputs, got shape {got.shape}")
    for x, g, e in zip(inputs, got, expected, strict=True):
        if g != e:
            raise AssertionError(
                f"{name}: wrong output for input {x.astype(int).tolist()}: got {g}, expected {e}"
            )


def check_mp_gate(gate: Callable[[np.ndarray], np.ndarray], truth: Sequence[int]) -> None:
    """Check a McCulloch–Pitts gate against its truth table.

    `gate` maps binary inputs (N, D) to outputs (N,); `truth` lists the wanted outputs for the
    inputs in binary counting order (00, 01, 10, 11 for D = 2).
    """
    expected = np.asarray(truth, dtype=np.int64)
    d = int(np.log2(expected.size))
    if 2**d != expected.size:
        raise ValueError(f"truth must have 2**D entries; got {expected.size}")
    inputs = _binary_inputs(d)
    _check_truth_table(getattr(gate, "__name__", "gate"), gate(inputs), expected, inputs)
    print(f"{OK} {getattr(gate, '__name__', 'gate')} matches its truth table {list(truth)}")


def check_perceptron_update(update: Callable, *, seed: int = 0) -> None:
    """Compare update(w, b, x, y, lr) -> (w, b, updated) with `dnp.perceptron_update`."""
    rng = np.random.default_rng(seed)
    cases = [(np.zeros(3), 0.0, np.array([1.0, -2.0, 0.5]), 1, 1.0)]  # on the boundary: update
    for _ in range(20):
        d = int(rng.integers(1, 5))
        cases.append(
            (
                rng.normal(size=d),
                float(rng.normal()),
                rng.normal(size=d),
                int(rng.choice([-1, 1])),
                float(rng.uniform(0.1, 2)),
            )
        )
    for w, b, x, y, lr in cases:
        want = dnp.perceptron_update(w, b, x, y, lr)
        got = unpack("update", update(w.copy(), b, x.copy(), y, lr), ("new_w", "new_b", "updated"))
        case = (
            f"w={np.round(w, 3).tolist()}, b={b:.3f}, x={np.round(x, 3).tolist()}, "
            f"y={y}, lr={lr:.3f}"
        )
        if bool(got[2]) != want[2]:
            raise AssertionError(f"updated should be {want[2]} for {case}")
        check_close(f"new_w for {case}", got[0], want[0])
        check_close(f"new_b for {case}", got[1], want[1])
    print(f"{OK} your update agrees with Rosenblatt's rule on {len(cases)} cases")


def check_novikoff_bound(bound: Callable, *, seed: int = 0) -> None:
    """Compare bound(X, y, w, b) with `dnp.novikoff_bound` on random separable data sets."""
    rng = np.random.default_rng(seed)
    for trial in range(10):
        n, d = int(rng.integers(5, 30)), int(rng.integers(1, 4))
        X = rng.normal(size=(n, d)) * rng.uniform(0.5, 3)
        w, b = rng.normal(size=d), float(rng.normal())
        score = X @ w + b
        keep = np.abs(score) > 0.1
        X, y = X[keep], np.where(score[keep] > 0, 1, -1)
        check_close(
            f"bound on data set {trial} ({len(X)} points)",
            bound(X, y, w, b),
            dnp.novikoff_bound(X, y, w, b),
        )
    print(f"{OK} your bound equals (R / gamma)**2 on 10 random separable data sets")


def check_xnor_network(W1: object, b1: object, w2: object, b2: object) -> None:
    """Check that the threshold network (W1, b1, w2, b2) computes XNOR of two inputs."""
    inputs = _binary_inputs(2)
    expected = np.array([1, 0, 0, 1])
    try:
        got = dnp.threshold_network(inputs, W1, b1, w2, b2)
    except ValueError as err:
        raise AssertionError(f"the weights do not fit a 2-input network: {err}") from None
    _check_truth_table("XNOR network", got, expected, inputs)
    print(f"{OK} your network computes XNOR: {got.tolist()} for inputs 00, 01, 10, 11")
