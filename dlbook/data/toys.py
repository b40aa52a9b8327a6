"""Generated toy data sets and scikit-learn's bundled digits.

Labels come in three encodings, chosen by ``labels``: ``"pm1"`` gives {-1, +1} (the perceptron's
convention), ``"01"`` gives {0, 1} (logistic regression's) and ``"int"`` gives 0..K-1 (softmax's).
All generated inputs are float64 and all labels int64. Randomness comes from `rng` (a
`np.random.Generator`, as in `dlbook.numpy`) or, when no `rng` is given, from
`np.random.default_rng(seed)` with seed 0 by default, so a call without either is reproducible.
Never imports torch.
"""

from __future__ import annotations

import numpy as np

from dlbook.checks import (
    as_float_array,
    as_labels,
    check_choice,
    check_int,
    check_positive,
    check_rng,
)

__all__ = ["blobs", "circles", "linearly_separable", "load_digits", "moons", "spirals", "xor"]

_LABEL_KINDS = ("pm1", "01", "int")


def _generator(seed: int | None, rng: np.random.Generator | None) -> np.random.Generator:
    """`rng` if given, else a Generator seeded with `seed` (0 when None); not both."""
    if rng is None:
        return np.random.default_rng(check_int("seed", 0 if seed is None else seed, minimum=0))
    if seed is not None:
        raise ValueError("pass either seed or rng, not both")
    return check_rng(rng)


def _check_labels(labels: object, num_classes: int) -> str:
    labels = check_choice("labels", labels, _LABEL_KINDS)
    if labels != "int" and num_classes != 2:
        raise ValueError(
            f"labels={labels!r} needs exactly 2 classes; got {num_classes} (use labels='int')"
        )
    return labels


def _encode(k: np.ndarray, labels: str) -> np.ndarray:
    """Map class indices k in 0..K-1 to the requested encoding, as int64."""
    k = k.astype(np.int64)
    return 2 * k - 1 if labels == "pm1" else k  # pm1: 0 -> -1, 1 -> +1


def _balanced_classes(n: int, num_classes: int, rng: np.random.Generator) -> np.ndarray:
    """n class indices, as equal in count as n allows, in random order."""
    return rng.permutation(np.arange(n) % num_classes)


