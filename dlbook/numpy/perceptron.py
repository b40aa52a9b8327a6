"""McCulloch–Pitts units and Rosenblatt's perceptron, in NumPy.

Book: chapter "From neurons to the perceptron" (`chapters/perceptron.ipynb`).
Labels are ±1 throughout; functions that accept labels also take 0/1 and map 0 to -1.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from dlbook.checks import (
    as_float_array,
    as_index_array,
    check_positive,
    check_rng,
    shapes,
)

__all__ = [
    "PerceptronFit",
    "as_pm1_labels",
    "geometric_margin",
    "mcculloch_pitts",
    "novikoff_bound",
    "perceptron_predict",
    "perceptron_train",
    "perceptron_update",
    "threshold_network",
]


def as_pm1_labels(name: str, y: object) -> np.ndarray:
    """Return the labels `y` (any shape) as floats in {-1, +1}; 0/1 labels map to -1/+1.

    Raises `ValueError` naming `name` for any other value, a mix of the two conventions
    included, and for NaN or inf. A float32 array stays float32.
    """
    arr = as_float_array(name, y, allow_empty=True)
    values = set(np.unique(arr).tolist())
    if values <= {-1.0, 1.0}:
        return arr
    if values <= {0.0, 1.0}:
        return 2 * arr - 1
    raise ValueError(f"{name} must hold labels -1/+1 (or 0/1); got values {sorted(values)[:5]}")


@shapes(x="binary: N D", threshold="int >= 0")
def mcculloch_pitts(x: np.ndarray, threshold: int, *, inhibitory: object = ()) -> np.ndarray:
    """The 1943 McCulloch–Pitts unit: fire (1) iff no inhibitory input is active and at least
    `threshold` excitatory inputs are active, else 0.

    x is (N, D) with entries 0/1; `inhibitory` lists the indices of the inhibitory inputs (the
    rest are excitatory). Inhibition is absolute, as in the original model: one active
    inhibitory input silences the unit. There are no learned weights.
    """
    inhib = np.zeros(x.shape[1], dtype=bool)
    inhib[as_index_array("inhibitory", inhibitory, high=x.shape[1])] = True
    excited = x[:, ~inhib].sum(axis=1) >= threshold
    vetoed = x[:, inhib].any(axis=1)
    return (excited & ~vetoed).astype(np.int64)


@shapes(X="N D", w="D", b="")
def perceptron_predict(X: np.ndarray, w: np.ndarray, b: float) -> np.ndarray:
    """Predicted labels sign(X @ w + b) in {-1, +1} for X (N, D), w (D,); 0 counts as -1."""
    return np.where(X @ w + b > 0, 1, -1)


@shapes(x="D", w="D", b="", lr="> 0")
def perceptron_update(
    w: np.ndarray, b: float, x: np.ndarray, y: int, lr: float = 1.0
) -> tuple[np.ndarray, float, bool]:
    """One step of Rosenblatt's rule on a single example x (D,) with label y = ±1.

    Returns (new_w, new_b, updated). A point on the boundary (y * score == 0) counts as a
    mistake, so learning can start from w = 0.
    """
    y = as_pm1_labels("y", y)
    if y * (w @ x + b) <= 0:
        # Move the boundary toward classifying x correctly: w += lr * y * x, b += lr * y.
        return w + lr * y * x, float(b + lr * y), True
    return w.copy(), float(b), False


class PerceptronFit(NamedTuple):
    """What `perceptron_train` returns.

    w (D,), b: the final weights and bias. mistakes (epochs_run,): mistakes made in each pass.
    trajectory (updates + 1, D + 1): the weights [w, b] after every update, starting at w0, b0.
    converged: whether the last pass made no mistake.
    """

    w: np.ndarray
    b: float
    mistakes: np.ndarray
    trajectory: np.ndarray
    converged: bool


@shapes(X="N D", y="N", w0="optional: D", b0="", lr="> 0", epochs="int", shuffle="bool")
def perceptron_train(
    X: np.ndarray,
    y: np.ndarray,
    *,
    lr: float = 1.0,
    epochs: int = 100,
    shuffle: bool = False,
    rng: np.random.Generator | None = None,
    w0: np.ndarray | None = None,
    b0: float = 0.0,
) -> PerceptronFit:
    """Train a perceptron on X (N, D), y (N,) in ±1 (or 0/1) with Rosenblatt's rule.

    Visits the examples in order (or in a fresh `rng` permutation each pass when `shuffle`)
    and stops after the first pass with no mistake, or after `epochs` passes.
    """
    y, rng = as_pm1_labels("y", y), (check_rng(rng) if shuffle else None)
    w, b = (np.zeros(X.shape[1], X.dtype) if w0 is None else w0), float(b0)
    trajectory, mistakes = [np.append(w, b)], []
    for _ in range(epochs):
        order = rng.permutation(len(X)) if shuffle else range(len(X))
        count = 0
        for i in order:
            if y[i] * (X[i] @ w + b) <= 0:  # a mistake, or a point on the boundary
                w, b = w + lr * y[i] * X[i], b + lr * y[i]
                count += 1
                trajectory.append(np.append(w, b))
        mistakes.append(count)
        if count == 0:
            break
    return PerceptronFit(w, b, np.array(mistakes), np.array(trajectory), mistakes[-1] == 0)


@shapes(X="N D", y="N", w="D", b="")
def geometric_margin(X: np.ndarray, y: np.ndarray, w: np.ndarray, b: float = 0.0) -> float:
    """min_i y_i (w·x_i + b) / ||(w, b)||: the margin of the augmented separator (w, b).

    Positive iff (w, b) separates the data. Measured in the augmented space x~ = (x, 1), the
    space in which the perceptron with a bias is a perceptron without one.
    """
    y, norm = as_pm1_labels("y", y), check_positive("the norm of (w, b)", np.sqrt(w @ w + b * b))
    return float(np.min(y * (X @ w + b)) / norm)


def novikoff_bound(X: np.ndarray, y: np.ndarray, w: np.ndarray, b: float = 0.0) -> float:
    """Novikoff's bound (R / gamma)**2 on the perceptron's number of mistakes.

    R = max ||(x_i, 1)|| and gamma = geometric_margin(X, y, w, b) of a separator (w, b). Any
    run of the perceptron from zero weights, in any order, with any lr > 0, makes at most this
    many updates. Raises ValueError if (w, b) does not separate the data.
    """
    gamma = geometric_margin(X, y, w, b)  # checks X, y, w and b
    if gamma <= 0:
        raise ValueError(f"(w, b) does not separate the data: its margin is {gamma:.3g} <= 0")
    radius = np.sqrt(np.max(np.sum(np.square(X), axis=1) + 1.0))
    return float((radius / gamma) ** 2)


@shapes(X="N D", W1="D H", b1="H", w2="H", b2="")
def threshold_network(
    X: np.ndarray, W1: np.ndarray, b1: np.ndarray, w2: np.ndarray, b2: float
) -> np.ndarray:
    """A two-layer network of threshold units: step(step(X @ W1 + b1) @ w2 + b2), in {0, 1}.

    X (N, D), W1 (D, H), b1 (H,), w2 (H,). step(z) = 1 if z > 0 else 0.
    """
    hidden = (X @ W1 + b1 > 0).astype(X.dtype)
    return (hidden @ w2 + b2 > 0).astype(np.int64)
