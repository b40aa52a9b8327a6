"""McCulloch–Pitts units and Rosenblatt's perceptron, in NumPy.

Book: chapter "From neurons to the perceptron" (`chapters/perceptron.ipynb`).
Labels are ±1 throughout; functions that accept labels also take 0/1 and map 0 to -1.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from dlbook._validate import as_float_array, check_positive

__all__ = [
    "PerceptronFit",
    "geometric_margin",
    "mcculloch_pitts",
    "novikoff_bound",
    "perceptron_predict",
    "perceptron_train",
    "perceptron_update",
    "threshold_network",
]


def _pm1(name: str, y: object, n: int) -> np.ndarray:
    """Labels as float ±1; 0/1 labels are mapped to -1/+1."""
    arr = as_float_array(name, y, shape=("N",))
    values = set(np.unique(arr).tolist())
    if values <= {-1.0, 1.0}:
        labels = arr
    elif values <= {0.0, 1.0}:
        labels = 2.0 * arr - 1.0
    else:
        raise ValueError(f"{name} must hold labels -1/+1 (or 0/1); got values {sorted(values)[:5]}")
    if labels.shape[0] != n:
        raise ValueError(f"{name} must have one label per row of X ({n}); got {labels.shape[0]}")
    return labels


def _check_wb(w: object, b: object, d: int, names: tuple[str, str] = ("w", "b")):
    w = as_float_array(names[0], w, shape=(d,))
    b = as_float_array(names[1], b, shape=())
    return w, float(b)


def mcculloch_pitts(x: np.ndarray, threshold: int, *, inhibitory: object = ()) -> np.ndarray:
    """The 1943 McCulloch–Pitts unit: fire (1) iff no inhibitory input is active and at least
    `threshold` excitatory inputs are active, else 0.

    x is (N, D) with entries 0/1; `inhibitory` lists the indices of the inhibitory inputs (the
    rest are excitatory). Inhibition is absolute, as in the original model: one active
    inhibitory input silences the unit. There are no learned weights.
    """
    x = as_float_array("x", x, shape=("N", "D"))
    if not np.isin(x, (0.0, 1.0)).all():
        raise ValueError("x must hold binary inputs 0/1")
    if int(threshold) != threshold or threshold < 0:
        raise ValueError(f"threshold must be a non-negative integer; got {threshold!r}")
    inhib = np.zeros(x.shape[1], dtype=bool)
    idx = np.asarray(inhibitory, dtype=np.int64).reshape(-1)
    if idx.size and (idx.min() < 0 or idx.max() >= x.shape[1]):
        raise ValueError(f"inhibitory must hold input indices in [0, {x.shape[1]}); got {idx}")
    inhib[idx] = True
    excited = x[:, ~inhib].sum(axis=1) >= threshold
    vetoed = x[:, inhib].any(axis=1)
    return (excited & ~vetoed).astype(np.int64)


def perceptron_predict(X: np.ndarray, w: np.ndarray, b: float) -> np.ndarray:
    """Predicted labels sign(X @ w + b) in {-1, +1} for X (N, D), w (D,); 0 counts as -1."""
    X = as_float_array("X", X, shape=("N", "D"))
    w, b = _check_wb(w, b, X.shape[1])
    return np.where(X @ w + b > 0, 1, -1)


def perceptron_update(
    w: np.ndarray, b: float, x: np.ndarray, y: int, lr: float = 1.0
) -> tuple[np.ndarray, float, bool]:
    """One step of Rosenblatt's rule on a single example x (D,) with label y = ±1.

    Returns (new_w, new_b, updated). A point on the boundary (y * score == 0) counts as a
    mistake, so learning can start from w = 0.
    """
    x = as_float_array("x", x, shape=("D",))
    w, b = _check_wb(w, b, x.shape[0])
    y = _pm1("y", [y], 1)[0]
    lr = check_positive("lr", lr)
    if y * (w @ x + b) <= 0:
        # Move the boundary toward classifying x correctly: w += lr * y * x, b += lr * y.
        return w + lr * y * x, b + lr * y, True
    return w.copy(), b, False


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
    X = as_float_array("X", X, shape=("N", "D"))
    y = _pm1("y", y, X.shape[0])
    if int(epochs) != epochs or epochs < 1:
        raise ValueError(f"epochs must be a positive integer; got {epochs!r}")
    lr = check_positive("lr", lr)
    if shuffle and rng is None:
        raise ValueError("rng must be a np.random.Generator when shuffle=True")
    w = np.zeros(X.shape[1]) if w0 is None else w0
    w, b = _check_wb(w, b0, X.shape[1])
    trajectory, mistakes = [np.append(w, b)], []
    for _ in range(int(epochs)):
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


def geometric_margin(X: np.ndarray, y: np.ndarray, w: np.ndarray, b: float = 0.0) -> float:
    """min_i y_i (w·x_i + b) / ||(w, b)||: the margin of the augmented separator (w, b).

    Positive iff (w, b) separates the data. Measured in the augmented space x~ = (x, 1), the
    space in which the perceptron with a bias is a perceptron without one.
    """
    X = as_float_array("X", X, shape=("N", "D"))
    y = _pm1("y", y, X.shape[0])
    w, b = _check_wb(w, b, X.shape[1])
    norm = np.sqrt(w @ w + b * b)
    if norm == 0:
        raise ValueError("w and b are all zero; a separator needs a direction")
    return float(np.min(y * (X @ w + b)) / norm)


def novikoff_bound(X: np.ndarray, y: np.ndarray, w: np.ndarray, b: float = 0.0) -> float:
    """Novikoff's bound (R / gamma)**2 on the perceptron's number of mistakes.

    R = max ||(x_i, 1)|| and gamma = geometric_margin(X, y, w, b) of a separator (w, b). Any
    run of the perceptron from zero weights, in any order, with any lr > 0, makes at most this
    many updates. Raises ValueError if (w, b) does not separate the data.
    """
    gamma = geometric_margin(X, y, w, b)
    if gamma <= 0:
        raise ValueError(f"(w, b) does not separate the data: its margin is {gamma:.3g} <= 0")
    X = np.asarray(X, dtype=np.float64)
    radius = np.sqrt(np.max(np.sum(X * X, axis=1) + 1.0))
    return float((radius / gamma) ** 2)


def threshold_network(
    X: np.ndarray, W1: np.ndarray, b1: np.ndarray, w2: np.ndarray, b2: float
) -> np.ndarray:
    """A two-layer network of threshold units: step(step(X @ W1 + b1) @ w2 + b2), in {0, 1}.

    X (N, D), W1 (D, H), b1 (H,), w2 (H,). step(z) = 1 if z > 0 else 0.
    """
    X = as_float_array("X", X, shape=("N", "D"))
    W1 = as_float_array("W1", W1, shape=(X.shape[1], "H"))
    b1 = as_float_array("b1", b1, shape=(W1.shape[1],))
    w2, b2 = _check_wb(w2, b2, W1.shape[1], ("w2", "b2"))
    hidden = (X @ W1 + b1 > 0).astype(np.float64)
    return (hidden @ w2 + b2 > 0).astype(np.int64)
