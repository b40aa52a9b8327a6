"""Optimizers, learning-rate schedules and a proximal step for the L1 penalty, in NumPy.

Book: chapter "Optimization" (`chapters/optimization.ipynb`).

The optimizers take torch.optim's argument names and defaults and update a list of NumPy arrays
in place: ``opt = SGD(params, lr=0.1)`` then ``opt.step(grads)`` once per batch. Given the same
gradients, a run of steps in float64 matches torch.optim to rounding error. Every check runs
before any parameter changes, so a rejected step leaves the parameters as they were.

`clip_grad_norm` and `clip_grad_value` are pure functions of a list of gradients, each equal to
its torch.nn.utils twin. The schedules are pure functions of the step number (an int or an int
array), each equal to one torch.optim.lr_scheduler class. Never imports torch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from dlbook.checks import (
    as_float_array,
    check_bool,
    check_choice,
    check_fraction,
    check_int,
    check_positive,
    check_shape,
    shapes,
)

__all__ = [
    "OPTIMIZER_CHOICES",
    "optimizer_path",
    "SGD",
    "SURFACES",
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "ISTAFit",
    "Optimizer",
    "RMSprop",
    "Surface",
    "as_steps",
    "beale",
    "beale_grad",
    "check_hyperparameters",
    "check_optimizer_grads",
    "check_optimizer_params",
    "clip_grad_norm",
    "clip_grad_value",
    "as_grad_list",
    "cosine_annealing_lr",
    "ista",
    "lasso_objective",
    "linear_warmup",
    "one_cycle_lr",
    "proximal_l1_step",
    "quadratic",
    "quadratic_grad",
    "rosenbrock",
    "rosenbrock_grad",
    "soft_threshold",
    "step_lr",
    "trajectory",
]


# ---------------------------------------------------------------------------------------------
# Checks used by the optimizers and schedules (public, so the book can import them)


def check_optimizer_params(params: object) -> list[np.ndarray]:
    """Check the parameters of an optimizer and return them as a list.

    params must be a non-empty list (or tuple) of writeable floating-point ndarrays holding
    finite numbers: the optimizer updates them in place. Raises `ValueError` naming params[i].
    """
    if isinstance(params, np.ndarray) or not isinstance(params, list | tuple) or not params:
        raise ValueError("params must be a non-empty list of NumPy arrays (updated in place)")
    for i, p in enumerate(params):
        if not isinstance(p, np.ndarray) or not np.issubdtype(p.dtype, np.floating):
            kind = getattr(p, "dtype", type(p).__name__)
            raise ValueError(f"params[{i}] must be a floating-point NumPy array; got {kind}")
        if not p.flags.writeable:
            raise ValueError(f"params[{i}] is read-only; the optimizer updates it in place")
        as_float_array(f"params[{i}]", p, allow_empty=True)  # rejects NaN and inf
    return list(params)


def check_optimizer_grads(grads: object, params: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Check a step's gradients and return them as float arrays (float32 stays float32).

    grads must be a list holding one finite array per parameter, each of its parameter's shape.
    Raises `ValueError` naming grads[i] and the expected shape.
    """
    if isinstance(grads, np.ndarray) or not isinstance(grads, list | tuple):
        raise ValueError(f"grads must be a list of {len(params)} arrays, one per parameter")
    if len(grads) != len(params):
        raise ValueError(
            f"grads must hold one array per parameter: expected {len(params)}, got {len(grads)}"
        )
    checked = []
    for i, (g, p) in enumerate(zip(grads, params, strict=True)):
        g = as_float_array(f"grads[{i}]", g, allow_empty=True)
        if g.shape != p.shape:
            raise ValueError(
                f"grads[{i}] must have the shape of params[{i}] {p.shape}; got {g.shape}"
            )
        checked.append(g)
    return checked


def as_steps(step: object) -> np.ndarray:
    """A schedule's step number(s): an int >= 0, or an integer array of them, as an array."""
    s = np.asarray(step)
    if not np.issubdtype(s.dtype, np.integer) or np.any(s < 0):
        raise ValueError(f"step must be an int >= 0 or an array of them; got {step!r}")
    return s


def _pair_of_rates(name: str, value: object) -> tuple[float, float]:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ValueError(f"{name} must be a pair (beta1, beta2) in [0, 1); got {value!r}")
    return check_fraction(f"{name}[0]", value[0]), check_fraction(f"{name}[1]", value[1])