def linearly_separable(
    n: int = 100,
    *,
    dim: int = 2,
    margin: float = 0.1,
    labels: str = "pm1",
    seed: int | None = None,
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points in [-1, 1]^dim that the hyperplane w_true . x = 0 separates with a margin.

    `w_true` is a random unit vector (no bias). Points with |w_true . x| < margin are rejected
    and redrawn, so min_i y_i (w_true . x_i) >= margin exactly: the setting of Novikoff's
    bound, which caps the perceptron's mistakes at (R / margin)^2 with R = max ||x_i||.

    Returns X float64 (n, dim), y int64 (n,) in {-1, +1} ("pm1") or {0, 1} ("01"), and
    w_true float64 (dim,) with ||w_true|| = 1.
    """
    n = check_int("n", n)
    dim = check_int("dim", dim)
    margin = check_positive("margin", margin, allow_zero=True)
    # ||w||_1 >= ||w||_2 = 1, so the cube always holds points with |w . x| up to 1.
    if margin >= 1:
        raise ValueError(f"margin must be in [0, 1) for points in [-1, 1]^dim; got {margin!r}")
    labels = _check_labels(labels, 2)
    rng = _generator(seed, rng)

    w_true = rng.normal(size=dim)
    w_true /= np.linalg.norm(w_true)
    kept: list[np.ndarray] = []
    count = 0
    while count < n:
        cand = rng.uniform(-1.0, 1.0, size=(2 * (n - count) + 16, dim))
        score = cand @ w_true
        # s = 0 has no sign, so it is rejected even when margin = 0.
        ok = (np.abs(score) >= margin) & (score != 0)
        kept.append(cand[ok])
        count += int(ok.sum())
    X = np.concatenate(kept)[:n]
    k = (X @ w_true > 0).astype(np.int64)
    return X, _encode(k, labels), w_true


def blobs(
    n: int = 100,
    *,
    centers: object = ((-1.0, -1.0), (1.0, 1.0)),
    std: float = 0.5,
    labels: str | None = None,
    seed: int | None = None,
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Isotropic Gaussian blobs: x = centers[k] + std * eps, eps ~ N(0, I).

    `centers` is (K, D). The K classes are as balanced as n allows, in random order.
    `labels=None` means "pm1" for K = 2 and "int" otherwise.

    Returns X float64 (n, D) and y int64 (n,).
    """
    n = check_int("n", n)
    c = as_float_array("centers", centers, shape=("K", "D"))
    std = check_positive("std", std, allow_zero=True)
    num_classes = c.shape[0]
    if labels is None:
        labels = "pm1" if num_classes == 2 else "int"
    labels = _check_labels(labels, num_classes)
    rng = _generator(seed, rng)

    k = _balanced_classes(n, num_classes, rng)
    X = c[k] + std * rng.normal(size=(n, c.shape[1]))
    return X, _encode(k, labels)


_XOR_CORNERS = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
_XOR_CLASS = np.array([0, 1, 1, 0])  # x1 XOR x2


def xor(
    n: int | None = None,
    *,
    noise: float = 0.0,
    labels: str = "pm1",
    seed: int | None = None,
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The XOR problem, which no single linear threshold unit solves.

    `n=None` gives the four corners (0,0), (0,1), (1,0), (1,1) in that order, with labels
    -1, +1, +1, -1 ("pm1") or 0, 1, 1, 0 ("01"); with the default noise=0 they are exact.
    Otherwise n points are spread evenly over the corners, in random order, each moved by
    Gaussian noise of standard deviation `noise`.

    Returns X float64 (n, 2) (or (4, 2)) and y int64.
    """
    n = None if n is None else check_int("n", n)
    noise = check_positive("noise", noise, allow_zero=True)
    labels = _check_labels(labels, 2)
    rng = _generator(seed, rng)
    corner = np.arange(4) if n is None else _balanced_classes(n, 4, rng)
    X = _XOR_CORNERS[corner].copy()
    if noise > 0:
        X += noise * rng.normal(size=X.shape)
    return X, _encode(_XOR_CLASS[corner], labels)


def moons(
    n: int = 200,
    *,
    noise: float = 0.1,
    labels: str = "01",
    seed: int | None = None,
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (the construction of scikit-learn's make_moons).

    Class 0: (cos t, sin t); class 1: (1 - cos t, 1/2 - sin t), t evenly spaced in [0, pi];
    then Gaussian noise of standard deviation `noise` on both coordinates.

    Returns X float64 (n, 2) in random order and y int64 (n,).
    """
    n = check_int("n", n)
    noise = check_positive("noise", noise, allow_zero=True)
    labels = _check_labels(labels, 2)
    rng = _generator(seed, rng)

    n_outer = n // 2
    t_out = np.linspace(0.0, np.pi, n_outer)
    t_in = np.linspace(0.0, np.pi, n - n_outer)
    outer = np.column_stack([np.cos(t_out), np.sin(t_out)])
    inner = np.column_stack([1.0 - np.cos(t_in), 0.5 - np.sin(t_in)])
    X = np.concatenate([outer, inner]) + noise * rng.normal(size=(n, 2))
    k = np.repeat([0, 1], [n_outer, n - n_outer])
    order = rng.permutation(n)
    return X[order], _encode(k[order], labels)


def spirals(
    n: int = 300,
    *,
    num_classes: int = 2,
    noise: float = 0.2,
    labels: str = "int",
    seed: int | None = None,
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """K = num_classes interleaved spiral arms, the classic "not linearly separable" picture.

    Arm k: x = r (cos theta, sin theta) with r evenly spaced in [0.1, 1] and
    theta = 2 pi k / K + 3 pi r + eps, eps ~ N(0, noise^2) (noise is an angle, in radians),
    so each arm turns 1.5 times around the origin.

    Returns X float64 (n, 2) in random order and y int64 (n,).
    """
    n = check_int("n", n)
    num_classes = check_int("num_classes", num_classes, minimum=2)
    noise = check_positive("noise", noise, allow_zero=True)
    labels = _check_labels(labels, num_classes)
    rng = _generator(seed, rng)

    k = np.arange(n) % num_classes
    r = np.empty(n)
    for c in range(num_classes):
        arm = k == c
        r[arm] = np.linspace(0.1, 1.0, int(arm.sum()))
    theta = 2 * np.pi * k / num_classes + 3 * np.pi * r + noise * rng.normal(size=n)
    X = r[:, None] * np.column_stack([np.cos(theta), np.sin(theta)])
    order = rng.permutation(n)
    return X[order], _encode(k[order], labels)


def circles(
    n: int = 200,
    *,
    factor: float = 0.5,
    noise: float = 0.05,
    labels: str = "01",
    seed: int | None = None,
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Two concentric circles: class 0 of radius 1, class 1 of radius `factor` (0 < factor < 1).

    Angles are evenly spaced; Gaussian noise of standard deviation `noise` is added to both
    coordinates.

    Returns X float64 (n, 2) in random order and y int64 (n,).
    """
    n = check_int("n", n)
    factor = check_positive("factor", factor)
    if factor >= 1:
        raise ValueError(f"factor must be in (0, 1) (inner radius / outer radius); got {factor!r}")
    noise = check_positive("noise", noise, allow_zero=True)
    labels = _check_labels(labels, 2)
    rng = _generator(seed, rng)

    n_outer = n // 2
    t_out = np.linspace(0.0, 2 * np.pi, n_outer, endpoint=False)
    t_in = np.linspace(0.0, 2 * np.pi, n - n_outer, endpoint=False)
    outer = np.column_stack([np.cos(t_out), np.sin(t_out)])
    inner = factor * np.column_stack([np.cos(t_in), np.sin(t_in)])
    X = np.concatenate([outer, inner]) + noise * rng.normal(size=(n, 2))
    k = np.repeat([0, 1], [n_outer, n - n_outer])
    order = rng.permutation(n)
    return X[order], _encode(k[order], labels)


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled 8x8 digits (UCI Optical Recognition of Handwritten Digits).

    Returns X float64 (1797, 8, 8) in [0, 1] (the 0..16 pixel counts divided by 16) and
    y int64 (1797,) in 0..9.
    """
    from sklearn.datasets import load_digits as _sklearn_digits

    bunch = _sklearn_digits()
    X = np.asarray(bunch.images, dtype=np.float64) / 16.0
    y = as_labels("digits target", bunch.target, num_classes=10, n=X.shape[0])
    return X, y
