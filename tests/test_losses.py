"""dlbook.numpy.losses: parity with torch in float64, gradient checks, stability, bad input."""

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
shapes = st.lists(st.integers(1, 5), min_size=1, max_size=3).map(tuple)


def torch_loss_and_grad(fn, z, target):
    """A torch loss of (z, target) and its gradient with respect to z, in float64."""
    t = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    loss = fn(t, torch.as_tensor(target))
    loss.backward()
    return loss.item(), t.grad.numpy()


# ---------------------------------------------------------------------------------------------
# Softmax cross-entropy


@settings(max_examples=40, deadline=None)
@given(seed=seeds, n=st.integers(1, 8), c=st.integers(1, 6), scale=st.floats(0.1, 50.0))
def test_softmax_cross_entropy_matches_torch(seed, n, c, scale):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, c)) * scale
    y = rng.integers(0, c, size=n)
    loss, dlogits = dnp.softmax_cross_entropy(logits, y)
    want_loss, want_grad = torch_loss_and_grad(F.cross_entropy, logits, y)
    assert isinstance(loss, float)
    np.testing.assert_allclose(loss, want_loss, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(dlogits, want_grad, rtol=1e-10, atol=1e-13)


def test_softmax_cross_entropy_matches_numerical(rng):
    logits = rng.normal(size=(5, 4)) * 2
    y = np.array([0, 3, 1, 1, 2])
    _, dlogits = dnp.softmax_cross_entropy(logits, y)
    expected = numerical_gradient(lambda v: dnp.softmax_cross_entropy(v, y)[0], logits)
    np.testing.assert_allclose(dlogits, expected, rtol=1e-6, atol=1e-10)
    assert dnp.relative_error(dlogits, expected) < 1e-6


def test_softmax_cross_entropy_known_values():
    # uniform logits over C classes: loss log C; gradient (1/C - onehot) / N
    loss, d = dnp.softmax_cross_entropy(np.zeros((2, 4)), np.array([1, 3]))
    assert loss == pytest.approx(np.log(4), rel=1e-15)
    np.testing.assert_allclose(d, (0.25 - np.eye(4)[[1, 3]]) / 2)
    # one class: the probability is 1 and the loss 0
    assert dnp.softmax_cross_entropy(np.array([[3.0], [-2.0]]), np.array([0, 0]))[0] == 0.0
    # integer-valued float labels are accepted
    assert dnp.softmax_cross_entropy(np.zeros((2, 4)), np.array([1.0, 3.0]))[0] == loss


@pytest.mark.filterwarnings("error")
def test_softmax_cross_entropy_is_stable_for_logits_of_1e4():
    logits = np.array([[1e4, 0.0, -1e4]] * 3 + [[-1e4, -1e4, -1e4]])
    y = np.array([0, 1, 2, 1])
    with np.errstate(all="raise"):
        loss, dlogits = dnp.softmax_cross_entropy(logits, y)
    # per example: 0, 1e4, 2e4 and log 3
    assert loss == pytest.approx((0 + 1e4 + 2e4 + np.log(3)) / 4, rel=1e-14)
    assert np.all(np.isfinite(dlogits))
    np.testing.assert_allclose(dlogits[1], [0.25, -0.25, 0.0], atol=1e-300)
    want_loss, want_grad = torch_loss_and_grad(F.cross_entropy, logits, y)
    np.testing.assert_allclose(loss, want_loss, rtol=1e-12)
    np.testing.assert_allclose(dlogits, want_grad, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize(
    ("logits", "y", "match"),
    [
        (np.zeros((3, 4)), np.array([0, 4, 1]), r"y must hold class labels in \[0, 4\)"),
        (np.zeros((3, 4)), np.array([0, -1, 1]), r"y must hold class labels in \[0, 4\)"),
        (np.zeros((3, 4)), np.array([0, 1.5, 1]), "y must hold integer class labels"),
        (np.zeros((3, 4)), np.array([0, 1]), r"y must have shape \(N,\) with N = 3"),
        (np.zeros((3, 4)), np.array([[0], [1], [2]]), "y must be a 1-D"),
        (np.zeros((3, 4)), np.array([0, np.nan, 1]), "y contains NaN"),
        (np.zeros(4), np.array([0]), r"logits must be a 2-D array of shape \(N, C\)"),
        (np.array([[0.0, np.nan]]), np.array([0]), "logits contains NaN"),
        (np.array([[0.0, np.inf]]), np.array([0]), "logits contains inf"),
        (np.zeros((0, 3)), np.zeros(0), "logits is empty"),
        (np.zeros((2, 3)), ["a", "b"], "y must be an array of numbers"),
    ],
)
def test_softmax_cross_entropy_rejects_bad_input(logits, y, match):
    with pytest.raises(ValueError, match=match):
        dnp.softmax_cross_entropy(logits, y)


# ---------------------------------------------------------------------------------------------
# Mean squared error


@settings(max_examples=40, deadline=None)
@given(seed=seeds, shape=shapes, scale=st.floats(0.01, 100.0))
def test_mse_loss_matches_torch(seed, shape, scale):
    rng = np.random.default_rng(seed)
    pred, target = rng.normal(size=shape) * scale, rng.normal(size=shape) * scale
    loss, dpred = dnp.mse_loss(pred, target)
    want_loss, want_grad = torch_loss_and_grad(F.mse_loss, pred, target)
    assert isinstance(loss, float)
    np.testing.assert_allclose(loss, want_loss, rtol=1e-10)
    np.testing.assert_allclose(dpred, want_grad, rtol=1e-10, atol=1e-300)


@pytest.mark.parametrize("shape", [(6,), (3, 2), (2, 2, 3)])
def test_mse_loss_matches_numerical(shape, rng):
    pred, target = rng.normal(size=shape), rng.normal(size=shape)
    _, dpred = dnp.mse_loss(pred, target)
    expected = numerical_gradient(lambda v: dnp.mse_loss(v, target)[0], pred)
    np.testing.assert_allclose(dpred, expected, rtol=1e-6, atol=1e-10)


def test_mse_loss_known_values():
    loss, d = dnp.mse_loss(np.array([1.0, 2.0, 4.0, 0.0]), np.array([1.0, 0.0, 1.0, 0.0]))
    assert loss == (0 + 4 + 9 + 0) / 4
    np.testing.assert_array_equal(d, [0.0, 1.0, 1.5, 0.0])  # 2 (pred - target) / 4


@pytest.mark.parametrize(
    ("pred", "target", "match"),
    [
        (np.zeros(3), np.zeros(4), r"target must have shape \(3,\)"),
        (np.zeros((3, 1)), np.zeros(3), "target must (have shape|be a 2-D array)"),
        (np.array([0.0, np.nan]), np.zeros(2), "pred contains NaN"),
        (np.zeros(2), np.array([np.nan, 0.0]), "target contains NaN"),
        (np.zeros(0), np.zeros(0), "pred is empty"),
    ],
)
def test_mse_loss_rejects_bad_input(pred, target, match):
    with pytest.raises(ValueError, match=match):
        dnp.mse_loss(pred, target)


# ---------------------------------------------------------------------------------------------
# Binary cross-entropy with logits


@settings(max_examples=40, deadline=None)
@given(seed=seeds, shape=shapes, scale=st.floats(0.1, 50.0))
def test_bce_with_logits_matches_torch(seed, shape, scale):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=shape) * scale
    y = rng.integers(0, 2, size=shape).astype(np.float64)
    loss, dz = dnp.binary_cross_entropy_with_logits(z, y)
    want_loss, want_grad = torch_loss_and_grad(F.binary_cross_entropy_with_logits, z, y)
    assert isinstance(loss, float)
    np.testing.assert_allclose(loss, want_loss, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(dz, want_grad, rtol=1e-10, atol=1e-14)


def test_bce_with_logits_matches_numerical(rng):
    z = rng.normal(size=(4, 3)) * 3
    y = rng.integers(0, 2, size=(4, 3)).astype(float)
    _, dz = dnp.binary_cross_entropy_with_logits(z, y)
    expected = numerical_gradient(lambda v: dnp.binary_cross_entropy_with_logits(v, y)[0], z)
    np.testing.assert_allclose(dz, expected, rtol=1e-6, atol=1e-10)


def test_bce_with_logits_equals_the_log_likelihood_form(rng):
    z, y = rng.normal(size=10), rng.integers(0, 2, size=10)
    p = 1 / (1 + np.exp(-z))
    naive = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert dnp.binary_cross_entropy_with_logits(z, y)[0] == pytest.approx(naive, rel=1e-12)
    # two-class softmax cross-entropy with logits (0, z) is the same loss
    two_class = np.column_stack([np.zeros(10), z])
    assert dnp.softmax_cross_entropy(two_class, y)[0] == pytest.approx(naive, rel=1e-12)


@pytest.mark.filterwarnings("error")
def test_bce_with_logits_is_stable_for_large_logits():
    z = np.array([1e3, 1e3, -1e3, -1e3, 1e4])
    y = np.array([0.0, 1.0, 0.0, 1.0, 1.0])
    with np.errstate(all="raise"):
        loss, dz = dnp.binary_cross_entropy_with_logits(z, y)
    assert loss == pytest.approx((1e3 + 0 + 0 + 1e3 + 0) / 5, rel=1e-15)
    np.testing.assert_array_equal(dz, np.array([1.0, 0.0, 0.0, -1.0, 0.0]) / 5)
    want_loss, want_grad = torch_loss_and_grad(F.binary_cross_entropy_with_logits, z, y)
    np.testing.assert_allclose(loss, want_loss, rtol=1e-12)
    np.testing.assert_allclose(dz, want_grad, rtol=1e-12)


@pytest.mark.parametrize(
    ("z", "y", "match"),
    [
        (np.zeros(3), np.array([0.0, 1.0, 2.0]), "y must hold binary labels 0 or 1"),
        (np.zeros(3), np.array([0.0, 0.5, 1.0]), "y must hold binary labels 0 or 1"),
        (np.zeros(3), np.array([0.0, -1.0, 1.0]), "y must hold binary labels 0 or 1"),
        (np.zeros(3), np.zeros(2), r"y must have shape \(3,\)"),
        (np.zeros((3, 1)), np.zeros(3), "y must (have shape|be a [12]-D array)"),
        (np.array([0.0, np.nan]), np.zeros(2), "logits contains NaN"),
        (np.zeros(2), np.array([np.nan, 1.0]), "y contains NaN"),
    ],
)
def test_bce_with_logits_rejects_bad_input(z, y, match):
    with pytest.raises(ValueError, match=match):
        dnp.binary_cross_entropy_with_logits(z, y)


@pytest.mark.parametrize(
    ("fn", "args"),
    [
        (dnp.softmax_cross_entropy, (np.ones((2, 3)), np.array([0, 2]))),
        (dnp.mse_loss, (np.ones((2, 3)), np.zeros((2, 3)))),
        (dnp.binary_cross_entropy_with_logits, (np.ones((2, 3)), np.zeros((2, 3)))),
    ],
)
def test_losses_do_not_mutate_their_inputs(fn, args):
    before = [a.copy() for a in args]
    fn(*args)
    for a, b in zip(args, before, strict=True):
        np.testing.assert_array_equal(a, b)
