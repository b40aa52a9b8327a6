"""Weight initialization in NumPy: Xavier/Glorot and He/Kaiming, with torch.nn.init's formulas.

Book: chapter "Optimization" (`chapters/optimization.ipynb`), section {ref}`sec-optim-init`.

Every function returns a weight matrix of shape (fan_in, fan_out), the layout of
`dlbook.numpy.linear_forward` (x @ w), drawn from `rng`, which is keyword-only:
``xavier_uniform(fan_in, fan_out, rng=rng)``. torch stores a linear layer's weight transposed,
(fan_out, fan_in), but the variances are the same. Never imports torch.
"""

from __future__ import annotations

import numpy as np

from dlbook.checks import keyword_only, shapes

__all__ = [
    "calculate_gain",
    "he_normal",
    "he_std",
    "he_uniform",
    "xavier_normal",
    "xavier_uniform",
]


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The gain torch.nn.init.calculate_gain recommends for an activation.

    "linear" and "sigmoid": 1; "tanh": 5/3; "relu": sqrt(2); "leaky_relu" with negative slope
    `param` (default 0.01): sqrt(2 / (1 + param^2)). Book: {ref}`sec-optim-init`.
    """
    if nonlinearity in ("linear", "sigmoid"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return float(np.sqrt(2.0))
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return float(np.sqrt(2.0 / (1 + slope**2)))
    raise ValueError(
        "nonlinearity must be 'linear', 'sigmoid', 'tanh', 'relu' or 'leaky_relu'; "
        f"got {nonlinearity!r}"
    )


@shapes(
    fan_in="int",
    fan_out="int",
    a=">= 0",
    mode="{fan_in, fan_out}",
    nonlinearity="{relu, leaky_relu}",
)
def he_std(
    fan_in: int,
    fan_out: int,
    *,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
) -> float:
    """gain / sqrt(fan): the standard deviation of He et al.'s initialization.

    gain = calculate_gain(nonlinearity, a) with `a` the negative slope of the leaky ReLU
    (nonlinearity "relu" or "leaky_relu"); fan = fan_in (mode "fan_in") or fan_out ("fan_out").
    """
    gain = calculate_gain(nonlinearity, a)
    return gain / np.sqrt(fan_in if mode == "fan_in" else fan_out)


@shapes(fan_in="int", fan_out="int", rng="rng", gain="> 0")
def xavier_uniform(
    fan_in: int, fan_out: int, *, rng: np.random.Generator, gain: float = 1.0
) -> np.ndarray:
    """Glorot and Bengio's initialization (2010), uniform: w ~ U(-a, a) of shape (fan_in, fan_out),

    a = gain * sqrt(6 / (fan_in + fan_out)), so Var(w) = gain^2 * 2 / (fan_in + fan_out), the
    compromise between keeping the forward (fan_in) and the backward (fan_out) variance.
    """
    bound = gain * np.sqrt(6.0 / (fan_in + fan_out))  # Var(U(-a, a)) = a^2 / 3
    return rng.uniform(-bound, bound, size=(fan_in, fan_out))


@shapes(fan_in="int", fan_out="int", rng="rng", gain="> 0")
def xavier_normal(
    fan_in: int, fan_out: int, *, rng: np.random.Generator, gain: float = 1.0
) -> np.ndarray:
    """Glorot and Bengio's initialization, normal: w ~ N(0, s^2) of shape (fan_in, fan_out),
    s = gain * sqrt(2 / (fan_in + fan_out))."""
    std = gain * np.sqrt(2.0 / (fan_in + fan_out))
    return rng.normal(0.0, std, size=(fan_in, fan_out))


@shapes(fan_in="int", fan_out="int", rng="rng")  # he_std checks a, mode and nonlinearity
def he_normal(
    fan_in: int,
    fan_out: int,
    *,
    rng: np.random.Generator,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
) -> np.ndarray:
    """He et al.'s initialization (2015), normal: w ~ N(0, s^2) of shape (fan_in, fan_out),
    s = sqrt(2 / (1 + a^2)) / sqrt(fan), fan = fan_in (mode "fan_in", keeps the forward
    variance) or fan_out. `a` is the negative slope of the leaky ReLU (0: ReLU, s^2 = 2 / fan).
    torch.nn.init.kaiming_normal_'s arguments and defaults.
    """
    std = he_std(fan_in, fan_out, a=a, mode=mode, nonlinearity=nonlinearity)
    return rng.normal(0.0, std, size=(fan_in, fan_out))


@shapes(fan_in="int", fan_out="int", rng="rng")  # he_std checks a, mode and nonlinearity
def he_uniform(
    fan_in: int,
    fan_out: int,
    *,
    rng: np.random.Generator,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
) -> np.ndarray:
    """He et al.'s initialization, uniform: w ~ U(-sqrt(3) s, sqrt(3) s), the same variance s^2
    as `he_normal`. torch.nn.init.kaiming_uniform_'s arguments and defaults."""
    bound = np.sqrt(3.0) * he_std(fan_in, fan_out, a=a, mode=mode, nonlinearity=nonlinearity)
    return rng.uniform(-bound, bound, size=(fan_in, fan_out))


# The earlier call form f(fan_in, fan_out, rng) still works, with a DeprecationWarning (wrapped
# here rather than decorated, so that the source printed in the book is the function itself).
xavier_uniform = keyword_only("rng")(xavier_uniform)
xavier_normal = keyword_only("rng")(xavier_normal)
he_normal = keyword_only("rng")(he_normal)
he_uniform = keyword_only("rng")(he_uniform)
