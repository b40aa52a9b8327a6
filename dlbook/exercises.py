"""Checks for the exercise cells of the chapters.

A check compares a learner's answer with the `dlbook` reference implementation, never with
numbers typed into a notebook. A wrong answer raises `AssertionError` with a hint (the expected
shape, the first wrong element and the relative error); a right one prints one line.
Never imports torch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import product

import numpy as np

import dlbook.numpy as dnp

__all__ = [
    "check_adam_step",
    "check_auc_pairs",
    "check_batchnorm_forward",
    "check_close",
    "check_closed_form",
    "check_confusion_matrix",
    "check_conv_output_shape",
    "check_cosine_lr",
    "check_inverted_dropout",
    "check_lenet_param_count",
    "check_maxpool_backward",
    "check_mean_test_loss",
    "check_momentum_step",
    "check_mp_gate",
    "check_mse_gradient",
    "check_novikoff_bound",
    "check_perceptron_update",
    "check_soft_threshold",
    "check_softmax_cross_entropy",
    "check_stable_lr",
    "check_swish",
    "check_tanh_backward",
    "check_two_layer_backward",
    "check_value_sigmoid",
    "check_xnor_network",
]

_OK = "\u2714"  # heavy check mark


def check_close(
    name: str, got: object, expected: object, *, rtol: float = 1e-10, atol: float = 1e-12
) -> None:
    """Raise AssertionError with a hint unless `got` equals `expected` within float64 tolerances."""
    expected = np.asarray(expected, dtype=np.float64)
    try:
        got = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        raise AssertionError(f"{name}: expected numbers, got {type(got).__name__}") from None
    if got.shape != expected.shape:
        raise AssertionError(f"{name}: expected shape {expected.shape}, got shape {got.shape}")
    bad = ~np.isclose(got, expected, rtol=rtol, atol=atol) | (np.isnan(got) != np.isnan(expected))
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        where = f" at index {first}" if got.ndim else ""
        g, e = float(got[first]), float(expected[first])
        error = (
            f"relative error {abs(g - e) / abs(e):.2e}"
            if e != 0
            else f"absolute error {abs(g):.2e}"
        )
        raise AssertionError(
            f"{name}: first wrong element{where}: got {g!r}, expected {e!r} ({error}); "
            f"{int(bad.sum())} of {bad.size} elements wrong"
        )


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
    print(f"{_OK} {getattr(gate, '__name__', 'gate')} matches its truth table {list(truth)}")


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
        got = update(w.copy(), b, x.copy(), y, lr)
        if not isinstance(got, tuple) or len(got) != 3:
            raise AssertionError("update must return a tuple (new_w, new_b, updated)")
        case = (
            f"w={np.round(w, 3).tolist()}, b={b:.3f}, x={np.round(x, 3).tolist()}, "
            f"y={y}, lr={lr:.3f}"
        )
        if bool(got[2]) != want[2]:
            raise AssertionError(f"updated should be {want[2]} for {case}")
        check_close(f"new_w for {case}", got[0], want[0])
        check_close(f"new_b for {case}", got[1], want[1])
    print(f"{_OK} your update agrees with Rosenblatt's rule on {len(cases)} cases")


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
    print(f"{_OK} your bound equals (R / gamma)**2 on 10 random separable data sets")


def check_xnor_network(W1: object, b1: object, w2: object, b2: object) -> None:
    """Check that the threshold network (W1, b1, w2, b2) computes XNOR of two inputs."""
    inputs = _binary_inputs(2)
    expected = np.array([1, 0, 0, 1])
    try:
        got = dnp.threshold_network(inputs, W1, b1, w2, b2)
    except ValueError as err:
        raise AssertionError(f"the weights do not fit a 2-input network: {err}") from None
    _check_truth_table("XNOR network", got, expected, inputs)
    print(f"{_OK} your network computes XNOR: {got.tolist()} for inputs 00, 01, 10, 11")


# ---------------------------------------------------------------------------------------------
# Chapter "Multilayer perceptrons and backpropagation" (chapters/backprop.ipynb)


def check_tanh_backward(tanh_backward: Callable, *, seed: int = 0) -> None:
    """Compare tanh_backward(dout, cache) with `dnp.tanh_backward` (cache from dnp.tanh_forward)."""
    rng = np.random.default_rng(seed)
    shapes = [(5,), (4, 3), (2, 3, 4)]
    for shape in shapes:
        x, dout = rng.normal(scale=2.0, size=shape), rng.normal(size=shape)
        _, cache = dnp.tanh_forward(x)
        got = tanh_backward(dout.copy(), cache)
        check_close(f"dx for x of shape {shape}", got, dnp.tanh_backward(dout, cache))
    print(f"{_OK} your tanh_backward agrees with dnp.tanh_backward on {len(shapes)} shapes")


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
        got = backward(dout.copy(), x.copy(), w1.copy(), b1.copy(), w2.copy())
        if not isinstance(got, tuple | list) or len(got) != 4:
            raise AssertionError("backward must return a tuple (dw1, db1, dw2, db2)")
        want = _two_layer_reference(dout, x, w1, b1, w2)
        for name, g, e in zip(("dw1", "db1", "dw2", "db2"), got, want, strict=True):
            check_close(f"{name} (N={n}, D={d}, H={h}, M={m})", g, e)
    print(f"{_OK} your backward pass agrees with the chain rule through dnp's layers")


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
    print(f"{_OK} your swish layer passes the gradient check on {len(shapes)} shapes")


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
    print(f"{_OK} your Value sigmoid has the right values and gradients at 5 points")


# ---------------------------------------------------------------------------------------------
# Chapter "Linear models and gradient descent" (chapters/linear_models.ipynb)


def _pair(name: str, got: object, names: str) -> tuple[object, object]:
    if not isinstance(got, tuple | list) or len(got) != 2:
        raise AssertionError(f"{name} must return a tuple {names}")
    return got[0], got[1]


def check_closed_form(fit: Callable, *, seed: int = 0) -> None:
    """Compare fit(X, y) -> (w (D,), b) with `dnp.linear_regression_closed_form` (no penalty)."""
    rng = np.random.default_rng(seed)
    for n, d in [(20, 1), (50, 3), (8, 5), (100, 2)]:
        X = rng.normal(size=(n, d)) * rng.uniform(0.5, 5.0, size=d) + rng.normal(size=d)
        y = rng.normal(size=n)
        w, b = _pair("fit", fit(X.copy(), y.copy()), "(w, b)")
        want_w, want_b = dnp.linear_regression_closed_form(X, y)
        check_close(f"w for N={n}, D={d}", w, want_w, rtol=1e-8, atol=1e-10)
        check_close(f"b for N={n}, D={d}", b, want_b, rtol=1e-8, atol=1e-10)
    print(f"{_OK} your least-squares fit agrees with dnp.linear_regression_closed_form")


def check_mse_gradient(grad: Callable, *, seed: int = 0) -> None:
    """Compare grad(X, y, w, b) -> (dw, db) of mean((X @ w + b - y)**2) with
    `dnp.linear_model_loss` (the chain rule through dnp.linear_forward and dnp.mse_loss)."""
    rng = np.random.default_rng(seed)
    for n, d in [(1, 1), (10, 3), (25, 2), (7, 6)]:
        X, y = rng.normal(size=(n, d)), rng.normal(size=n)
        w, b = rng.normal(size=d), float(rng.normal())
        dw, db = _pair("grad", grad(X.copy(), y.copy(), w.copy(), b), "(dw, db)")
        _, want_dw, want_db = dnp.linear_model_loss(X, y, w, b)
        check_close(f"dw for N={n}, D={d}", dw, want_dw)
        check_close(f"db for N={n}, D={d}", db, want_db)
    print(f"{_OK} your gradient of the mean squared error agrees with dnp's on 4 problems")


def check_softmax_cross_entropy(loss_fn: Callable, *, seed: int = 0) -> None:
    """Compare loss_fn(logits, y) -> (loss, dlogits) with `dnp.softmax_cross_entropy`, also for
    logits of 1e4 (which overflow exp unless the row maximum is subtracted first)."""
    rng = np.random.default_rng(seed)
    cases = [
        (rng.normal(size=(n, c)) * 3, rng.integers(0, c, size=n))
        for n, c in [(1, 2), (6, 3), (20, 10)]
    ]
    cases.append((np.array([[1e4, 0.0, -1e4], [0.0, 1e4, 1e4]]), np.array([1, 2])))
    for logits, y in cases:
        where = f"logits of shape {logits.shape}" + (
            " and size 1e4" if abs(logits).max() > 100 else ""
        )
        with np.errstate(all="ignore"):
            try:
                got = loss_fn(logits.copy(), y.copy())
            except FloatingPointError as err:
                raise AssertionError(f"{where}: {err}; subtract each row's maximum first") from None
        loss, dlogits = _pair("loss_fn", got, "(loss, dlogits)")
        want_loss, want_d = dnp.softmax_cross_entropy(logits, y)
        if not np.all(np.isfinite(np.asarray(loss, dtype=np.float64))):
            raise AssertionError(
                f"{where}: the loss is {loss}; exp overflows, so subtract each row's maximum "
                "before exponentiating (log-sum-exp)"
            )
        check_close(f"loss for {where}", loss, want_loss)
        check_close(f"dlogits for {where}", dlogits, want_d)
    print(f"{_OK} your softmax cross-entropy and its gradient agree with dnp's, even at 1e4")


def check_stable_lr(stable_lr: Callable, *, seed: int = 0) -> None:
    """Compare stable_lr(H) with `dnp.largest_stable_lr` (2 / lambda_max) on Hessians."""
    rng = np.random.default_rng(seed)
    hessians = [np.diag([4.0, 1.0]), dnp.mse_hessian(rng.normal(size=(30, 2)) * [1.0, 5.0])]
    for p in (1, 3, 5):
        A = rng.normal(size=(p, p + 2))
        hessians.append(A @ A.T)
    for H in hessians:
        check_close(
            f"largest stable lr for a {H.shape} Hessian",
            stable_lr(H.copy()),
            dnp.largest_stable_lr(H),
        )
    print(f"{_OK} your learning-rate limit is 2 / lambda_max on {len(hessians)} Hessians")


# ---------------------------------------------------------------------------------------------
# Chapter "Optimization"


def _grad_sequence(rng: np.random.Generator, shape: tuple[int, ...], n: int) -> list[np.ndarray]:
    """n gradients whose scale changes from step to step."""
    return [rng.uniform(0.1, 3.0) * rng.normal(size=shape) for _ in range(n)]


def check_momentum_step(step: Callable, *, seed: int = 0) -> None:
    """Compare step(p, g, velocity, lr, momentum) -> (new_p, new_velocity), velocity None at the
    first step, with 15 steps of `dnp.SGD(momentum=...)` on random gradients."""
    rng = np.random.default_rng(seed)
    for lr, momentum in [(0.1, 0.9), (0.5, 0.5), (0.01, 0.99)]:
        p0 = rng.normal(size=(3, 2))
        ref = [p0.copy()]
        opt = dnp.SGD(ref, lr=lr, momentum=momentum)
        p, velocity = p0.copy(), None
        for k, g in enumerate(_grad_sequence(rng, p0.shape, 15)):
            opt.step([g])
            out = step(
                p.copy(), g.copy(), None if velocity is None else velocity.copy(), lr, momentum
            )
            if not isinstance(out, tuple) or len(out) != 2:
                raise AssertionError("step must return a tuple (new_p, new_velocity)")
            p, velocity = (np.asarray(a, dtype=np.float64) for a in out)
            check_close(f"p after step {k + 1} (lr={lr}, momentum={momentum})", p, ref[0])
            check_close(f"velocity after step {k + 1}", velocity, opt.velocity[0])
    print(f"{_OK} your momentum step matches dnp.SGD (and torch.optim.SGD) for 3 x 15 steps")


def check_adam_step(step: Callable, *, seed: int = 0) -> None:
    """Compare step(p, g, m, v, t, lr, beta1, beta2, eps) -> (new_p, new_m, new_v) with
    `dnp.Adam` over 10 steps, for several betas and eps."""
    rng = np.random.default_rng(seed)
    cases = [(0.01, 0.9, 0.999, 1e-8), (0.1, 0.5, 0.9, 1e-3), (0.05, 0.0, 0.99, 0.1)]
    for lr, beta1, beta2, eps in cases:
        p0 = rng.normal(size=4)
        ref = [p0.copy()]
        opt = dnp.Adam(ref, lr=lr, betas=(beta1, beta2), eps=eps)
        p, m, v = p0.copy(), np.zeros(4), np.zeros(4)
        for t, g in enumerate(_grad_sequence(rng, p0.shape, 10), start=1):
            opt.step([g])
            out = step(p.copy(), g.copy(), m.copy(), v.copy(), t, lr, beta1, beta2, eps)
            if not isinstance(out, tuple) or len(out) != 3:
                raise AssertionError("step must return a tuple (new_p, new_m, new_v)")
            p, m, v = (np.asarray(a, dtype=np.float64) for a in out)
            case = f"step t={t} (lr={lr}, beta1={beta1}, beta2={beta2}, eps={eps})"
            check_close(f"m after {case}", m, opt.m[0])
            check_close(f"v after {case}", v, opt.v[0])
            check_close(f"p after {case}: check the bias corrections and eps", p, ref[0])
    print(f"{_OK} your Adam step matches dnp.Adam (and torch.optim.Adam) for 3 x 10 steps")


def check_soft_threshold(soft_threshold: Callable, *, seed: int = 0) -> None:
    """Compare soft_threshold(x, t) with `dnp.soft_threshold`, exact zeros included."""
    rng = np.random.default_rng(seed)
    for t in (0.0, 0.5, 1.0, 3.0):
        x = rng.normal(size=(5, 6)) * 2
        x[0, :3] = [t, -t, 0.0]  # on the threshold and at zero
        want = dnp.soft_threshold(x, t)
        got = np.asarray(soft_threshold(x.copy(), t), dtype=np.float64)
        check_close(f"soft_threshold(x, t={t})", got, want)
        if got.shape == want.shape and np.any((got != 0) & (want == 0)):
            raise AssertionError(f"t={t}: entries with |x| <= t must be exactly 0")
    print(f"{_OK} your soft-thresholding matches dnp.soft_threshold for 4 thresholds")


def check_cosine_lr(cosine_lr: Callable) -> None:
    """Compare cosine_lr(step, base_lr, T_max, eta_min) with `dnp.cosine_annealing_lr`."""
    for base_lr, T_max, eta_min in [(0.1, 10, 0.0), (1.0, 50, 0.01), (0.3, 7, 0.1)]:
        steps = np.arange(2 * T_max + 1)
        got = [cosine_lr(int(s), base_lr, T_max, eta_min) for s in steps]
        want = dnp.cosine_annealing_lr(steps, base_lr, T_max, eta_min)
        check_close(f"lr for base_lr={base_lr}, T_max={T_max}, eta_min={eta_min}", got, want)
    print(f"{_OK} your schedule matches dnp.cosine_annealing_lr (and torch's CosineAnnealingLR)")


# ---------------------------------------------------------------------------------------------
# Chapter "Generalization, regularization and evaluation" (chapters/regularization.ipynb)


def check_confusion_matrix(confusion: Callable, *, seed: int = 0) -> None:
    """Compare confusion(y_true, y_pred, k) -> (k, k) counts with `dlbook.metrics`: rows are
    true classes, columns predicted classes, and correct predictions lie on the diagonal."""
    from dlbook import metrics

    rng = np.random.default_rng(seed)
    cases = [(np.array([0, 1, 2, 2]), np.array([0, 1, 2, 2]), 3)]  # all correct
    cases.append((np.array([0, 0, 1]), np.array([1, 1, 1]), 3))  # class 2 never appears
    for n, k in [(20, 2), (50, 4), (7, 5)]:
        cases.append((rng.integers(0, k, size=n), rng.integers(0, k, size=n), k))
    for y_true, y_pred, k in cases:
        want = metrics.confusion_matrix(y_true, y_pred, num_classes=k)
        got = np.asarray(confusion(y_true.copy(), y_pred.copy(), k))
        where = f"y_true={y_true.tolist()[:8]}, y_pred={y_pred.tolist()[:8]}, k={k}"
        if (
            got.shape == want.shape
            and np.array_equal(got, want.T)
            and not np.array_equal(got, want)
        ):
            raise AssertionError(
                f"{where}: your matrix is transposed; row i must be the TRUE class i"
            )
        check_close(f"confusion matrix for {where}", got, want)
    print(f"{_OK} your confusion matrix matches dlbook.metrics on {len(cases)} cases")


def check_batchnorm_forward(forward: Callable, *, seed: int = 0) -> None:
    """Compare forward(x, gamma, beta, running_mean, running_var, momentum, eps) -> (out,
    new_running_mean, new_running_var), in training mode, with `dnp.batchnorm_forward`."""
    rng = np.random.default_rng(seed)
    for n, d, momentum in [(8, 3, 0.1), (2, 1, 0.5), (30, 5, 1.0)]:
        x = rng.normal(loc=2.0, scale=3.0, size=(n, d))
        gamma, beta = rng.normal(size=d), rng.normal(size=d)
        mean, var, eps = rng.normal(size=d), rng.uniform(0.5, 2.0, size=d), 1e-5
        got = forward(x.copy(), gamma.copy(), beta.copy(), mean.copy(), var.copy(), momentum, eps)
        if not isinstance(got, tuple | list) or len(got) != 3:
            raise AssertionError("forward must return (out, new_running_mean, new_running_var)")
        want = dnp.batchnorm_forward(
            x, gamma, beta, mean, var, training=True, momentum=momentum, eps=eps
        )
        case = f"N={n}, D={d}, momentum={momentum}"
        check_close(f"out for {case} (normalize with the biased variance)", got[0], want[0])
        check_close(f"new_running_mean for {case}", got[1], want[1])
        check_close(
            f"new_running_var for {case} (the running average uses the unbiased variance)",
            got[2],
            want[2],
        )
    print(f"{_OK} your batch norm matches dnp.batchnorm_forward (and torch.nn.BatchNorm1d)")


def check_auc_pairs(auc: Callable, *, seed: int = 0) -> None:
    """Compare auc(y, scores), the fraction of (positive, negative) pairs ranked correctly with
    ties counting 1/2, with `dlbook.metrics.roc_auc` (the area under the ROC curve)."""
    from dlbook import metrics

    rng = np.random.default_rng(seed)
    cases = [(np.array([0, 1, 0, 1]), np.array([0.5, 0.5, 0.5, 0.5]))]  # all tied: 1/2
    for n in (10, 40, 100):
        y = rng.integers(0, 2, size=n)
        y[:2] = [0, 1]
        cases.append((y, np.round(rng.normal(size=n) + y, 1)))  # rounded: many ties
    for y, scores in cases:
        check_close(
            f"AUC for {len(y)} samples (ties count 1/2)",
            auc(y.copy(), scores.copy()),
            metrics.roc_auc(y, scores),
        )
    print(f"{_OK} your pair-counting AUC equals the area under dlbook's ROC curve")


def check_inverted_dropout(dropout: Callable, *, seed: int = 0) -> None:
    """Compare dropout(x, keep, p) -> out, given the boolean mask `keep` of kept entries, with
    the training pass of `dnp.dropout_forward` that drew that mask."""
    rng = np.random.default_rng(seed)
    for shape, p in [((4, 5), 0.5), ((3, 2, 2), 0.2), ((100,), 0.9)]:
        x = rng.normal(size=shape)
        want, cache = dnp.dropout_forward(x, p, training=True, rng=rng)
        keep = cache.mask != 0
        got = dropout(x.copy(), keep.copy(), p)
        check_close(f"dropout(x, keep, p={p}) for x of shape {shape}", got, want)
    print(f"{_OK} your inverted dropout matches dnp.dropout_forward: E[out] = x")


# ---------------------------------------------------------------------------------------------
# Chapter "Convolutional networks"


def check_conv_output_shape(shape_fn: Callable, *, seed: int = 0) -> None:
    """Compare shape_fn(x_shape, w_shape, stride, padding) -> (N, F, OH, OW) with the shape of
    `dnp.conv2d_forward`'s output on random cases (strides and paddings that do not divide)."""
    rng = np.random.default_rng(seed)
    cases = [((64, 1, 28, 28), (6, 1, 5, 5), 1, 2), ((64, 6, 14, 14), (16, 6, 5, 5), 1, 0)]
    while len(cases) < 20:
        n, c, f = (int(v) for v in rng.integers(1, 4, size=3))
        h, w = (int(v) for v in rng.integers(3, 12, size=2))
        kh, kw = (int(v) for v in rng.integers(1, 6, size=2))
        stride, padding = int(rng.integers(1, 4)), int(rng.integers(0, 3))
        if kh <= h + 2 * padding and kw <= w + 2 * padding:
            cases.append(((n, c, h, w), (f, c, kh, kw), stride, padding))
    for x_shape, w_shape, stride, padding in cases:
        out, _ = dnp.conv2d_forward(
            np.zeros(x_shape),
            np.zeros(w_shape),
            np.zeros(w_shape[0]),
            stride=stride,
            padding=padding,
        )
        got = shape_fn(x_shape, w_shape, stride, padding)
        try:
            got = tuple(int(d) for d in got)
        except TypeError:
            raise AssertionError(f"return a tuple (N, F, OH, OW); got {got!r}") from None
        if got != out.shape:
            raise AssertionError(
                f"x {x_shape}, w {w_shape}, stride={stride}, padding={padding}: expected "
                f"{out.shape}, got {got} (OH = floor((H + 2P - KH) / S) + 1)"
            )
    print(f"{_OK} your output shapes agree with conv2d_forward on {len(cases)} cases")


