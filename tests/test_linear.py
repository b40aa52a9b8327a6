"""dlbook.numpy.linear: least squares, the three linear models, gradient descent and SGD."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import dlbook.numpy as dnp
from dlbook.numpy.gradcheck import numerical_gradient

seeds = st.integers(0, 2**32 - 1)
MODELS = ("linear", "logistic", "softmax")


def problem(model: str, seed: int, n: int = 30, d: int = 3, k: int = 3):
    """A random data set for `model` and random parameters of the right shapes."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    if model == "softmax":
        w, b = rng.normal(size=(d, k)), rng.normal(size=k)
        y = rng.integers(0, k, size=n)
    else:
        w, b = rng.normal(size=d), float(rng.normal())
        y = rng.normal(size=n) if model == "linear" else rng.integers(0, 2, size=n)
    return X, y, w, b


def torch_loss(model: str, scores: torch.Tensor, y: np.ndarray) -> torch.Tensor:
    if model == "softmax":
        return F.cross_entropy(scores, torch.as_tensor(y))
    target = torch.as_tensor(y, dtype=torch.float64)
    if model == "logistic":
        return F.binary_cross_entropy_with_logits(scores[:, 0], target)
    return F.mse_loss(scores[:, 0], target)


def torch_layer(w: np.ndarray, b: np.ndarray | float) -> torch.nn.Linear:
    """nn.Linear holding w (D,) or (D, K) and b, in float64 (its weight is w transposed)."""
    W = np.asarray(w).reshape(len(w), -1)
    layer = torch.nn.Linear(*W.shape, dtype=torch.float64)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(W.T))
        layer.bias.copy_(torch.tensor(np.ravel(b)))
    return layer


def torch_params(layer: torch.nn.Linear, w: np.ndarray) -> np.ndarray:
    W = layer.weight.detach().numpy().T
    return np.concatenate([W.reshape(np.shape(w)).ravel(), layer.bias.detach().numpy()])


# ---------------------------------------------------------------------------------------------
# Least squares in closed form


@settings(max_examples=30, deadline=None)
@given(seed=seeds, n=st.integers(5, 40), d=st.integers(1, 4))
def test_closed_form_matches_augmented_lstsq_and_zeroes_the_gradient(seed, n, d):
    rng = np.random.default_rng(seed)
    X, y = rng.normal(size=(n, d)) * rng.uniform(0.1, 10, size=d), rng.normal(size=n)
    w, b = dnp.linear_regression_closed_form(X, y)
    want = np.linalg.lstsq(np.hstack([X, np.ones((n, 1))]), y, rcond=None)[0]
    np.testing.assert_allclose(np.append(w, b), want, rtol=1e-8, atol=1e-10)
    _, dw, db = dnp.linear_model_loss(X, y, w, b)
    np.testing.assert_allclose(np.append(dw, db), 0.0, atol=1e-10)


def test_closed_form_recovers_noiseless_parameters(rng):
    X = rng.normal(size=(20, 3))
    w, b = dnp.linear_regression_closed_form(X, X @ np.array([1.0, -2.0, 0.5]) + 3.0)
    np.testing.assert_allclose(w, [1.0, -2.0, 0.5], rtol=1e-12)
    assert b == pytest.approx(3.0, rel=1e-12)


@pytest.mark.parametrize("l2", [0.01, 1.0, 100.0])
def test_ridge_solves_its_normal_equations(rng, l2):
    X, y = rng.normal(size=(25, 4)) + 2.0, rng.normal(size=25)
    w, b = dnp.linear_regression_closed_form(X, y, l2=l2)
    Xc, yc = X - X.mean(axis=0), y - y.mean()
    want = np.linalg.solve(Xc.T @ Xc + len(X) * l2 * np.eye(4), Xc.T @ yc)
    np.testing.assert_allclose(w, want, rtol=1e-10)
    assert b == pytest.approx(y.mean() - X.mean(axis=0) @ want, rel=1e-10)
    # the gradient of mean squared error + l2 ||w||^2 vanishes there
    _, dw, db = dnp.linear_model_loss(X, y, w, b)
    np.testing.assert_allclose(dw + 2 * l2 * w, 0.0, atol=1e-10)
    assert abs(db) < 1e-10
    w0, _ = dnp.linear_regression_closed_form(X, y)
    assert np.linalg.norm(w) < np.linalg.norm(w0)