_RULES: dict[str, Callable[[str, object], object]] = {
    # torch.optim's names and ranges
    "lr": lambda n, v: None if v is None else check_positive(n, v, allow_zero=True),
    "eps": check_positive,
    "betas": _pair_of_rates,
    **dict.fromkeys(
        ("momentum", "weight_decay", "lr_decay", "initial_accumulator_value", "lam"),
        lambda n, v: check_positive(n, v, allow_zero=True),
    ),
    **dict.fromkeys(
        ("dampening", "alpha", "rho"), lambda n, v: check_fraction(n, v, high_open=False)
    ),
    **dict.fromkeys(("nesterov", "centered", "amsgrad", "three_phase"), check_bool),
    # torch.optim.lr_scheduler's names and ranges
    "step": lambda n, v: as_steps(v),
    "steps": lambda n, v: check_int(n, v, minimum=0),
    **dict.fromkeys(("step_size", "T_max", "total_iters", "total_steps"), check_int),
    **dict.fromkeys(
        ("base_lr", "gamma", "eta_min"), lambda n, v: check_positive(n, v, allow_zero=True)
    ),
    **dict.fromkeys(("max_lr", "div_factor", "final_div_factor"), check_positive),
    "start_factor": lambda n, v: check_fraction(n, v, low_open=True, high_open=False),
    "end_factor": lambda n, v: check_fraction(n, v, high_open=False),
    "pct_start": lambda n, v: check_fraction(n, v, low_open=True, high_open=False),
    "anneal_strategy": lambda n, v: check_choice(n, v, ("cos", "linear")),
}


def check_hyperparameters(**values: object) -> tuple:
    """Check hyper-parameters by their torch.optim names; return the checked values in order.

    ``lr, eps = check_hyperparameters(lr=lr, eps=eps)``. Each name has torch's range: lr,
    momentum, weight_decay, lr_decay, initial_accumulator_value, lam, base_lr, gamma and eta_min
    >= 0; eps, max_lr, div_factor and final_div_factor > 0; dampening, alpha, rho and end_factor
    in [0, 1]; start_factor and pct_start in (0, 1]; betas a pair in [0, 1); nesterov, centered,
    amsgrad and three_phase True or False; step_size, T_max, total_iters and total_steps ints
    >= 1, steps an int >= 0, step an int (array) >= 0 (see `as_steps`); anneal_strategy "cos"
    or "linear". Rules across names: nesterov=True needs momentum > 0 and dampening = 0; step
    <= total_steps; pct_start * total_steps > 1. A failure raises `ValueError` naming the
    argument; an unknown name raises `TypeError`.
    """
    unknown = sorted(set(values) - set(_RULES))
    if unknown:
        raise TypeError(f"check_hyperparameters does not know {unknown}")
    out = {name: _RULES[name](name, value) for name, value in values.items()}
    if out.get("nesterov") and (out.get("momentum", 0) == 0 or out.get("dampening", 0) != 0):
        raise ValueError("nesterov=True needs momentum > 0 and dampening = 0")
    if "total_steps" in out:
        total = out["total_steps"]
        if "step" in out and np.any(out["step"] > total):
            raise ValueError(f"step must be <= total_steps = {total}; got {out['step'].max()}")
        if "pct_start" in out and out["pct_start"] * total <= 1:
            raise ValueError(
                f"pct_start * total_steps must exceed 1; got {out['pct_start'] * total}"
            )
    return tuple(out.values())


# ---------------------------------------------------------------------------------------------
# Optimizers