def check_maxpool_backward(backward: Callable, *, seed: int = 0) -> None:
    """Compare backward(dout, x, k) -> dx, the gradient of k x k max-pooling with stride k, with
    `dnp.maxpool2d_backward`."""
    rng = np.random.default_rng(seed)
    for shape, k in [((1, 1, 4, 4), 2), ((2, 3, 6, 6), 2), ((2, 2, 7, 5), 2), ((1, 2, 9, 9), 3)]:
        x = rng.normal(size=shape)  # continuous values: no ties within a window
        out, cache = dnp.maxpool2d_forward(x, k, stride=k)
        dout = rng.normal(size=out.shape)
        got = backward(dout.copy(), x.copy(), k)
        check_close(
            f"dx for x of shape {shape}, kernel {k}", got, dnp.maxpool2d_backward(dout, cache)
        )
    print(f"{_OK} your max-pool backward routes each gradient to its window's maximum")


def check_lenet_param_count(count: Callable) -> None:
    """Compare count(in_channels, num_classes, image_size) with the number of parameters of
    `dnp.lenet_init` (the LeNet of `dlbook.torch.LeNet`)."""
    rng = np.random.default_rng(0)
    for c, k, size in [(1, 10, 28), (3, 10, 32), (1, 2, 28), (3, 100, 32), (2, 7, 20)]:
        want = sum(
            p.size for p in dnp.lenet_init(rng, in_channels=c, num_classes=k, image_size=size)
        )
        got = count(c, k, size)
        if got != want:
            raise AssertionError(
                f"in_channels={c}, num_classes={k}, image_size={size}: expected {want:,} "
                f"parameters, got {got!r} (count every weight and bias; the flattened features "
                "are 16 x S x S)"
            )
    print(f"{_OK} your parameter counts agree with the LeNet of dlbook on 5 configurations")


def check_mean_test_loss(mean_loss: Callable, *, seed: int = 0) -> None:
    """Compare mean_loss(batch_losses, batch_sizes), the mean loss per example from per-batch
    mean losses, with the weighted average (the last batch is usually smaller)."""
    rng = np.random.default_rng(seed)
    for n, b in [(1000, 64), (10, 3), (256, 256), (2000, 300)]:
        sizes = np.full(-(-n // b), b)
        sizes[-1] = n - b * (len(sizes) - 1)
        per_example = rng.exponential(size=n)
        edges = np.cumsum(sizes)[:-1]
        losses = np.array([chunk.mean() for chunk in np.split(per_example, edges)])
        check_close(
            f"mean test loss over {n} examples in batches of {b}",
            mean_loss(losses.copy(), sizes.copy()),
            per_example.mean(),
        )
    print(f"{_OK} your test loss is the mean over examples, whatever the batch sizes")