def test_closed_form_handles_dependent_columns(rng):
    # a duplicated column makes X^T X singular: an explicit inverse fails, lstsq does not
    x = rng.normal(size=(30, 1))
    X = np.hstack([x, x])
    w, b = dnp.linear_regression_closed_form(X, 4.0 * x[:, 0] + 1.0)
    np.testing.assert_allclose(w, [2.0, 2.0], rtol=1e-10)  # the minimum-norm solution
    assert b == pytest.approx(1.0)


# ---------------------------------------------------------------------------------------------
# The loss and its gradient


@pytest.mark.parametrize("model", MODELS)
def test_linear_model_loss_matches_numerical(model):
    X, y, w, b = problem(model, seed=1)
    loss, dw, db = dnp.linear_model_loss(X, y, w, b, model=model)
    num_w = numerical_gradient(lambda v: dnp.linear_model_loss(X, y, v, b, model=model)[0], w)
    b_arr = np.atleast_1d(np.asarray(b, dtype=float))
    num_b = numerical_gradient(
        lambda v: dnp.linear_model_loss(X, y, w, v.reshape(np.shape(b)), model=model)[0], b_arr
    )
    np.testing.assert_allclose(dw, num_w, rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(np.atleast_1d(db), num_b, rtol=1e-6, atol=1e-10)
    assert np.shape(dw) == np.shape(w) and np.shape(db) == np.shape(b)
    assert isinstance(loss, float)


@pytest.mark.parametrize("model", MODELS)
@settings(max_examples=15, deadline=None)
@given(seed=seeds, n=st.integers(1, 20), d=st.integers(1, 4))
def test_linear_model_loss_matches_torch(model, seed, n, d):
    X, y, w, b = problem(model, seed, n=n, d=d)
    loss, dw, db = dnp.linear_model_loss(X, y, w, b, model=model)
    layer = torch_layer(w, b)
    want = torch_loss(model, layer(torch.tensor(X)), y)
    want.backward()
    assert loss == pytest.approx(want.item(), rel=1e-10, abs=1e-14)
    np.testing.assert_allclose(dw, layer.weight.grad.numpy().T.reshape(np.shape(w)), rtol=1e-10)
    np.testing.assert_allclose(np.ravel(db), layer.bias.grad.numpy(), rtol=1e-10, atol=1e-15)


def test_predict_shapes_and_probabilities(rng):
    X = rng.normal(size=(6, 2))
    np.testing.assert_allclose(
        dnp.linear_model_predict(X, np.array([1.0, 2.0]), 0.5), X @ [1.0, 2.0] + 0.5
    )
    p = dnp.linear_model_predict(X, np.array([1.0, 2.0]), 0.5, model="logistic")
    np.testing.assert_allclose(p, 1 / (1 + np.exp(-(X @ [1.0, 2.0] + 0.5))))
    probs = dnp.linear_model_predict(X, rng.normal(size=(2, 4)), np.zeros(4), model="softmax")
    assert probs.shape == (6, 4)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)