class Optimizer:
    """What every optimizer shares: the parameter list, the learning rate `lr`, the step count
    `t`, and the checks of the gradients. Book: {ref}`sec-optim-rules`.

    A subclass writes its rule in `_update(i, p, g)`: update parameter i, the array p, in place,
    given its gradient g. `step` first checks every gradient, then calls `_update` for each
    parameter, so a bad gradient list changes nothing. `lr` may be reassigned between steps (a
    learning-rate schedule does that); a negative value raises ValueError.
    """

    def __init__(self, params: Sequence[np.ndarray], lr: float) -> None:
        self.params = check_optimizer_params(params)
        self.lr = lr  # checked by the setter below
        self.t = 0  # the number of steps taken

    @property
    def lr(self) -> float:
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr = check_positive("lr", value, allow_zero=True)

    def step(self, grads: Sequence[np.ndarray]) -> None:
        """Update every parameter in place; grads holds one array per parameter, same shapes."""
        grads = check_optimizer_grads(grads, self.params)
        self.t += 1
        for i, (p, g) in enumerate(zip(self.params, grads, strict=True)):
            self._update(i, p, g)

    def _zeros(self) -> list[np.ndarray]:
        """One zero array per parameter, in its dtype: the start of a running average."""
        return [np.zeros_like(p) for p in self.params]

    def _update(self, i: int, p: np.ndarray, g: np.ndarray) -> None:
        raise NotImplementedError


