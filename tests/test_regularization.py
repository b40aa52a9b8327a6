"""dlbook.numpy.layers: dropout and batch normalization vs torch, gradient checks, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import dlbook.numpy as dnp
from dlbook.numpy.gradcheck import numerical_gradient

seeds = st.integers(0, 2**32 - 1)

# ---------------------------------------------------------------------------------------------
# Dropout


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_statistics_match_torch(p):
    """Both drop a fraction p, scale the survivors by exactly 1 / (1 - p), and keep the mean."""
    n = 200_000
    x = np.ones(n)
    out, _ = dnp.dropout_forward(x, p, training=True, rng=np.random.default_rng(0))
    torch.manual_seed(0)
    t_out = torch.nn.Dropout(p)(torch.ones(n, dtype=torch.float64)).numpy()
    se = np.sqrt(p * (1 - p) / n)  # standard error of a fraction of n Bernoulli draws
    for got in (out, t_out):
        assert abs(np.mean(got == 0) - p) < 5 * se
        np.testing.assert_allclose(np.unique(got[got != 0]), [1 / (1 - p)], rtol=1e-15)
        # E[out] = x: the mean of n draws of mask is 1 within 5 standard errors
        assert abs(got.mean() - 1.0) < 5 * np.sqrt(p / (1 - p) / n)


def test_dropout_is_the_identity_in_evaluation_like_torch(rng):
    x = rng.normal(size=(4, 5))
    out, cache = dnp.dropout_forward(x, 0.5, training=False, rng=None)
    layer = torch.nn.Dropout(0.5).eval()
    np.testing.assert_array_equal(out, layer(torch.tensor(x)).numpy())
    np.testing.assert_array_equal(out, x)
    dout = rng.normal(size=x.shape)
    np.testing.assert_array_equal(dnp.dropout_backward(dout, cache), dout)


def test_dropout_with_p_one_drops_everything_like_torch(rng):
    x = rng.normal(size=(3, 4))
    out, cache = dnp.dropout_forward(x, 1.0, training=True, rng=rng)
    np.testing.assert_array_equal(out, torch.nn.Dropout(1.0)(torch.tensor(x)).numpy())
    np.testing.assert_array_equal(dnp.dropout_backward(np.ones_like(x), cache), np.zeros_like(x))


def test_dropout_with_p_zero_keeps_everything(rng):
    x = rng.normal(size=(3, 4))
    out, _ = dnp.dropout_forward(x, 0.0, training=True, rng=rng)
    np.testing.assert_array_equal(out, x)


@settings(max_examples=25, deadline=None)
@given(seed=seeds, shape=st.lists(st.integers(1, 5), min_size=1, max_size=3).map(tuple))
def test_dropout_backward_matches_numerical(seed, shape):
    rng = np.random.default_rng(seed)
    x, dout = rng.normal(size=shape), rng.normal(size=shape)
    out, cache = dnp.dropout_forward(x, 0.3, training=True, rng=np.random.default_rng(seed))
    # the same seed draws the same mask, so the forward is a fixed linear map of x
    f = lambda v: dnp.dropout_forward(v, 0.3, training=True, rng=np.random.default_rng(seed))[0]  # noqa: E731
    np.testing.assert_allclose(
        dnp.dropout_backward(dout, cache), numerical_gradient(f, x.copy(), dout), atol=1e-8
    )
    kept = out != 0
    np.testing.assert_allclose(out[kept], x[kept] / 0.7, rtol=1e-14)


def test_dropout_same_seed_same_mask_and_no_mutation(rng):
    x = rng.normal(size=(6, 7))
    before = x.copy()
    a, _ = dnp.dropout_forward(x, 0.5, training=True, rng=np.random.default_rng(3))
    b, _ = dnp.dropout_forward(x, 0.5, training=True, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"p": 1.5}, "p must lie in"),
        ({"p": -0.1}, "p must lie in"),
        ({"p": float("nan")}, "p must be a finite"),
        ({"training": "yes"}, "training must be True or False"),
        ({"rng": 0}, "rng must be a numpy Generator"),
        ({"x": [1.0, float("nan")]}, "x contains NaN"),
    ],
)
def test_dropout_rejects_bad_input(kwargs, match):
    args = {"x": np.ones(3), "p": 0.5, "training": True, "rng": np.random.default_rng(0)}
    args.update(kwargs)
    x, p = args.pop("x"), args.pop("p")
    with pytest.raises(ValueError, match=match):
        dnp.dropout_forward(x, p, **args)


def test_dropout_backward_rejects_wrong_cache_and_shape(rng):
    _, cache = dnp.dropout_forward(np.ones((2, 3)), 0.5, training=True, rng=rng)
    with pytest.raises(ValueError, match=r"dout must have shape"):
        dnp.dropout_backward(np.ones((3, 2)), cache)
    with pytest.raises(ValueError, match="cache must be the DropoutCache"):
        dnp.dropout_backward(np.ones((2, 3)), ("not", "a cache"))


# ---------------------------------------------------------------------------------------------
# Batch normalization


def torch_batchnorm(c, ndim, gamma, beta, mean, var, momentum, eps):
    cls = {2: torch.nn.BatchNorm1d, 3: torch.nn.BatchNorm1d, 4: torch.nn.BatchNorm2d}[ndim]
    layer = cls(c, momentum=momentum, eps=eps, dtype=torch.float64)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(gamma))
        layer.bias.copy_(torch.tensor(beta))
        layer.running_mean.copy_(torch.tensor(mean))
        layer.running_var.copy_(torch.tensor(var))
    return layer


batch_shapes = st.tuples(
    st.integers(2, 6), st.integers(1, 4), st.lists(st.integers(1, 3), max_size=2)
).map(lambda t: (t[0], t[1], *t[2]))


@settings(max_examples=40, deadline=None)
@given(seed=seeds, shape=batch_shapes, momentum=st.sampled_from([0.1, 0.0, 0.5, 1.0]))
def test_batchnorm_matches_torch_over_several_steps(seed, shape, momentum):
    """Three training steps (outputs, gradients, running statistics), then evaluation."""
    rng = np.random.default_rng(seed)
    c, eps = shape[1], 1e-5
    gamma, beta = rng.normal(size=c), rng.normal(size=c)
    mean, var = rng.normal(size=c), rng.uniform(0.5, 2.0, size=c)
    layer = torch_batchnorm(c, len(shape), gamma, beta, mean, var, momentum, eps)
    for _ in range(3):
        x = rng.normal(loc=3.0, scale=2.0, size=shape)
        dout = rng.normal(size=shape)
        out, mean, var, cache = dnp.batchnorm_forward(
            x, gamma, beta, mean, var, training=True, momentum=momentum, eps=eps
        )
        dx, dgamma, dbeta = dnp.batchnorm_backward(dout, cache)
        tx = torch.tensor(x, requires_grad=True)
        layer.train()
        tout = layer(tx)
        tout.backward(torch.tensor(dout))
        np.testing.assert_allclose(out, tout.detach().numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(mean, layer.running_mean.numpy(), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(var, layer.running_var.numpy(), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(dgamma, layer.weight.grad.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(dbeta, layer.bias.grad.numpy(), rtol=1e-10, atol=1e-12)
        layer.zero_grad()
    x = rng.normal(size=(1, *shape[1:]))  # evaluation works for a single example
    out, new_mean, new_var, _ = dnp.batchnorm_forward(
        x, gamma, beta, mean, var, training=False, momentum=momentum, eps=eps
    )
    np.testing.assert_allclose(
        out, layer.eval()(torch.tensor(x)).detach().numpy(), rtol=1e-10, atol=1e-12
    )
    np.testing.assert_array_equal(new_mean, mean)
    np.testing.assert_array_equal(new_var, var)


def test_batchnorm_running_var_uses_the_unbiased_variance(rng):
    x = rng.normal(size=(5, 3))
    _, _, var, _ = dnp.batchnorm_forward(
        x, np.ones(3), np.zeros(3), np.zeros(3), np.zeros(3), training=True, momentum=1.0
    )
    np.testing.assert_allclose(var, x.var(axis=0, ddof=1), rtol=1e-14)
    assert not np.allclose(var, x.var(axis=0))


def test_batchnorm_training_output_has_zero_mean_unit_variance(rng):
    x = rng.normal(loc=5.0, scale=3.0, size=(64, 4))
    out, *_ = dnp.batchnorm_forward(
        x, np.ones(4), np.zeros(4), np.zeros(4), np.ones(4), training=True
    )
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(out.var(axis=0), 1.0, rtol=1e-5)  # var / (var + eps)


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("param", ["x", "gamma", "beta"])
@pytest.mark.parametrize("shape", [(5, 3), (4, 2, 3)])
def test_batchnorm_backward_matches_numerical(rng, training, param, shape):
    c = shape[1]
    args = {
        "x": rng.normal(size=shape),
        "gamma": rng.normal(size=c),
        "beta": rng.normal(size=c),
    }
    stats = (rng.normal(size=c), rng.uniform(0.5, 2.0, size=c))
    dout = rng.normal(size=shape)

    def forward(**kw):
        return dnp.batchnorm_forward(*stats_args(kw), training=training)

    def stats_args(kw):
        return kw["x"], kw["gamma"], kw["beta"], *stats

    _, _, _, cache = forward(**args)
    f = lambda v: forward(**{**args, param: v})[0]  # noqa: E731
    grads = dict(zip(("x", "gamma", "beta"), dnp.batchnorm_backward(dout, cache), strict=True))
    expected = numerical_gradient(f, args[param].copy(), dout)
    assert dnp.relative_error(grads[param], expected) < 1e-7


def test_batchnorm_does_not_mutate_its_inputs(rng):
    args = [rng.normal(size=(4, 2)), np.ones(2), np.zeros(2), np.zeros(2), np.ones(2)]
    copies = [a.copy() for a in args]
    dnp.batchnorm_forward(*args, training=True)
    for a, b in zip(args, copies, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"x": np.ones(3)}, r"x must be an array of at least 2 dimensions of shape \(N, C, "),
        ({"x": np.ones((1, 2))}, "values per channel in training .* must be an int >= 2"),
        ({"gamma": np.ones(3)}, r"gamma must have shape \(C,\) with C = 2"),
        ({"beta": np.ones((2, 1))}, "beta must be a 1-D array"),
        ({"running_mean": np.ones(1)}, r"running_mean must have shape \(C,\) with C = 2"),
        ({"running_var": -np.ones(2)}, "running_var must be >= 0"),
        ({"momentum": 1.5}, r"momentum must lie in \[0, 1\]"),
        ({"eps": 0.0}, "eps must be a finite number > 0"),
        ({"training": 1}, "training must be True or False"),
        ({"x": np.array([[1.0, np.nan], [0.0, 1.0]])}, "x contains NaN"),
    ],
)
def test_batchnorm_rejects_bad_input(change, match):
    args = {
        "x": np.arange(8.0).reshape(4, 2),
        "gamma": np.ones(2),
        "beta": np.zeros(2),
        "running_mean": np.zeros(2),
        "running_var": np.ones(2),
        "training": True,
    }
    args.update(change)
    with pytest.raises(ValueError, match=match):
        dnp.batchnorm_forward(**args)


def test_batchnorm_backward_rejects_wrong_dout_and_cache(rng):
    *_, cache = dnp.batchnorm_forward(
        rng.normal(size=(4, 2)), np.ones(2), np.zeros(2), np.zeros(2), np.ones(2), training=True
    )
    with pytest.raises(ValueError, match="dout must have shape"):
        dnp.batchnorm_backward(np.ones((2, 4)), cache)
    with pytest.raises(ValueError, match="cache must be the BatchNormCache"):
        dnp.batchnorm_backward(np.ones((4, 2)), None)
