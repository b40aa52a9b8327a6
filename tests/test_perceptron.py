"""dlbook.numpy.perceptron: truth tables, the update rule, convergence, bounds and bad input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dlbook.numpy as dnp

INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
XOR_PM1 = np.array([-1, 1, 1, -1])


def separable(seed: int, n: int, d: int, margin: float = 0.05):
    """Random data in [-1, 1]^d labelled by a random affine separator, with a margin."""
    rng = np.random.default_rng(seed)
    w, b = rng.normal(size=d), rng.uniform(-0.3, 0.3)
    X = rng.uniform(-1, 1, size=(4 * n, d))
    score = (X @ w + b) / np.linalg.norm(np.append(w, b))
    keep = np.abs(score) > margin
    X, score = X[keep][:n], score[keep][:n]
    return X, np.where(score > 0, 1, -1), w, b


@pytest.mark.parametrize(
    ("threshold", "inhibitory", "truth"),
    [
        (2, (), [0, 0, 0, 1]),
        (1, (), [0, 1, 1, 1]),
        (0, (0, 1), [1, 0, 0, 0]),
        (1, (1,), [0, 0, 1, 0]),
    ],
)
def test_mcculloch_pitts_truth_tables(threshold, inhibitory, truth):
    out = dnp.mcculloch_pitts(INPUTS, threshold, inhibitory=inhibitory)
    assert out.tolist() == truth
    assert out.dtype == np.int64


def test_mcculloch_pitts_inhibition_is_absolute():
    # Three excitatory inputs active and threshold 1: one inhibitory input still vetoes firing.
    x = np.array([[1, 1, 1, 1], [1, 1, 1, 0]])
    assert dnp.mcculloch_pitts(x, 1, inhibitory=[3]).tolist() == [0, 1]


@pytest.mark.parametrize(
    ("x", "threshold", "inhibitory", "match"),
    [
        (np.array([[0, 2]]), 1, (), "binary"),
        (np.array([0, 1]), 1, (), "2-D"),
        (INPUTS, 1.5, (), "threshold"),
        (INPUTS, -1, (), "threshold"),
        (INPUTS, 1, (2,), "inhibitory"),
        (np.zeros((0, 2)), 1, (), "empty"),
        (np.array([[np.nan, 1.0]]), 1, (), "NaN"),
    ],
)
def test_mcculloch_pitts_rejects_bad_input(x, threshold, inhibitory, match):
    with pytest.raises(ValueError, match=match):
        dnp.mcculloch_pitts(x, threshold, inhibitory=inhibitory)


def test_predict_sign_convention():
    X = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 5.0]])
    assert dnp.perceptron_predict(X, np.array([1.0, 0.0]), 0.0).tolist() == [1, -1, -1]


def test_update_on_a_mistake_and_on_the_boundary():
    w, b, x = np.array([1.0, -1.0]), 0.5, np.array([2.0, 3.0])
    # score = 2 - 3 + 0.5 = -0.5, label +1: a mistake
    new_w, new_b, updated = dnp.perceptron_update(w, b, x, 1, lr=0.5)
    assert updated
    np.testing.assert_array_equal(new_w, w + 0.5 * x)
    assert new_b == 1.0
    # from zero weights every point is on the boundary and triggers an update
    new_w, new_b, updated = dnp.perceptron_update(np.zeros(2), 0.0, x, -1)
    assert updated
    np.testing.assert_array_equal(new_w, -x)
    assert new_b == -1.0


def test_no_update_when_correct_and_inputs_untouched():
    w, x = np.array([1.0, 1.0]), np.array([1.0, 1.0])
    new_w, new_b, updated = dnp.perceptron_update(w, 0.0, x, 1)
    assert not updated
    np.testing.assert_array_equal(new_w, w)
    new_w[0] = 99.0
    assert w[0] == 1.0  # the returned weights are a copy


def test_update_accepts_zero_one_labels():
    x = np.array([1.0, 2.0])
    a = dnp.perceptron_update(np.zeros(2), 0.0, x, 0)
    b = dnp.perceptron_update(np.zeros(2), 0.0, x, -1)
    np.testing.assert_array_equal(a[0], b[0])


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((np.zeros(2), 0.0, np.ones(3), 1), "w must"),
        ((np.zeros(2), 0.0, np.ones((1, 2)), 1), "x must be a 1-D"),
        ((np.zeros(2), 0.0, np.ones(2), 2), "labels -1/\\+1"),
        ((np.zeros(2), 0.0, np.ones(2), 0.5), "labels -1/\\+1"),
        ((np.zeros(2), np.nan, np.ones(2), 1), "b contains NaN"),
        ((np.zeros(2), 0.0, np.array([1.0, np.inf]), 1), "x contains inf"),
        ((np.zeros(2), [0.0, 1.0], np.ones(2), 1), "b must"),
    ],
)
def test_update_rejects_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        dnp.perceptron_update(*args)


@pytest.mark.parametrize("lr", [0.0, -1.0, np.nan])
def test_update_rejects_bad_learning_rate(lr):
    with pytest.raises(ValueError, match="lr"):
        dnp.perceptron_update(np.zeros(2), 0.0, np.ones(2), 1, lr)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 60), d=st.integers(1, 5))
def test_train_converges_within_novikoffs_bound(seed, n, d):
    X, y, w, b = separable(seed, n, d)
    fit = dnp.perceptron_train(X, y, epochs=100_000)
    assert fit.converged
    assert (dnp.perceptron_predict(X, fit.w, fit.b) == y).all()
    updates = len(fit.trajectory) - 1
    assert updates == fit.mistakes.sum()
    assert updates <= dnp.novikoff_bound(X, y, w, b) + 1e-9
    np.testing.assert_array_equal(fit.trajectory[-1], np.append(fit.w, fit.b))


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), lr=st.floats(0.01, 100))
def test_learning_rate_only_rescales_the_weights_from_zero(seed, lr):
    X, y, _, _ = separable(seed, 30, 3)
    one = dnp.perceptron_train(X, y)
    scaled = dnp.perceptron_train(X, y, lr=lr)
    assert one.mistakes.tolist() == scaled.mistakes.tolist()
    np.testing.assert_allclose(scaled.trajectory, lr * one.trajectory, rtol=1e-9, atol=1e-12)


def test_train_never_converges_on_xor():
    fit = dnp.perceptron_train(INPUTS, XOR_PM1, epochs=30)
    assert not fit.converged
    assert len(fit.mistakes) == 30
    assert fit.mistakes.min() > 0


def test_train_shuffle_is_deterministic_and_zero_one_labels_match():
    X, y, _, _ = separable(1, 40, 2)
    a = dnp.perceptron_train(X, y, shuffle=True, rng=np.random.default_rng(5))
    b = dnp.perceptron_train(X, (y + 1) // 2, shuffle=True, rng=np.random.default_rng(5))
    np.testing.assert_array_equal(a.trajectory, b.trajectory)
    c = dnp.perceptron_train(X, y, shuffle=True, rng=np.random.default_rng(6))
    assert c.converged


def test_train_starts_from_given_weights():
    X, y, w, b = separable(2, 20, 2)
    fit = dnp.perceptron_train(X, y, w0=w, b0=b)
    assert fit.converged and len(fit.trajectory) == 1  # already separating: no update
    np.testing.assert_array_equal(fit.w, w)


@pytest.mark.parametrize(
    ("X", "y", "kwargs", "match"),
    [
        (np.zeros((0, 2)), np.zeros(0), {}, "X is empty"),
        (np.ones(3), np.ones(3), {}, "X must be a 2-D"),
        (np.ones((3, 2)), np.array([0, 1, 2]), {}, "labels -1/\\+1"),
        (np.ones((3, 2)), np.array([-1, 0, 1]), {}, "labels -1/\\+1"),
        (np.ones((3, 2)), np.ones(4), {}, r"y must have shape \(N,\) with N = 3"),
        (np.array([[1.0, np.nan]]), np.ones(1), {}, "X contains NaN"),
        (np.ones((3, 2)), np.ones(3), {"epochs": 0}, "epochs"),
        (np.ones((3, 2)), np.ones(3), {"epochs": 2.5}, "epochs"),
        (np.ones((3, 2)), np.ones(3), {"lr": -1}, "lr"),
        (np.ones((3, 2)), np.ones(3), {"shuffle": True}, "rng"),
        (np.ones((3, 2)), np.ones(3), {"w0": np.ones(3)}, "w0 must"),
    ],
)
def test_train_rejects_bad_input(X, y, kwargs, match):
    with pytest.raises(ValueError, match=match):
        dnp.perceptron_train(X, y, **kwargs)


def test_margin_and_bound_on_a_known_example():
    X = np.array([[1.0, 0.0], [-1.0, 0.0]])
    y = np.array([1, -1])
    # (w, b) = (1, 0, 0): margin 1 / 1, R = sqrt(1 + 1)
    assert dnp.geometric_margin(X, y, np.array([1.0, 0.0]), 0.0) == pytest.approx(1.0)
    assert dnp.novikoff_bound(X, y, np.array([2.0, 0.0]), 0.0) == pytest.approx(2.0)
    # a bias tilts the augmented direction and shrinks the margin
    assert dnp.geometric_margin(X, y, np.array([1.0, 0.0]), 0.5) == pytest.approx(
        0.5 / np.sqrt(1.25)
    )


def test_bound_rejects_non_separators():
    with pytest.raises(ValueError, match="does not separate"):
        dnp.novikoff_bound(INPUTS, XOR_PM1, np.array([1.0, 1.0]), -0.5)
    with pytest.raises(ValueError, match=r"the norm of \(w, b\) must be"):
        dnp.geometric_margin(INPUTS, XOR_PM1, np.zeros(2), 0.0)


def test_threshold_network_computes_xor():
    W1 = np.array([[1.0, -1.0], [1.0, -1.0]])
    out = dnp.threshold_network(INPUTS, W1, np.array([-0.5, 1.5]), np.ones(2), -1.5)
    assert out.tolist() == [0, 1, 1, 0]


@pytest.mark.parametrize(
    ("W1", "b1", "w2", "match"),
    [
        (np.ones((3, 2)), np.ones(2), np.ones(2), "W1 must"),
        (np.ones((2, 2)), np.ones(3), np.ones(2), "b1"),
        (np.ones((2, 2)), np.ones(2), np.ones(3), "w2"),
    ],
)
def test_threshold_network_rejects_bad_shapes(W1, b1, w2, match):
    with pytest.raises(ValueError, match=match):
        dnp.threshold_network(INPUTS, W1, b1, w2, 0.0)


def test_as_pm1_labels_maps_and_rejects():
    np.testing.assert_array_equal(dnp.as_pm1_labels("y", [0, 1, 1]), [-1.0, 1.0, 1.0])
    np.testing.assert_array_equal(dnp.as_pm1_labels("y", np.array([-1, 1])), [-1.0, 1.0])
    assert dnp.as_pm1_labels("y", np.array([0.0, 1.0], dtype=np.float32)).dtype == np.float32
    with pytest.raises(ValueError, match="labels -1/\\+1"):
        dnp.as_pm1_labels("y", [-1, 0, 1])


def test_float32_inputs_are_accepted():
    X = INPUTS.astype(np.float32)
    w = np.array([1.0, 1.0], dtype=np.float32)
    assert dnp.perceptron_predict(X, w, np.float32(-1.5)).tolist() == [-1, -1, -1, 1]
    assert dnp.geometric_margin(X, [-1, -1, -1, 1], w, -1.5) > 0