class SGD(Optimizer):
    r"""Stochastic gradient descent with momentum, as torch.optim.SGD.
    Book: {ref}`sec-optim-momentum`.

    With g = grad + weight_decay * p, and a velocity b that starts at the first g:
        b <- momentum * b + (1 - dampening) * g
        d  = g + momentum * b  (nesterov)   or   b  (heavy ball)   or   g  (momentum = 0)
        p <- p - lr * d
    """

    def __init__(
        self,
        params: Sequence[np.ndarray],
        lr: float,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        super().__init__(params, lr)
        self.momentum, self.dampening, self.weight_decay, self.nesterov = check_hyperparameters(
            momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov
        )
        self.velocity: list[np.ndarray | None] = [None] * len(self.params)

    def _update(self, i: int, p: np.ndarray, g: np.ndarray) -> None:
        if self.weight_decay:
            g = g + self.weight_decay * p  # gradient of the L2 penalty (weight_decay / 2) |p|^2
        if self.momentum:
            b = self.velocity[i]
            # the first step starts the velocity at g itself, undamped
            b = g.copy() if b is None else self.momentum * b + (1 - self.dampening) * g
            self.velocity[i] = b
            g = g + self.momentum * b if self.nesterov else b  # Nesterov looks one step ahead
        p -= self.lr * g


class Adagrad(Optimizer):
    r"""AdaGrad, as torch.optim.Adagrad. Book: {ref}`sec-optim-adaptive`.

    With g = grad + weight_decay * p and step t = 1, 2, ...:
        s <- s + g^2        a plain SUM of squares, started at initial_accumulator_value
        p <- p - lr / (1 + (t - 1) * lr_decay) * g / (sqrt(s) + eps)
    """

    def __init__(
        self,
        params: Sequence[np.ndarray],
        lr: float = 0.01,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
    ) -> None:
        super().__init__(params, lr)
        self.lr_decay, self.weight_decay, self.eps, init = check_hyperparameters(
            lr_decay=lr_decay,
            weight_decay=weight_decay,
            eps=eps,
            initial_accumulator_value=initial_accumulator_value,
        )
        self.sum_sq = [np.full_like(p, init) for p in self.params]

    def _update(self, i: int, p: np.ndarray, g: np.ndarray) -> None:
        if self.weight_decay:
            g = g + self.weight_decay * p
        s = self.sum_sq[i]
        s += g * g  # every gradient ever seen counts equally: the step size only shrinks
        lr_t = self.lr / (1 + (self.t - 1) * self.lr_decay)
        p -= lr_t * g / (np.sqrt(s) + self.eps)


class RMSprop(Optimizer):
    r"""RMSProp, as torch.optim.RMSprop. Book: {ref}`sec-optim-adaptive`.

    With g = grad + weight_decay * p:
        v <- alpha * v + (1 - alpha) * g^2                exponential moving average of g^2
        denom = sqrt(v - gbar^2) + eps, gbar <- alpha * gbar + (1 - alpha) * g   (centered)
        denom = sqrt(v) + eps                                                    (otherwise)
        b <- momentum * b + g / denom, p <- p - lr * b     (momentum > 0)
        p <- p - lr * g / denom                            (otherwise)
    """

    def __init__(
        self,
        params: Sequence[np.ndarray],
        lr: float = 0.01,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
    ) -> None:
        super().__init__(params, lr)
        self.alpha, self.eps, self.weight_decay, self.momentum, self.centered = (
            check_hyperparameters(
                alpha=alpha,
                eps=eps,
                weight_decay=weight_decay,
                momentum=momentum,
                centered=centered,
            )
        )
        self.square_avg, self.grad_avg, self.velocity = self._zeros(), self._zeros(), self._zeros()

    def _update(self, i: int, p: np.ndarray, g: np.ndarray) -> None:
        if self.weight_decay:
            g = g + self.weight_decay * p
        v = self.square_avg[i]
        v *= self.alpha
        v += (1 - self.alpha) * g * g
        if self.centered:
            gbar = self.grad_avg[i]
            gbar += (1 - self.alpha) * (g - gbar)  # gbar <- alpha * gbar + (1 - alpha) * g
            denom = np.sqrt(v - gbar * gbar) + self.eps  # an estimate of the gradient's std
        else:
            denom = np.sqrt(v) + self.eps  # the root mean square of recent gradients
        if self.momentum > 0:
            b = self.velocity[i]
            b *= self.momentum
            b += g / denom
            p -= self.lr * b
        else:
            p -= self.lr * g / denom


class Adadelta(Optimizer):
    r"""Adadelta, as torch.optim.Adadelta. Book: {ref}`sec-optim-adaptive`.

    With g = grad + weight_decay * p:
        v <- rho * v + (1 - rho) * g^2
        delta = sqrt(u + eps) / sqrt(v + eps) * g      RMS of past steps / RMS of gradients
        u <- rho * u + (1 - rho) * delta^2
        p <- p - lr * delta
    """

    def __init__(
        self,
        params: Sequence[np.ndarray],
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0,
    ) -> None:
        super().__init__(params, lr)
        self.rho, self.eps, self.weight_decay = check_hyperparameters(
            rho=rho, eps=eps, weight_decay=weight_decay
        )
        self.square_avg, self.delta_avg = self._zeros(), self._zeros()

    def _update(self, i: int, p: np.ndarray, g: np.ndarray) -> None:
        if self.weight_decay:
            g = g + self.weight_decay * p
        v, u = self.square_avg[i], self.delta_avg[i]
        v *= self.rho
        v += (1 - self.rho) * g * g
        delta = np.sqrt(u + self.eps) / np.sqrt(v + self.eps) * g  # units of p, not of 1/p
        u *= self.rho
        u += (1 - self.rho) * delta * delta
        p -= self.lr * delta


class Adam(Optimizer):
    r"""Adam, as torch.optim.Adam. Book: {ref}`sec-optim-adam`.

    With g = grad + weight_decay * p (an L2 penalty, folded into the gradient) and t = 1, 2, ...:
        m <- beta1 * m + (1 - beta1) * g           first moment
        v <- beta2 * v + (1 - beta2) * g^2         second moment (v_max <- max(v_max, v) and
                                                   v_max used in place of v when amsgrad)
        p <- p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
    The factors 1 / (1 - beta^t) undo the bias of m and v toward their zero start.
    """

    def __init__(
        self,
        params: Sequence[np.ndarray],
        lr: float = 0.001,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
    ) -> None:
        super().__init__(params, lr)
        (self.beta1, self.beta2), self.eps, self.weight_decay, self.amsgrad = check_hyperparameters(
            betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad
        )
        self.m, self.v, self.v_max = self._zeros(), self._zeros(), self._zeros()

    def _update(self, i: int, p: np.ndarray, g: np.ndarray) -> None:
        if self.weight_decay:
            g = g + self.weight_decay * p  # L2: the penalty's gradient is rescaled like the rest
        self._adam_step(i, p, g)

    def _adam_step(self, i: int, p: np.ndarray, g: np.ndarray) -> None:
        m, v = self.m[i], self.v[i]
        m += (1 - self.beta1) * (g - m)  # m <- beta1 * m + (1 - beta1) * g
        v *= self.beta2
        v += (1 - self.beta2) * g * g
        if self.amsgrad:
            np.maximum(self.v_max[i], v, out=self.v_max[i])  # never let the denominator shrink
            v = self.v_max[i]
        step_size = self.lr / (1 - self.beta1**self.t)  # bias correction of m
        denom = np.sqrt(v) / np.sqrt(1 - self.beta2**self.t) + self.eps  # ... and of v
        p -= step_size * m / denom


class AdamW(Adam):
    r"""AdamW, as torch.optim.AdamW: Adam with decoupled weight decay. Book: {ref}`sec-optim-adam`.

    The decay shrinks the weights directly, p <- p * (1 - lr * weight_decay), and then Adam's
    step runs on the raw gradient: the decay never passes through m and v, so every weight
    decays at the same rate, however large its gradients.
    """

    def __init__(
        self,
        params: Sequence[np.ndarray],
        lr: float = 0.001,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.01,
        amsgrad: bool = False,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)

    def _update(self, i: int, p: np.ndarray, g: np.ndarray) -> None:
        p *= 1 - self.lr * self.weight_decay  # decoupled decay, outside the adaptive scaling
        self._adam_step(i, p, g)


# ---------------------------------------------------------------------------------------------
# Test surfaces and trajectories


def _xy(x: object) -> tuple[np.ndarray, np.ndarray]:
    """The two coordinates of x (..., 2)."""
    x = as_float_array("x", x)
    if x.ndim == 0 or x.shape[-1] != 2:
        raise ValueError(f"x must have shape (..., 2) (points in the plane); got {x.shape}")
    return x[..., 0], x[..., 1]


def rosenbrock(x: np.ndarray) -> np.ndarray:
    """Rosenbrock's valley f(x, y) = (1 - x)^2 + 100 (y - x^2)^2 at points x (..., 2).

    The minimum is 0 at (1, 1), at the end of a long, curved, flat-bottomed valley.
    """
    a, b = _xy(x)
    return (1 - a) ** 2 + 100 * (b - a**2) ** 2


def rosenbrock_grad(x: np.ndarray) -> np.ndarray:
    """The gradient (..., 2) of `rosenbrock` at x (..., 2)."""
    a, b = _xy(x)
    return np.stack([-2 * (1 - a) - 400 * a * (b - a**2), 200 * (b - a**2)], axis=-1)


def _beale_terms(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, ...]:
    return 1.5 - a + a * b, 2.25 - a + a * b**2, 2.625 - a + a * b**3


def beale(x: np.ndarray) -> np.ndarray:
    """Beale's function (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2 at x (..., 2).

    The minimum is 0 at (3, 0.5); the surface has flat plateaus and sharp ridges.
    """
    a, b = _xy(x)
    t1, t2, t3 = _beale_terms(a, b)
    return t1**2 + t2**2 + t3**2


def beale_grad(x: np.ndarray) -> np.ndarray:
    """The gradient (..., 2) of `beale` at x (..., 2)."""
    a, b = _xy(x)
    t1, t2, t3 = _beale_terms(a, b)
    da = 2 * t1 * (b - 1) + 2 * t2 * (b**2 - 1) + 2 * t3 * (b**3 - 1)
    db = 2 * t1 * a + 2 * t2 * 2 * a * b + 2 * t3 * 3 * a * b**2
    return np.stack([da, db], axis=-1)


def quadratic(x: np.ndarray, kappa: float = 20.0) -> np.ndarray:
    """An ill-conditioned bowl f(x, y) = (x^2 + kappa * y^2) / 2 at x (..., 2).

    The Hessian is diag(1, kappa), so kappa is its condition number; the minimum is 0 at (0, 0).
    """
    a, b = _xy(x)
    kappa = check_positive("kappa", kappa)
    return 0.5 * (a**2 + kappa * b**2)


def quadratic_grad(x: np.ndarray, kappa: float = 20.0) -> np.ndarray:
    """The gradient (x, kappa * y) of `quadratic`, shape (..., 2)."""
    a, b = _xy(x)
    kappa = check_positive("kappa", kappa)
    return np.stack([a, kappa * b], axis=-1)


class Surface(NamedTuple):
    """A 2-D test function for the trajectory plots: f and grad take points (..., 2); `start`
    is the usual starting point, `minimum` the minimizer, xlim/ylim the window to draw."""

    name: str
    f: Callable[[np.ndarray], np.ndarray]
    grad: Callable[[np.ndarray], np.ndarray]
    start: tuple[float, float]
    minimum: tuple[float, float]
    xlim: tuple[float, float]
    ylim: tuple[float, float]


SURFACES = {
    "quadratic": Surface(
        "ill-conditioned quadratic (kappa = 20)",
        quadratic,
        quadratic_grad,
        (-4.0, 1.5),
        (0.0, 0.0),
        (-4.5, 4.5),
        (-2.0, 2.0),
    ),
    "rosenbrock": Surface(
        "Rosenbrock", rosenbrock, rosenbrock_grad, (-1.5, 2.0), (1.0, 1.0), (-2.0, 2.0), (-1.0, 3.0)
    ),
    "beale": Surface("Beale", beale, beale_grad, (1.0, 1.5), (3.0, 0.5), (-1.0, 4.0), (-1.5, 2.0)),
}


def trajectory(
    grad: Callable[[np.ndarray], np.ndarray],
    x0: Sequence[float],
    optimizer: type[Optimizer],
    steps: int,
    **hyper: object,
) -> np.ndarray:
    """The points (n, D) visited by `optimizer(params, **hyper)` from x0 (D,) on a gradient field.

    Row 0 is x0 and row k the point after k steps; n = steps + 1 unless the iterate leaves the
    finite numbers (divergence), where the path stops at the last finite point.
    """
    x = as_float_array("x0", x0, shape=("D",)).copy()
    steps = check_int("steps", steps, minimum=0)
    opt = optimizer([x], **hyper)
    path = [x.copy()]
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            g = np.asarray(grad(x), dtype=np.float64)
            if not np.all(np.isfinite(g)):
                break
            opt.step([g])
            if not np.all(np.isfinite(x)):
                break
            path.append(x.copy())
    return np.array(path)


# ---------------------------------------------------------------------------------------------
# Gradient clipping: pure functions of a list of gradients, as torch.nn.utils


def as_grad_list(grads: object) -> list[np.ndarray]:
    """Check a list of gradients (one finite float array per parameter); return it as arrays.

    A list or tuple, not one array: clipping by the global norm looks at all of them together.
    float32 stays float32. Raises `ValueError` naming grads[i].
    """
    if isinstance(grads, np.ndarray) or not isinstance(grads, list | tuple) or not grads:
        raise ValueError("grads must be a non-empty list of arrays, one per parameter")
    return [as_float_array(f"grads[{i}]", g, allow_empty=True) for i, g in enumerate(grads)]


@shapes(max_norm="> 0")
def clip_grad_norm(grads: Sequence[np.ndarray], max_norm: float) -> tuple[list[np.ndarray], float]:
    """Rescale the gradients together so that their global L2 norm is at most max_norm.

    Returns (clipped, total_norm): new arrays, shaped like grads, and the norm before clipping,
    ||g|| = sqrt(sum_i ||g_i||^2) over every entry of every array. As
    torch.nn.utils.clip_grad_norm_, the factor is min(1, max_norm / (||g|| + 1e-6)); one factor
    for all arrays keeps the direction of the update. Book: {ref}`sec-optim-clipping`.
    """
    grads = as_grad_list(grads)
    total = float(np.sqrt(sum(np.sum(g * g) for g in grads)))  # eq-optim-clip-norm
    scale = min(1.0, max_norm / (total + 1e-6))
    return [g * np.asarray(scale, g.dtype) for g in grads], total


@shapes(clip_value="> 0")
def clip_grad_value(grads: Sequence[np.ndarray], clip_value: float) -> list[np.ndarray]:
    """Clip every entry of every gradient to [-clip_value, clip_value], as
    torch.nn.utils.clip_grad_value_. Returns new arrays shaped like grads.

    Each coordinate is cut on its own, so a clipped update can point in a different direction
    from the gradient. Book: {ref}`sec-optim-clipping`.
    """
    return [np.clip(g, -clip_value, clip_value) for g in as_grad_list(grads)]


# ---------------------------------------------------------------------------------------------
# Learning-rate schedules: lr as a function of the step number, as torch.optim.lr_scheduler


def step_lr(
    step: int | np.ndarray, base_lr: float, step_size: int, gamma: float = 0.1
) -> float | np.ndarray:
    """StepLR: base_lr * gamma ** floor(step / step_size). Book: {ref}`sec-optim-schedules`.

    `step` counts scheduler steps from 0 (an int, or an int array for a whole schedule).
    """
    s, base_lr, step_size, gamma = check_hyperparameters(
        step=step, base_lr=base_lr, step_size=step_size, gamma=gamma
    )
    return base_lr * gamma ** (s // step_size)


def cosine_annealing_lr(
    step: int | np.ndarray, base_lr: float, T_max: int, eta_min: float = 0.0
) -> float | np.ndarray:
    """CosineAnnealingLR: eta_min + (base_lr - eta_min) * (1 + cos(pi * step / T_max)) / 2.

    Half a cosine from base_lr at step 0 down to eta_min at step T_max; past T_max it rises
    again, as torch's does. Book: {ref}`sec-optim-schedules`.
    """
    s, base_lr, T_max, eta_min = check_hyperparameters(
        step=step, base_lr=base_lr, T_max=T_max, eta_min=eta_min
    )
    return eta_min + (base_lr - eta_min) * (1 + np.cos(np.pi * s / T_max)) / 2


def linear_warmup(
    step: int | np.ndarray,
    base_lr: float,
    start_factor: float = 1.0 / 3,
    end_factor: float = 1.0,
    total_iters: int = 5,
) -> float | np.ndarray:
    """LinearLR: base_lr times a factor that moves linearly from start_factor at step 0 to
    end_factor at step total_iters and stays there. With start_factor < end_factor = 1 it is a
    warm-up. Book: {ref}`sec-optim-schedules`.
    """
    s, base_lr, start_factor, end_factor, total_iters = check_hyperparameters(
        step=step,
        base_lr=base_lr,
        start_factor=start_factor,
        end_factor=end_factor,
        total_iters=total_iters,
    )
    frac = np.minimum(s, total_iters) / total_iters
    return base_lr * (start_factor + (end_factor - start_factor) * frac)


def one_cycle_lr(
    step: int | np.ndarray,
    max_lr: float,
    total_steps: int,
    pct_start: float = 0.3,
    anneal_strategy: str = "cos",
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
    three_phase: bool = False,
) -> float | np.ndarray:
    """OneCycleLR: up from max_lr / div_factor to max_lr over the first pct_start of the steps,
    then down to max_lr / (div_factor * final_div_factor) at step total_steps - 1.

    Each phase anneals by half a cosine ("cos") or a straight line ("linear"). With three_phase
    the way down first returns to the initial lr, symmetric to the way up, and a third phase
    goes on to the minimum. Steps past total_steps raise ValueError, as torch does (step =
    total_steps itself is allowed there and extrapolates). Book: {ref}`sec-optim-schedules`.
    """
    (
        s,
        max_lr,
        total_steps,
        pct_start,
        anneal_strategy,
        div_factor,
        final_div_factor,
        three_phase,
    ) = check_hyperparameters(
        step=step,
        max_lr=max_lr,
        total_steps=total_steps,
        pct_start=pct_start,
        anneal_strategy=anneal_strategy,
        div_factor=div_factor,
        final_div_factor=final_div_factor,
        three_phase=three_phase,
    )
    initial, up_end = max_lr / div_factor, pct_start * total_steps - 1  # lr = max_lr at up_end
    final = initial / final_div_factor
    if three_phase:
        phases = [(up_end, initial, max_lr), (2 * up_end, max_lr, initial)]
        phases.append((total_steps - 1, initial, final))
    else:
        phases = [(up_end, initial, max_lr), (total_steps - 1, max_lr, final)]

    def anneal(start: float, end: float, frac: np.ndarray) -> np.ndarray:
        if anneal_strategy == "cos":
            return end + (start - end) / 2 * (np.cos(np.pi * frac) + 1)
        return start + (end - start) * frac

    lr = np.empty(s.shape)
    begin, done = 0.0, np.zeros(s.shape, dtype=bool)
    for k, (end, lo, hi) in enumerate(phases):
        here = ~done if k == len(phases) - 1 else ~done & (s <= end)
        lr[here] = anneal(lo, hi, (s[here] - begin) / (end - begin))
        done |= here
        begin = end
    return lr[()]  # a number for an int step, else the array


# ---------------------------------------------------------------------------------------------
# The L1 penalty: soft-thresholding and ISTA


@shapes(x="...", t=">= 0")
def soft_threshold(x: np.ndarray, t: float) -> np.ndarray:
    """The proximal operator of t * |x|_1: sign(x) * max(|x| - t, 0), elementwise.

    x has any shape; t >= 0. Every entry with |x| <= t becomes exactly 0; the others move t
    toward 0. Book: {ref}`sec-optim-proximal`.
    """
    return np.sign(x) * np.maximum(np.abs(x) - t, 0.0)


@shapes(w="...", grad="...", lr="> 0", lam=">= 0")
def proximal_l1_step(w: np.ndarray, grad: np.ndarray, lr: float, lam: float) -> np.ndarray:
    """One proximal gradient step on f(w) + lam * |w|_1: a gradient step on the smooth part f,
    then soft-thresholding by lr * lam. w and grad (the gradient of f at w) share a shape.
    Book: {ref}`sec-optim-proximal`.
    """
    check_shape("grad", grad, w.shape)
    return soft_threshold(w - lr * grad, lr * lam)


@shapes(A="N D", b="N", w="D", lam=">= 0")
def lasso_objective(A: np.ndarray, b: np.ndarray, w: np.ndarray, lam: float) -> float:
    """The lasso objective 0.5 * |A w - b|^2 + lam * |w|_1 for A (N, D), b (N,), w (D,)."""
    r = A @ w - b
    return float(0.5 * r @ r + lam * np.abs(w).sum())


class ISTAFit(NamedTuple):
    """What `ista` returns: the solution w (D,) and the objective (steps + 1,) at each iterate."""

    w: np.ndarray
    objective: np.ndarray


@shapes(A="N D", b="N", w0="optional: D", lam=">= 0", steps="int >= 0", lr="optional > 0")
def ista(
    A: np.ndarray,
    b: np.ndarray,
    lam: float,
    *,
    steps: int = 500,
    lr: float | None = None,
    w0: np.ndarray | None = None,
) -> ISTAFit:
    """ISTA for the lasso: minimize 0.5 * |A w - b|^2 + lam * |w|_1 over w, A (N, D), b (N,).

    Each step is `proximal_l1_step` with the gradient A^T (A w - b). The default lr is 1 / L,
    with L = |A|_2^2 the largest eigenvalue of A^T A (the gradient's Lipschitz constant), which
    makes the objective fall at every step. Starts at w0 (default 0). Book:
    {ref}`sec-optim-proximal`.
    """
    lr = 1.0 / np.linalg.norm(A, 2) ** 2 if lr is None else lr  # 1 / L
    w = np.zeros(A.shape[1], A.dtype) if w0 is None else w0
    objective = [lasso_objective(A, b, w, lam)]
    for _ in range(steps):
        w = proximal_l1_step(w, A.T @ (A @ w - b), lr, lam)
        objective.append(lasso_objective(A, b, w, lam))
    return ISTAFit(w, np.array(objective))


# ---------------------------------------------------------------------------------------------
# Optimizer paths on the test surfaces (the optimization chapter's explorer and figures)

# name -> (class, fixed arguments, the argument that beta sets, or None when beta is unused)
OPTIMIZER_CHOICES: dict[str, tuple[type, dict, str | None]] = {
    "SGD": (SGD, {}, None),
    "Momentum": (SGD, {}, "momentum"),
    "Nesterov": (SGD, {"nesterov": True}, "momentum"),
    "Adagrad": (Adagrad, {}, None),
    "RMSprop": (RMSprop, {}, "alpha"),
    "Adadelta": (Adadelta, {}, "rho"),
    "Adam": (Adam, {}, "betas"),
}


def optimizer_path(
    surface: str, optimizer: str, lr: float, beta: float = 0.9, steps: int = 500
) -> np.ndarray:
    """The points (n, 2) that `optimizer` visits on `SURFACES[surface]` from its start.

    `optimizer` is one of "SGD", "Momentum", "Nesterov", "Adagrad", "RMSprop", "Adadelta",
    "Adam"; `beta` is the momentum (Momentum, Nesterov), alpha (RMSprop), rho (Adadelta) or
    beta1 (Adam, with beta2 = 0.999), and is unused by SGD and Adagrad. The path stops early if
    it diverges (see `trajectory`).
    """
    check_choice("surface", surface, SURFACES)
    check_choice("optimizer", optimizer, OPTIMIZER_CHOICES)
    cls, hyper, knob = OPTIMIZER_CHOICES[optimizer]
    hyper = dict(hyper, lr=lr)
    if knob == "betas":
        hyper["betas"] = (beta, 0.999)
    elif knob is not None:
        hyper[knob] = beta
    s = SURFACES[surface]
    return trajectory(s.grad, s.start, cls, steps, **hyper)