def test_mse_hessian_is_the_change_of_the_gradient(rng):
    # for a quadratic, grad(theta) - grad(theta0) = H (theta - theta0) exactly
    X, y = rng.normal(size=(15, 3)) + 1.0, rng.normal(size=15)
    H = dnp.mse_hessian(X)
    theta0, theta1 = rng.normal(size=4), rng.normal(size=4)
    g0 = np.append(*dnp.linear_model_loss(X, y, theta0[:3], theta0[3])[1:])
    g1 = np.append(*dnp.linear_model_loss(X, y, theta1[:3], theta1[3])[1:])
    np.testing.assert_allclose(g1 - g0, H @ (theta1 - theta0), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(H, H.T)


def test_largest_stable_lr(rng):
    A = rng.normal(size=(4, 4))
    H = A @ A.T
    assert dnp.largest_stable_lr(H) == pytest.approx(2 / np.linalg.eigvalsh(H).max())
    assert dnp.largest_stable_lr(np.diag([4.0, 1.0, 0.0])) == 0.5


@pytest.mark.parametrize(
    ("H", "match"),
    [
        (np.ones((2, 3)), "square"),
        (np.array([[1.0, 2.0], [0.0, 1.0]]), "symmetric"),
        (np.diag([1.0, -1.0]), "positive semi-definite"),
        (np.zeros((2, 2)), "positive semi-definite"),
        (np.ones(3), "H must be a 2-D"),
    ],
)
def test_largest_stable_lr_rejects_bad_matrices(H, match):
    with pytest.raises(ValueError, match=match):
        dnp.largest_stable_lr(H)


def test_standardize(rng):
    X = rng.normal(size=(50, 3)) * [1.0, 100.0, 0.01] + [5.0, -3.0, 0.0]
    Z, mean, std = dnp.standardize(X)
    np.testing.assert_allclose(Z.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(Z.std(axis=0), 1.0)
    Z2, _, _ = dnp.standardize(X[:5], mean, std)  # new data, training statistics
    np.testing.assert_allclose(Z2, Z[:5])
    with pytest.raises(ValueError, match=r"columns \[1\] are constant"):
        dnp.standardize(np.column_stack([X[:, 0], np.ones(50)]))
    with pytest.raises(ValueError, match="std must have shape"):
        dnp.standardize(X, mean, std[:2])


# ---------------------------------------------------------------------------------------------
# Gradient descent


@pytest.mark.parametrize("model", MODELS)
@settings(max_examples=8, deadline=None)
@given(seed=seeds, lr=st.floats(0.01, 1.0))
def test_gradient_descent_matches_torch_sgd(model, seed, lr):
    X, y, w0, b0 = problem(model, seed, n=20)
    fit = dnp.gradient_descent(X, y, model=model, lr=lr, epochs=15, w0=w0, b0=b0)
    layer = torch_layer(w0, b0)
    opt = torch.optim.SGD(layer.parameters(), lr=lr)
    losses = []
    for _ in range(15):
        opt.zero_grad()
        loss = torch_loss(model, layer(torch.tensor(X)), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    np.testing.assert_allclose(fit.loss[:-1], losses, rtol=1e-10)
    np.testing.assert_allclose(
        np.append(np.ravel(fit.w), fit.b), torch_params(layer, w0), rtol=1e-10, atol=1e-12
    )


def test_gradient_descent_converges_to_the_closed_form(rng):
    X = rng.normal(size=(50, 2)) + 1.0
    y = X @ np.array([2.0, -1.0]) + 0.5 + 0.1 * rng.normal(size=50)
    lr = 0.9 * dnp.largest_stable_lr(dnp.mse_hessian(X))
    fit = dnp.gradient_descent(X, y, lr=lr, epochs=2000, keep_path=True)
    w, b = dnp.linear_regression_closed_form(X, y)
    np.testing.assert_allclose(np.append(fit.w, fit.b), np.append(w, b), rtol=1e-9)
    assert not fit.diverged
    assert fit.path.shape == (2001, 3) and fit.loss.shape == fit.seen.shape == (2001,)
    np.testing.assert_array_equal(fit.path[0], 0.0)
    np.testing.assert_array_equal(fit.seen[:3], [0, 50, 100])
    assert np.all(np.diff(fit.loss) <= 1e-12)  # below 2/lambda_max the loss never rises


@pytest.mark.parametrize(("factor", "converges"), [(0.98, True), (1.02, False)])
def test_learning_rate_threshold_is_two_over_lambda_max(rng, factor, converges):
    X = rng.normal(size=(40, 2)) * [1.0, 3.0]
    y = X @ np.array([1.0, 1.0]) + rng.normal(size=40)
    lr = factor * dnp.largest_stable_lr(dnp.mse_hessian(X))
    fit = dnp.gradient_descent(X, y, lr=lr, epochs=3000)
    best = dnp.linear_model_loss(X, y, *dnp.linear_regression_closed_form(X, y))[0]
    if converges:
        assert fit.loss[-1] == pytest.approx(best, rel=1e-8)
    else:
        assert fit.diverged and fit.loss[-1] > 1e100 and len(fit.loss) < 3001


def test_logistic_and_softmax_learn_separable_blobs():
    from dlbook import data

    X, y = data.blobs(200, centers=((-2, -2), (2, 2)), std=0.7, labels="01", seed=1)
    fit = dnp.gradient_descent(X, y, model="logistic", lr=0.5, epochs=200)
    acc = np.mean((dnp.linear_model_predict(X, fit.w, fit.b, model="logistic") > 0.5) == y)
    assert acc > 0.98 and fit.loss[-1] < 0.1 * fit.loss[0]
    X3, y3 = data.blobs(300, centers=((0, 3), (3, -2), (-3, -2)), std=0.8, seed=2)
    fit3 = dnp.gradient_descent(X3, y3, model="softmax", lr=0.5, epochs=200)
    assert fit3.w.shape == (2, 3) and fit3.b.shape == (3,)
    pred = dnp.linear_model_predict(X3, fit3.w, fit3.b, model="softmax").argmax(axis=1)
    assert np.mean(pred == y3) > 0.95


# ---------------------------------------------------------------------------------------------
# Mini-batch SGD


@pytest.mark.parametrize("model", MODELS)
def test_full_batch_sgd_is_gradient_descent(model):
    X, y, w0, b0 = problem(model, seed=3)
    gd = dnp.gradient_descent(X, y, model=model, lr=0.3, epochs=10, w0=w0, b0=b0)
    sgd = dnp.minibatch_sgd(
        X,
        y,
        model=model,
        lr=0.3,
        epochs=10,
        batch_size=len(X),
        rng=np.random.default_rng(0),
        w0=w0,
        b0=b0,
    )
    np.testing.assert_allclose(sgd.loss, gd.loss, rtol=1e-12)
    np.testing.assert_allclose(np.ravel(sgd.w), np.ravel(gd.w), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("model", MODELS)
def test_minibatch_sgd_matches_torch_with_the_same_batches(model):
    X, y, w0, b0 = problem(model, seed=4, n=23)
    fit = dnp.minibatch_sgd(
        X,
        y,
        model=model,
        lr=0.2,
        epochs=3,
        batch_size=5,
        rng=np.random.default_rng(7),
        w0=w0,
        b0=b0,
    )
    layer = torch_layer(w0, b0)
    opt = torch.optim.SGD(layer.parameters(), lr=0.2)
    order_rng = np.random.default_rng(7)
    for _ in range(3):
        order = order_rng.permutation(len(X))
        for start in range(0, len(X), 5):
            batch = order[start : start + 5]
            opt.zero_grad()
            torch_loss(model, layer(torch.tensor(X[batch])), y[batch]).backward()
            opt.step()
    np.testing.assert_allclose(
        np.append(np.ravel(fit.w), fit.b), torch_params(layer, w0), rtol=1e-10, atol=1e-12
    )


def test_minibatch_sgd_records_and_is_reproducible(rng):
    X, y = rng.normal(size=(10, 2)), rng.normal(size=10)
    kwargs = {"lr": 0.05, "epochs": 2, "batch_size": 3}
    fit = dnp.minibatch_sgd(X, y, rng=np.random.default_rng(1), record_every=2, **kwargs)
    # 4 steps per epoch (3 + 3 + 3 + 1 examples): records at steps 2, 4 (end), 6, 8 (end)
    np.testing.assert_array_equal(fit.seen, [0, 6, 10, 16, 20])
    again = dnp.minibatch_sgd(X, y, rng=np.random.default_rng(1), record_every=2, **kwargs)
    np.testing.assert_array_equal(fit.loss, again.loss)
    other = dnp.minibatch_sgd(X, y, rng=np.random.default_rng(2), record_every=2, **kwargs)
    assert not np.array_equal(fit.w, other.w)
    per_epoch = dnp.minibatch_sgd(X, y, rng=np.random.default_rng(1), keep_path=True, **kwargs)
    np.testing.assert_array_equal(per_epoch.seen, [0, 10, 20])
    assert per_epoch.path.shape == (3, 3)
    np.testing.assert_array_equal(per_epoch.path[-1], np.append(per_epoch.w, per_epoch.b))


def test_minibatch_sgd_stops_when_it_diverges(rng):
    X, y = rng.normal(size=(20, 2)) * 10, rng.normal(size=20)
    fit = dnp.minibatch_sgd(X, y, lr=10.0, epochs=1000, batch_size=1, rng=rng)
    assert fit.diverged and fit.loss[-1] > 1e100
    assert fit.seen[-1] < 20 * 1000 and len(fit.loss) == len(fit.seen)


def test_sgd_on_one_example_at_a_time_approaches_the_least_squares_fit():
    from dlbook import data

    X, y = data.blobs(400, centers=((0.0, 0.0),), std=1.0, labels="int", seed=5)
    target = X @ np.array([1.5, -0.5]) + 2.0 + 0.1 * np.random.default_rng(5).normal(size=400)
    w, b = dnp.linear_regression_closed_form(X, target)
    fit = dnp.minibatch_sgd(
        X, target, lr=0.01, epochs=20, batch_size=1, rng=np.random.default_rng(0)
    )
    np.testing.assert_allclose(np.append(fit.w, fit.b), np.append(w, b), atol=0.05)


# ---------------------------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"model": "ridge"}, "model must be one of"),
        ({"lr": 0.0}, "lr must be"),
        ({"lr": np.nan}, "lr must be"),
        ({"epochs": 0}, "epochs must be an int >= 1"),
        ({"epochs": 2.0}, "epochs must be an int >= 1"),
        ({"w0": np.zeros(3)}, r"w0 must have shape \(2,\)"),
        ({"b0": np.zeros(2)}, "b0 must be a 0-D"),
        ({"model": "softmax", "w0": np.zeros(2)}, "w0 must be a 2-D"),
        ({"model": "softmax", "num_classes": 0}, "num_classes must be an int >= 1"),
        ({"model": "logistic", "y": np.arange(6.0)}, "y must hold binary labels"),
        ({"model": "softmax", "y": np.full(6, 0.5)}, "y must hold integer class labels"),
        ({"y": np.zeros(5)}, r"y must have shape \(N,\) with N = 6"),
        ({"X": np.full((6, 2), np.nan)}, "X contains NaN"),
        ({"X": np.zeros(6)}, "X must be a 2-D"),
    ],
)
@pytest.mark.parametrize("trainer", ["gd", "sgd"])
def test_training_rejects_bad_input(kwargs, match, trainer):
    args = {"X": np.ones((6, 2)), "y": np.array([0, 1, 0, 1, 1, 0]), "lr": 0.1, "epochs": 2}
    args.update(kwargs)
    X, y = args.pop("X"), args.pop("y")
    with pytest.raises(ValueError, match=match):
        if trainer == "gd":
            dnp.gradient_descent(X, y, **args)
        else:
            dnp.minibatch_sgd(X, y, batch_size=2, rng=np.random.default_rng(0), **args)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"batch_size": 0}, "batch_size must be an int >= 1"),
        ({"rng": 0}, "rng must be a numpy Generator"),
        ({"record_every": -1}, "record_every must be an int >= 1"),
    ],
)
def test_minibatch_sgd_rejects_bad_arguments(kwargs, match):
    args = {"lr": 0.1, "epochs": 1, "batch_size": 2, "rng": np.random.default_rng(0)}
    with pytest.raises(ValueError, match=match):
        dnp.minibatch_sgd(np.ones((4, 2)), np.ones(4), **{**args, **kwargs})


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((np.ones((4, 2)), np.ones(3)), {}, r"y must have shape \(N,\) with N = 4"),
        ((np.ones((4, 2)), np.ones(4)), {"l2": -1.0}, "l2 must be"),
        ((np.ones(4), np.ones(4)), {}, "X must be a 2-D"),
    ],
)
def test_closed_form_rejects_bad_input(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        dnp.linear_regression_closed_form(*args, **kwargs)


def test_linear_model_loss_rejects_mismatched_parameters():
    X, y = np.ones((4, 2)), np.zeros(4)
    with pytest.raises(ValueError, match=r"w must have shape \(2,\)"):
        dnp.linear_model_loss(X, y, np.ones(3), 0.0)
    with pytest.raises(ValueError, match=r"b must have shape \(3,\)"):
        dnp.linear_model_loss(X, y, np.ones((2, 3)), np.ones(2), model="softmax")
    with pytest.raises(ValueError, match=r"y must hold class labels in \[0, 3\)"):
        dnp.linear_model_loss(
            X, np.array([0, 1, 2, 3]), np.ones((2, 3)), np.ones(3), model="softmax"
        )


def test_n_classes_still_works_with_a_deprecation_warning(rng):
    X, y = rng.normal(size=(8, 2)), np.array([0, 1, 2, 0, 1, 2, 0, 1])
    new = dnp.gradient_descent(X, y, lr=0.1, epochs=2, model="softmax", num_classes=4)
    with pytest.warns(DeprecationWarning, match="num_classes"):
        old = dnp.gradient_descent(X, y, lr=0.1, epochs=2, model="softmax", n_classes=4)
    assert new.w.shape == old.w.shape == (2, 4)
    np.testing.assert_array_equal(new.w, old.w)
    with pytest.warns(DeprecationWarning):
        dnp.minibatch_sgd(
            X, y, lr=0.1, epochs=1, batch_size=4, rng=rng, model="softmax", n_classes=3
        )


def test_public_helpers_check_shapes(rng):
    W, b = dnp.as_linear_layer(np.ones(3), 0.5, 3)
    assert W.shape == (3, 1) and b.shape == (1,)
    W, b = dnp.as_linear_layer(np.ones((3, 4)), np.zeros(4), 3, "softmax")
    assert W.shape == (3, 4) and b.shape == (4,)
    with pytest.raises(ValueError, match="model must be one of"):
        dnp.as_linear_layer(np.ones(3), 0.0, 3, "ridge")
    w, b = dnp.linear_model_init(np.ones((4, 3)), np.array([0, 2, 1, 0]), "softmax")
    assert w.shape == (3, 3) and b.shape == (3,)
    w, b = dnp.linear_model_init(np.ones((4, 3), dtype=np.float32), np.zeros(4))
    assert w.dtype == np.float32 and b == 0.0
    np.testing.assert_allclose(dnp.hessian_eigenvalues(np.diag([3.0, 1.0])), [1.0, 3.0])


def test_float32_stays_float32(rng):
    X = rng.normal(size=(20, 3)).astype(np.float32)
    y = rng.normal(size=20).astype(np.float32)
    w, _ = dnp.linear_regression_closed_form(X, y, l2=0.1)
    assert w.dtype == np.float32
    assert dnp.mse_hessian(X).dtype == np.float32
    Z, mean, std = dnp.standardize(X)
    assert Z.dtype == mean.dtype == std.dtype == np.float32


@pytest.mark.parametrize("l2", [1e-3, 0.1])
def test_fit_polynomial_uses_the_books_l2_convention(rng, l2):
    # the fit minimizes mean(r^2) / 2 + (l2 / 2) ||w||^2: lambda = l2 in (lambda / 2) ||w||^2
    x = rng.uniform(-1, 1, size=30)
    y = np.sin(3 * x) + 0.1 * rng.normal(size=30)
    w, b = dnp.fit_polynomial(x, y, 5, l2=l2)
    _, dw, db = dnp.linear_model_loss(dnp.polynomial_features(x, 5), y, w, b)  # of mean(r^2)
    np.testing.assert_allclose(dw / 2 + l2 * w, 0.0, atol=1e-10)
    assert abs(db) < 1e-10
    w_half, _ = dnp.fit_polynomial(x, y, 5, l2=l2 / 2)
    assert not np.allclose(w, w_half)
