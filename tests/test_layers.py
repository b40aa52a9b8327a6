"""dlbook.numpy.layers: parity with torch in float64, gradient checks, stability, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import dlbook.numpy as dnp
from dlbook.numpy.gradcheck import numerical_gradient

# name -> (numpy forward, numpy backward, torch function, keyword arguments)
ACTIVATIONS = {
    "relu": (dnp.relu_forward, dnp.relu_backward, F.relu, {}),
    "sigmoid": (dnp.sigmoid_forward, dnp.sigmoid_backward, torch.sigmoid, {}),
    "tanh": (dnp.tanh_forward, dnp.tanh_backward, torch.tanh, {}),
    "leaky_relu": (
        dnp.leaky_relu_forward,
        dnp.leaky_relu_backward,
        lambda t, slope: F.leaky_relu(t, negative_slope=slope),
        {"slope": 0.2},
    ),
    "leaky_relu_default": (
        dnp.leaky_relu_forward,
        dnp.leaky_relu_backward,
        F.leaky_relu,  # torch's default negative_slope is also 0.01
        {},
    ),
    "elu": (dnp.elu_forward, dnp.elu_backward, F.elu, {"alpha": 1.7}),
    "elu_default": (dnp.elu_forward, dnp.elu_backward, F.elu, {}),
    "softplus": (dnp.softplus_forward, dnp.softplus_backward, F.softplus, {}),
}
KINKED = {"relu", "leaky_relu", "leaky_relu_default", "elu", "elu_default"}

shapes = st.lists(st.integers(1, 5), min_size=0, max_size=3).map(tuple)
seeds = st.integers(0, 2**32 - 1)


def torch_forward_backward(fn, x, dout, **kwargs):
    """Reference output and input gradient of a torch function, in float64."""
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    out = fn(t, **kwargs)
    out.backward(torch.tensor(dout, dtype=torch.float64))
    return out.detach().numpy(), t.grad.numpy()


def away_from_kinks(x: np.ndarray) -> np.ndarray:
    """Move entries with |x| < 1e-2 to ±0.5 so central differences never straddle x = 0."""
    return np.where(np.abs(x) < 1e-2, np.where(x < 0, -0.5, 0.5), x)


# ---------------------------------------------------------------------------------------------
# Linear layer


@settings(max_examples=30, deadline=None)
@given(seed=seeds, n=st.integers(1, 6), d=st.integers(1, 5), m=st.integers(1, 5))
def test_linear_matches_torch(seed, n, d, m):
    rng = np.random.default_rng(seed)
    x, w, b = rng.normal(size=(n, d)), rng.normal(size=(d, m)), rng.normal(size=m)
    dout = rng.normal(size=(n, m))
    out, cache = dnp.linear_forward(x, w, b)
    dx, dw, db = dnp.linear_backward(dout, cache)

    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    tout = F.linear(tx, tw.T, tb)  # F.linear uses weight (M, D): x @ weight.T + b
    tout.backward(torch.tensor(dout))
    np.testing.assert_allclose(out, tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    for got, want in ((dx, tx.grad), (dw, tw.grad), (db, tb.grad)):
        np.testing.assert_allclose(got, want.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("param", ["x", "w", "b"])
def test_linear_backward_matches_numerical(rng, param):
    shapes_ = {"x": (4, 3), "w": (3, 2), "b": (2,)}
    args = {k: rng.normal(size=s) for k, s in shapes_.items()}
    dout = rng.normal(size=(4, 2))
    _, cache = dnp.linear_forward(**args)
    grads = dict(zip("xwb", dnp.linear_backward(dout, cache), strict=True))
    expected = numerical_gradient(
        lambda v: dnp.linear_forward(**{**args, param: v})[0], args[param], dout
    )
    np.testing.assert_allclose(grads[param], expected, rtol=1e-6)
    assert dnp.relative_error(grads[param], expected) < 1e-6


def test_linear_forward_known_values_and_cache():
    x = np.array([[1.0, 2.0]])
    w = np.array([[1.0, 0.0, -1.0], [0.5, 1.0, 2.0]])
    out, cache = dnp.linear_forward(x, w, np.array([0.0, 1.0, -1.0]))
    np.testing.assert_array_equal(out, [[2.0, 3.0, 2.0]])
    assert isinstance(cache, dnp.LinearCache)
    np.testing.assert_array_equal(cache.x, x)


@pytest.mark.parametrize(
    ("x", "w", "b", "match"),
    [
        (np.ones(3), np.ones((3, 2)), np.ones(2), r"x must be a 2-D array of shape \(N, D\)"),
        (np.ones((4, 3)), np.ones((2, 2)), np.ones(2), r"w must have shape \(D, M\) with D = 3"),
        (np.ones((4, 3)), np.ones(3), np.ones(2), "w must be a 2-D"),
        (np.ones((4, 3)), np.ones((3, 2)), np.ones(3), r"b must have shape \(M,\) with M = 2"),
        (np.ones((4, 3)), np.ones((3, 2)), np.ones((1, 2)), "b must be a 1-D"),
        (np.full((2, 3), np.nan), np.ones((3, 2)), np.ones(2), "x contains NaN"),
        (np.ones((2, 3)), np.ones((3, 2)), np.array([np.inf, 0.0]), "b contains inf"),
        (np.zeros((0, 3)), np.ones((3, 2)), np.ones(2), "x is empty"),
    ],
)
def test_linear_forward_rejects_bad_input(x, w, b, match):
    with pytest.raises(ValueError, match=match):
        dnp.linear_forward(x, w, b)


def test_linear_backward_rejects_bad_dout_and_cache(rng):
    _, cache = dnp.linear_forward(rng.normal(size=(4, 3)), rng.normal(size=(3, 2)), np.zeros(2))
    with pytest.raises(ValueError, match=r"dout must have shape \(4, 2\)"):
        dnp.linear_backward(np.ones((4, 3)), cache)
    with pytest.raises(ValueError, match="dout contains NaN"):
        dnp.linear_backward(np.full((4, 2), np.nan), cache)
    with pytest.raises(ValueError, match="cache must be the LinearCache"):
        dnp.linear_backward(np.ones((4, 2)), (cache.x, cache.w, None))


# ---------------------------------------------------------------------------------------------
# Elementwise activations


@pytest.mark.parametrize("name", ACTIVATIONS)
@settings(max_examples=25, deadline=None)
@given(seed=seeds, shape=shapes, scale=st.floats(0.1, 10.0))
def test_activation_matches_torch(name, seed, shape, scale):
    forward, backward, torch_fn, kwargs = ACTIVATIONS[name]
    rng = np.random.default_rng(seed)
    # torch's softplus returns x itself above x = 20 (an approximation off by < 2e-9)
    x = rng.normal(size=shape) * scale
    if name == "softplus":
        x = np.clip(x, -19.0, 19.0)
    dout = rng.normal(size=shape)
    out, cache = forward(x, **kwargs)
    dx = backward(dout, cache)
    want_out, want_dx = torch_forward_backward(torch_fn, x, dout, **kwargs)
    assert out.shape == dx.shape == x.shape
    np.testing.assert_allclose(out, want_out, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(dx, want_dx, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_derivative_at_zero_follows_torch(name):
    # the kinks: relu'(0) = 0, leaky_relu'(0) = slope, elu'(0) = alpha in torch
    forward, backward, torch_fn, kwargs = ACTIVATIONS[name]
    x = np.array([0.0, -0.0, 1.0, -1.0])
    dx = backward(np.ones(4), forward(x, **kwargs)[1])
    _, want = torch_forward_backward(torch_fn, x, np.ones(4), **kwargs)
    np.testing.assert_allclose(dx, want, rtol=1e-12)


@pytest.mark.parametrize("name", ACTIVATIONS)
@pytest.mark.parametrize("shape", [(7,), (3, 4), (2, 3, 2)])
def test_activation_backward_matches_numerical(name, shape, rng):
    forward, backward, _, kwargs = ACTIVATIONS[name]
    x = rng.normal(size=shape) * 3
    if name in KINKED:
        x = away_from_kinks(x)
    dout = rng.normal(size=shape)
    dx = backward(dout, forward(x, **kwargs)[1])
    expected = numerical_gradient(lambda v: forward(v, **kwargs)[0], x, dout)
    np.testing.assert_allclose(dx, expected, rtol=1e-6, atol=1e-9)


def test_activation_known_values():
    x = np.array([-2.0, 0.0, 3.0])
    np.testing.assert_allclose(dnp.relu_forward(x)[0], [0.0, 0.0, 3.0])
    np.testing.assert_allclose(dnp.leaky_relu_forward(x, slope=0.1)[0], [-0.2, 0.0, 3.0])
    np.testing.assert_allclose(dnp.elu_forward(x, alpha=2.0)[0], [2 * np.expm1(-2), 0.0, 3.0])
    np.testing.assert_allclose(dnp.sigmoid_forward(x)[0], 1 / (1 + np.exp(-x)), rtol=1e-15)
    np.testing.assert_allclose(dnp.softplus_forward(x)[0], np.log1p(np.exp(x)), rtol=1e-15)
    np.testing.assert_allclose(dnp.sigmoid(np.array(0.0)), 0.5)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_does_not_mutate_and_accepts_scalars(name):
    forward, backward, _, kwargs = ACTIVATIONS[name]
    x = np.array([[-1.5, 0.5], [2.0, -0.1]])
    before = x.copy()
    out, cache = forward(x, **kwargs)
    backward(np.ones_like(out), cache)
    np.testing.assert_array_equal(x, before)
    out0, cache0 = forward(0.7, **kwargs)
    assert out0.shape == () and backward(1.0, cache0).shape == ()


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_rejects_nan_and_bad_dout(name):
    forward, backward, _, kwargs = ACTIVATIONS[name]
    with pytest.raises(ValueError, match="x contains NaN"):
        forward(np.array([1.0, np.nan]), **kwargs)
    _, cache = forward(np.ones((2, 3)), **kwargs)
    with pytest.raises(ValueError, match=r"dout must have shape \(2, 3\)"):
        backward(np.ones((3, 2)), cache)
    with pytest.raises(ValueError, match="dout contains NaN"):
        backward(np.full((2, 3), np.nan), cache)
    with pytest.raises(ValueError, match="cache must be"):
        backward(np.ones((2, 3)), (np.ones((2, 3)),))


@pytest.mark.parametrize(
    ("forward", "kwargs", "match"),
    [
        (dnp.leaky_relu_forward, {"slope": np.nan}, "slope"),
        (dnp.leaky_relu_forward, {"slope": "steep"}, "slope"),
        (dnp.elu_forward, {"alpha": np.inf}, "alpha"),
        (dnp.elu_forward, {"alpha": None}, "alpha"),
    ],
)
def test_activation_rejects_bad_hyperparameters(forward, kwargs, match):
    with pytest.raises(ValueError, match=match):
        forward(np.ones(3), **kwargs)


@pytest.mark.filterwarnings("error")
def test_sigmoid_and_softplus_are_stable_for_large_inputs():
    x = np.array([-1e3, -800.0, -40.0, 0.0, 40.0, 800.0, 1e3])
    with np.errstate(all="raise"):
        s, s_cache = dnp.sigmoid_forward(x)
        ds = dnp.sigmoid_backward(np.ones_like(x), s_cache)
        sp, sp_cache = dnp.softplus_forward(x)
        dsp = dnp.softplus_backward(np.ones_like(x), sp_cache)
        e, e_cache = dnp.elu_forward(x)
        de = dnp.elu_backward(np.ones_like(x), e_cache)
    assert np.all(np.isfinite(np.concatenate([s, ds, sp, dsp, e, de])))
    np.testing.assert_array_equal(s[[0, 3, -1]], [0.0, 0.5, 1.0])
    np.testing.assert_allclose(s[2], np.exp(-40.0) / (1 + np.exp(-40.0)), rtol=1e-14)
    np.testing.assert_array_equal(ds[[0, -1]], [0.0, 0.0])
    # softplus(x) = x + log1p(exp(-x)) for x > 0 and log1p(exp(x)) for x < 0
    np.testing.assert_array_equal(sp[[0, -1]], [0.0, 1e3])
    np.testing.assert_allclose(sp[2], np.exp(-40.0), rtol=1e-14)
    np.testing.assert_allclose(dsp, s, rtol=1e-15)
    np.testing.assert_array_equal(e[[0, -1]], [-1.0, 1e3])


# ---------------------------------------------------------------------------------------------
# Softmax and log-softmax


@st.composite
def array_and_axis(draw):
    shape = draw(st.lists(st.integers(1, 5), min_size=1, max_size=3).map(tuple))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    return shape, axis


@pytest.mark.parametrize(
    ("forward", "backward", "torch_fn"),
    [
        (dnp.softmax, dnp.softmax_backward, torch.softmax),
        (dnp.log_softmax, dnp.log_softmax_backward, torch.log_softmax),
    ],
    ids=["softmax", "log_softmax"],
)
@settings(max_examples=30, deadline=None)
@given(seed=seeds, shape_axis=array_and_axis(), scale=st.floats(0.1, 30.0))
def test_softmax_matches_torch(forward, backward, torch_fn, seed, shape_axis, scale):
    shape, axis = shape_axis
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape) * scale
    dout = rng.normal(size=shape)
    out = forward(x, axis=axis)
    dx = backward(dout, out, axis=axis)
    want_out, want_dx = torch_forward_backward(torch_fn, x, dout, dim=axis)
    np.testing.assert_allclose(out, want_out, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(dx, want_dx, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    ("forward", "backward"),
    [(dnp.softmax, dnp.softmax_backward), (dnp.log_softmax, dnp.log_softmax_backward)],
    ids=["softmax", "log_softmax"],
)
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_softmax_backward_matches_numerical(forward, backward, axis, rng):
    x = rng.normal(size=(3, 4)) * 2
    dout = rng.normal(size=(3, 4))
    dx = backward(dout, forward(x, axis=axis), axis=axis)
    expected = numerical_gradient(lambda v: forward(v, axis=axis), x, dout)
    np.testing.assert_allclose(dx, expected, rtol=1e-6, atol=1e-9)


def test_softmax_rows_sum_to_one_and_shift_invariance(rng):
    x = rng.normal(size=(5, 4))
    s = dnp.softmax(x)
    np.testing.assert_allclose(s.sum(axis=-1), 1.0, rtol=1e-14)
    np.testing.assert_allclose(dnp.softmax(x + 123.0), s, rtol=1e-12)
    np.testing.assert_allclose(np.exp(dnp.log_softmax(x, axis=0)), dnp.softmax(x, axis=0))


@pytest.mark.filterwarnings("error")
def test_softmax_and_log_softmax_are_stable_for_logits_of_1e4():
    x = np.array([[1e4, 0.0, -1e4], [1e4, 1e4, 1e4 - 1.0], [-1e4, -1e4, -1e4]])
    with np.errstate(all="raise"):
        s = dnp.softmax(x)
        log_s = dnp.log_softmax(x)
        ds = dnp.softmax_backward(np.ones_like(x), s)
        dlog = dnp.log_softmax_backward(np.ones_like(x), log_s)
    assert np.all(np.isfinite(np.concatenate([s, log_s, ds, dlog])))
    np.testing.assert_array_equal(s[0], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(log_s[0], [0.0, -1e4, -2e4], rtol=1e-15)
    np.testing.assert_allclose(s[1], dnp.softmax(np.array([1.0, 1.0, 0.0])), rtol=1e-12)
    np.testing.assert_allclose(s[2], 1 / 3, rtol=1e-15)
    # log sum exp of (1e4, 1e4, 1e4 - 1) = 1e4 + log(2 + e^-1)
    np.testing.assert_allclose(log_s[1, 0], -np.log(2 + np.exp(-1.0)), rtol=1e-12)


@pytest.mark.parametrize("fn", [dnp.softmax, dnp.log_softmax])
@pytest.mark.parametrize(
    ("x", "axis", "match"),
    [
        (np.ones((2, 3)), 2, r"axis must be in \[-2, 2\)"),
        (np.ones((2, 3)), -3, "axis must be in"),
        (np.ones((2, 3)), 1.0, "axis must be an int"),
        (np.array([1.0, np.nan]), -1, "x contains NaN"),
        (np.zeros((2, 0)), -1, "x is empty"),
        (np.array(1.0), -1, "x must be an array of at least 1 dimension"),
    ],
)
def test_softmax_rejects_bad_input(fn, x, axis, match):
    with pytest.raises(ValueError, match=match):
        fn(x, axis=axis)


@pytest.mark.parametrize("backward", [dnp.softmax_backward, dnp.log_softmax_backward])
def test_softmax_backward_rejects_bad_input(backward):
    out = dnp.softmax(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"dout must have shape \(2, 3\)"):
        backward(np.ones((3, 2)), out)
    with pytest.raises(ValueError, match="out contains NaN"):
        backward(np.ones((2, 3)), np.full((2, 3), np.nan))
    with pytest.raises(ValueError, match="axis"):
        backward(np.ones((2, 3)), out, axis=5)


# ---------------------------------------------------------------------------------------------
# The op registry: parity, gradient, NaN, bad-shape and dtype tests for every layer op

import torch.nn.functional as F  # noqa: E402
from opregistry import Op, op_tests  # noqa: E402


def _normal(rng, shape, dtype):
    return rng.normal(size=shape).astype(dtype)


def _elementwise(name, fwd, bwd, ref, **kw):
    return Op(
        name=name,
        dims={"N": (1, 4), "D": (1, 5)},
        inputs=lambda rng, d, dt: {"x": _normal(rng, (d["N"], d["D"]), dt)},
        forward=lambda x: (lambda out, cache: ((out,), cache))(*fwd(x, **kw)),
        backward=lambda douts, cache: {"x": bwd(douts[0], cache)},
        torch_forward=lambda x: (ref(x),),
        grad_inputs=("x",),
    )


TestLinearOp = op_tests(
    Op(
        name="linear",
        dims={"N": (1, 5), "D": (1, 4), "M": (1, 4)},
        inputs=lambda rng, d, dt: {
            "x": _normal(rng, (d["N"], d["D"]), dt),
            "w": _normal(rng, (d["D"], d["M"]), dt),
            "b": _normal(rng, (d["M"],), dt),
        },
        forward=lambda x, w, b: (lambda out, c: ((out,), c))(*dnp.linear_forward(x, w, b)),
        backward=lambda douts, c: dict(zip("xwb", dnp.linear_backward(douts[0], c), strict=True)),
        torch_forward=lambda x, w, b: (x @ w + b,),
        grad_inputs=("x", "w", "b"),
        bad_inputs=[
            (lambda a: {**a, "w": a["w"][:-1]}, r"w must have shape \(D, M\)"),
            (lambda a: {**a, "b": np.ones(7)}, r"b must have shape \(M,\)"),
            (lambda a: {**a, "x": a["x"][0]}, r"x must be a 2-D array"),
        ],
    )
)
TestReluOp = op_tests(_elementwise("relu", dnp.relu_forward, dnp.relu_backward, torch.relu))
TestLeakyReluOp = op_tests(
    _elementwise(
        "leaky_relu",
        dnp.leaky_relu_forward,
        dnp.leaky_relu_backward,
        lambda x: F.leaky_relu(x, 0.2),
        slope=0.2,
    )  # fmt: skip
)
TestEluOp = op_tests(
    _elementwise("elu", dnp.elu_forward, dnp.elu_backward, lambda x: F.elu(x, 0.7), alpha=0.7)
)
TestSigmoidOp = op_tests(
    _elementwise("sigmoid", dnp.sigmoid_forward, dnp.sigmoid_backward, torch.sigmoid)
)
TestTanhOp = op_tests(_elementwise("tanh", dnp.tanh_forward, dnp.tanh_backward, torch.tanh))
TestSoftplusOp = op_tests(
    _elementwise("softplus", dnp.softplus_forward, dnp.softplus_backward, F.softplus)
)


def _with_out(fn, bwd):
    def forward(x):
        out = fn(x)
        return (out,), out

    return forward, lambda douts, out: {"x": bwd(douts[0], out)}


for _name, _fn, _bwd, _ref in [
    ("softmax", dnp.softmax, dnp.softmax_backward, lambda x: torch.softmax(x, -1)),
    ("log_softmax", dnp.log_softmax, dnp.log_softmax_backward, lambda x: F.log_softmax(x, -1)),
]:
    _f, _b = _with_out(_fn, _bwd)
    globals()[f"Test_{_name}_op"] = op_tests(
        Op(
            name=_name,
            dims={"N": (1, 4), "C": (1, 6)},
            inputs=lambda rng, d, dt: {"x": _normal(rng, (d["N"], d["C"]), dt)},
            forward=_f,
            backward=_b,
            torch_forward=lambda x, _ref=_ref: (_ref(x),),
            grad_inputs=("x",),
        )
    )


def _bn_inputs(rng, d, dt):
    c = d["C"]
    return {
        "x": _normal(rng, (d["N"], c, d["L"]), dt),
        "gamma": _normal(rng, (c,), dt),
        "beta": _normal(rng, (c,), dt),
    }


def _bn_forward(x, gamma, beta):
    c = x.shape[1]
    zeros, ones = np.zeros(c, x.dtype), np.ones(c, x.dtype)
    out, _, _, cache = dnp.batchnorm_forward(x, gamma, beta, zeros, ones, training=True)
    return (out,), cache


TestBatchNormOp = op_tests(
    Op(
        name="batchnorm",
        dims={"N": (2, 4), "C": (1, 3), "L": (1, 3)},
        inputs=_bn_inputs,
        forward=_bn_forward,
        backward=lambda douts, c: dict(
            zip(("x", "gamma", "beta"), dnp.batchnorm_backward(douts[0], c), strict=True)
        ),
        torch_forward=lambda x, gamma, beta: (
            F.batch_norm(x, None, None, gamma, beta, training=True, eps=1e-5),
        ),
        grad_inputs=("x", "gamma", "beta"),
        bad_inputs=[(lambda a: {**a, "gamma": np.ones(9)}, r"gamma must have shape \(C,\)")],
        rtol=1e-7,
        atol=1e-9,
    )
)


def _ln_inputs(rng, d, dt):
    return {
        "x": _normal(rng, (d["N"], d["T"], d["D"]), dt),
        "gamma": _normal(rng, (d["D"],), dt),
        "beta": _normal(rng, (d["D"],), dt),
    }


TestLayerNormOp = op_tests(
    Op(
        name="layernorm",
        dims={"N": (1, 3), "T": (1, 3), "D": (2, 5)},
        inputs=_ln_inputs,
        forward=lambda x, gamma, beta: (lambda out, c: ((out,), c))(
            *dnp.layernorm_forward(x, gamma, beta)
        ),
        backward=lambda douts, c: dict(
            zip(("x", "gamma", "beta"), dnp.layernorm_backward(douts[0], c), strict=True)
        ),
        torch_forward=lambda x, gamma, beta: (F.layer_norm(x, (x.shape[-1],), gamma, beta),),
        grad_inputs=("x", "gamma", "beta"),
        bad_inputs=[
            (lambda a: {**a, "gamma": np.ones(9)}, r"gamma must have shape \(D,\)"),
            (lambda a: {**a, "x": np.ones(())}, r"x must be an array of at least 1 dimension"),
        ],
        rtol=1e-7,
        atol=1e-9,
    )
)


def _dropout_forward(x):
    out, cache = dnp.dropout_forward(x, 0.3, training=True, rng=np.random.default_rng(5))
    return (out,), cache


def _dropout_reference(x):
    mask = torch.from_numpy(
        dnp.dropout_forward(np.ones(x.shape), 0.3, training=True, rng=np.random.default_rng(5))[
            1
        ].mask
    )
    return (x * mask,)  # torch draws its own mask: compare with the same mask applied


TestDropoutOp = op_tests(
    Op(
        name="dropout",
        dims={"N": (1, 4), "D": (1, 5)},
        inputs=lambda rng, d, dt: {"x": _normal(rng, (d["N"], d["D"]), dt)},
        forward=_dropout_forward,
        backward=lambda douts, c: {"x": dnp.dropout_backward(douts[0], c)},
        torch_forward=_dropout_reference,
        grad_inputs=("x",),
    )
)
