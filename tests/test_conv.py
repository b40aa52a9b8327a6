"""dlbook.numpy.conv: parity with torch in float64, gradient checks, im2col, LeNet, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import dlbook.numpy as dnp
import dlbook.torch as dtorch
from dlbook.numpy.gradcheck import numerical_gradient, relative_error

seeds = st.integers(0, 2**32 - 1)


def torch_grads(fn, inputs, dout):
    """Output and input gradients of a torch function of float64 arrays."""
    ts = [torch.tensor(a, requires_grad=True) for a in inputs]
    out = fn(*ts)
    out.backward(torch.tensor(dout))
    return out.detach().numpy(), [t.grad.numpy() for t in ts]


# ---------------------------------------------------------------------------------------------
# Convolution


@st.composite
def conv_cases(draw):
    n, c, f = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 4))
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    padding, stride = draw(st.integers(0, 2)), draw(st.integers(1, 3))
    kh = draw(st.integers(1, min(5, h + 2 * padding)))
    kw = draw(st.integers(1, min(5, w + 2 * padding)))
    return n, c, h, w, f, kh, kw, stride, padding, draw(seeds)


@settings(max_examples=60, deadline=None)
@given(case=conv_cases())
def test_conv2d_matches_torch(case):
    n, c, h, w, f, kh, kw, stride, padding, seed = case
    rng = np.random.default_rng(seed)
    x, wt, b = rng.normal(size=(n, c, h, w)), rng.normal(size=(f, c, kh, kw)), rng.normal(size=f)
    out, cache = dnp.conv2d_forward(x, wt, b, stride=stride, padding=padding)
    dout = rng.normal(size=out.shape)
    grads = dnp.conv2d_backward(dout, cache)

    want, want_grads = torch_grads(
        lambda a, k, bias: F.conv2d(a, k, bias, stride=stride, padding=padding), (x, wt, b), dout
    )
    assert out.shape == want.shape == (n, f, (h + 2 * padding - kh) // stride + 1, out.shape[3])
    np.testing.assert_allclose(out, want, rtol=1e-8, atol=1e-12)
    for got, ref in zip(grads, want_grads, strict=True):
        assert got.shape == ref.shape
        np.testing.assert_allclose(got, ref, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("param", ["x", "w", "b"])
@pytest.mark.parametrize(("stride", "padding"), [(1, 0), (2, 1), (3, 2)])
def test_conv2d_backward_matches_numerical(rng, param, stride, padding):
    args = {
        "x": rng.normal(size=(2, 3, 7, 6)),
        "w": rng.normal(size=(4, 3, 3, 2)),
        "b": rng.normal(size=4),
    }
    out, cache = dnp.conv2d_forward(**args, stride=stride, padding=padding)
    dout = rng.normal(size=out.shape)
    grads = dict(zip("xwb", dnp.conv2d_backward(dout, cache), strict=True))

    def f(v):
        return dnp.conv2d_forward(**{**args, param: v}, stride=stride, padding=padding)[0]

    expected = numerical_gradient(f, args[param], dout)
    assert relative_error(grads[param], expected) < 1e-7


def test_conv2d_is_cross_correlation_not_convolution():
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 0, 0] = 1.0  # a single bright pixel in the corner
    w = np.arange(9.0).reshape(1, 1, 3, 3)
    out, _ = dnp.conv2d_forward(x, w, np.zeros(1), padding=1)
    # out[i, j] = sum_pq w[p, q] x[i + p - 1, j + q - 1]: the pixel meets w[1 - i, 1 - j]
    np.testing.assert_array_equal(out[0, 0], [[4.0, 3.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])


def test_conv2d_keeps_float32_and_agrees_with_float64(rng):
    x, w, b = rng.normal(size=(2, 3, 8, 8)), rng.normal(size=(5, 3, 3, 3)), rng.normal(size=5)
    out32, cache = dnp.conv2d_forward(x.astype(np.float32), w.astype(np.float32), b.astype("f4"))
    assert out32.dtype == np.float32
    dx, dw, db = dnp.conv2d_backward(np.ones_like(out32), cache)
    assert dx.dtype == dw.dtype == db.dtype == np.float32
    out64, _ = dnp.conv2d_forward(x, w, b)
    assert out64.dtype == np.float64
    np.testing.assert_allclose(out32, out64, rtol=1e-4, atol=1e-4)
    mixed, _ = dnp.conv2d_forward(x.astype(np.float32), w, b)  # one float64 input: float64
    assert mixed.dtype == np.float64


# ---------------------------------------------------------------------------------------------
# im2col / col2im


@settings(max_examples=30, deadline=None)
@given(case=conv_cases())
def test_col2im_is_the_adjoint_of_im2col(case):
    n, c, h, w, _, kh, kw, stride, padding, seed = case
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, c, h, w))
    cols = dnp.im2col(x, kh, kw, stride, padding)
    oh = dnp.conv_output_size(h, kh, stride, padding)
    ow = dnp.conv_output_size(w, kw, stride, padding)
    assert cols.shape == (n * oh * ow, c * kh * kw)
    z = rng.normal(size=cols.shape)
    # <im2col(x), z> = <x, col2im(z)> for all x, z: col2im is the transpose of im2col
    lhs = np.sum(cols * z)
    rhs = np.sum(x * dnp.col2im(z, x.shape, kh, kw, stride, padding))
    assert lhs == pytest.approx(rhs, rel=1e-10, abs=1e-10)


def test_im2col_rows_are_receptive_fields():
    x = np.arange(2 * 1 * 4 * 4, dtype=float).reshape(2, 1, 4, 4)
    cols = dnp.im2col(x, 2, 2, stride=2)
    assert cols.shape == (2 * 2 * 2, 4)
    np.testing.assert_array_equal(cols[0], [0, 1, 4, 5])
    np.testing.assert_array_equal(cols[3], [10, 11, 14, 15])
    np.testing.assert_array_equal(cols[4], [16, 17, 20, 21])  # the second image


# ---------------------------------------------------------------------------------------------
# Pooling

POOLS = {
    "max": (dnp.maxpool2d_forward, dnp.maxpool2d_backward, F.max_pool2d),
    "avg": (dnp.avgpool2d_forward, dnp.avgpool2d_backward, F.avg_pool2d),
}


@st.composite
def pool_cases(draw):
    n, c = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    k = draw(st.integers(1, 4))
    padding = draw(st.integers(0, k // 2))
    stride = draw(st.integers(1, 3))
    assume(k <= h + 2 * padding and k <= w + 2 * padding)
    return n, c, h, w, k, stride, padding, draw(seeds)


@pytest.mark.parametrize("kind", POOLS)
@settings(max_examples=50, deadline=None)
@given(case=pool_cases())
def test_pool_matches_torch(kind, case):
    n, c, h, w, k, stride, padding, seed = case
    forward, backward, reference = POOLS[kind]
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, c, h, w))
    out, cache = forward(x, k, stride, padding)
    dout = rng.normal(size=out.shape)
    dx = backward(dout, cache)
    want, (want_dx,) = torch_grads(lambda t: reference(t, k, stride, padding), (x,), dout)
    np.testing.assert_allclose(out, want, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(dx, want_dx, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("kind", POOLS)
def test_pool_strides(rng, kind):
    """The design's default is kernel_size=2, stride=2; stride=None means kernel_size (torch)."""
    forward, _, reference = POOLS[kind]
    x = rng.normal(size=(2, 3, 9, 7))
    out, _ = forward(x, 3, stride=None)
    assert out.shape == (2, 3, 3, 2)
    np.testing.assert_allclose(out, reference(torch.tensor(x), 3).numpy(), rtol=1e-12)
    out3, _ = forward(x, 3)  # kernel 3, the default stride 2
    assert out3.shape == (2, 3, 4, 3)
    np.testing.assert_allclose(out3, reference(torch.tensor(x), 3, 2).numpy(), rtol=1e-12)
    out2, _ = forward(x)  # kernel_size=2, stride=2
    assert out2.shape == (2, 3, 4, 3)


@pytest.mark.parametrize("kind", POOLS)
@pytest.mark.parametrize(("k", "stride", "padding"), [(2, 2, 0), (3, 1, 1), (3, 2, 1)])
def test_pool_backward_matches_numerical(rng, kind, k, stride, padding):
    forward, backward, _ = POOLS[kind]
    x = rng.permutation(np.linspace(-1.0, 1.0, 2 * 2 * 6 * 5)).reshape(2, 2, 6, 5)  # no ties
    out, cache = forward(x, k, stride, padding)
    dout = rng.normal(size=out.shape)
    expected = numerical_gradient(lambda v: forward(v, k, stride, padding)[0], x, dout, h=1e-5)
    assert relative_error(backward(dout, cache), expected) < 1e-7


def test_maxpool_routes_the_gradient_to_the_maximum():
    x = np.array([[[[1.0, 5.0], [3.0, 2.0]]]])
    out, cache = dnp.maxpool2d_forward(x)
    assert out.item() == 5.0
    np.testing.assert_array_equal(
        dnp.maxpool2d_backward(np.array([[[[7.0]]]]), cache), [[[[0, 7], [0, 0]]]]
    )


def test_pool_caches_are_not_interchangeable(rng):
    x = rng.normal(size=(1, 1, 4, 4))
    out, max_cache = dnp.maxpool2d_forward(x)
    _, avg_cache = dnp.avgpool2d_forward(x)
    with pytest.raises(ValueError, match="cache must be the Pool2dCache"):
        dnp.avgpool2d_backward(out, max_cache)
    with pytest.raises(ValueError, match="cache must be the MaxPool2dCache"):
        dnp.maxpool2d_backward(out, avg_cache)


# ---------------------------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "kwargs", "match"),
    [
        ((2, 3, 4, 4), (2, 3, 7, 3), {"padding": 1}, r"kernel 7 is larger than the padded input 6"),
        ((2, 3, 4, 4), (2, 3, 2, 2), {"stride": 0}, "stride must be an int >= 1"),
        ((2, 3, 4, 4), (2, 3, 2, 2), {"stride": -1}, "stride must be an int >= 1"),
        ((2, 3, 4, 4), (2, 3, 2, 2), {"padding": -1}, "padding must be an int >= 0"),
        ((2, 3, 4, 4), (2, 2, 2, 2), {}, r"w must have shape \(F, C, KH, KW\) with C = 3"),
        ((3, 4, 4), (2, 3, 2, 2), {}, r"x must be a 4-D array .*got shape \(3, 4, 4\)"),
        ((2, 3, 4, 4), (3, 2, 2), {}, r"w must be a 4-D array .*got shape \(3, 2, 2\)"),
    ],
)
def test_conv2d_rejects_bad_input(x_shape, w_shape, kwargs, match):
    x, w = np.ones(x_shape), np.ones(w_shape)
    with pytest.raises(ValueError, match=match):
        dnp.conv2d_forward(x, w, np.zeros(w_shape[0]), **kwargs)


def test_conv2d_rejects_bad_bias_dout_and_nan(rng):
    x, w = rng.normal(size=(1, 2, 5, 5)), rng.normal(size=(3, 2, 3, 3))
    with pytest.raises(ValueError, match=r"b must have shape \(F,\) with F = 3"):
        dnp.conv2d_forward(x, w, np.zeros(2))
    x_nan = x.copy()
    x_nan[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="x contains NaN"):
        dnp.conv2d_forward(x_nan, w, np.zeros(3))
    out, cache = dnp.conv2d_forward(x, w, np.zeros(3))
    with pytest.raises(ValueError, match=r"dout must have shape \(1, 3, 3, 3\)"):
        dnp.conv2d_backward(out[:, :2], cache)
    with pytest.raises(ValueError, match="Conv2dCache"):
        dnp.conv2d_backward(out, (x, w))


@pytest.mark.parametrize("forward", [dnp.maxpool2d_forward, dnp.avgpool2d_forward])
def test_pool_rejects_bad_input(forward):
    with pytest.raises(ValueError, match=r"kernel 5 is larger than the padded input 4"):
        forward(np.ones((1, 1, 4, 4)), 5)
    with pytest.raises(ValueError, match="stride must be an int >= 1"):
        forward(np.ones((1, 1, 4, 4)), 2, 0)
    with pytest.raises(ValueError, match="padding must be at most half the kernel size"):
        forward(np.ones((1, 1, 4, 4)), 2, 2, 2)
    with pytest.raises(ValueError, match=r"x must be a 4-D array .*got shape \(4, 4\)"):
        forward(np.ones((4, 4)))


def test_conv_output_size_and_col2im_reject_bad_input():
    assert dnp.conv_output_size(28, 5, 1, 2) == 28
    assert dnp.conv_output_size(7, 3, 2, 1) == 4
    with pytest.raises(ValueError, match="kernel 9 is larger than the padded input 6"):
        dnp.conv_output_size(4, 9, 1, 1)
    with pytest.raises(ValueError, match=r"cols must have shape \(4, 4\)"):
        dnp.col2im(np.ones((3, 4)), (1, 1, 3, 3), 2, 2)
    with pytest.raises(ValueError, match="x_shape must be"):
        dnp.col2im(np.ones((4, 4)), (3, 3), 2, 2)


# ---------------------------------------------------------------------------------------------
# LeNet in NumPy and in torch


def torch_lenet_from(params: list[np.ndarray]) -> torch.nn.Module:
    """A float64 `dtorch.LeNet` holding the NumPy LeNet's weights (linear weights transposed)."""
    model = dtorch.LeNet(num_classes=params[-1].shape[0]).double()
    layers = [model.features[0], model.features[3], *model.classifier[1::2]]
    with torch.no_grad():
        for i, layer in enumerate(layers):
            w = torch.tensor(params[2 * i])
            layer.weight.copy_(w if w.ndim == 4 else w.T)
            layer.bias.copy_(torch.tensor(params[2 * i + 1]))
    return model


def test_numpy_lenet_matches_torch_lenet(rng):
    params = dnp.lenet_init(rng=rng)
    assert sum(p.size for p in params) == 61_706
    model = torch_lenet_from(params)
    assert sum(p.numel() for p in model.parameters()) == 61_706
    x, y = rng.normal(size=(3, 1, 28, 28)), np.array([1, 7, 3])
    logits, cache = dnp.lenet_forward(params, x)
    _, dlogits = dnp.softmax_cross_entropy(logits, y)
    grads = dnp.lenet_backward(dlogits, cache)

    out = model(torch.tensor(x))
    F.cross_entropy(out, torch.tensor(y)).backward()
    np.testing.assert_allclose(logits, out.detach().numpy(), rtol=1e-8, atol=1e-10)
    for g, p in zip(grads, model.parameters(), strict=True):
        want = p.grad.numpy()
        np.testing.assert_allclose(g if g.shape == want.shape else g.T, want, rtol=1e-7, atol=1e-10)


def test_numpy_lenet_backward_matches_numerical(rng):
    params = dnp.lenet_init(rng=rng, num_classes=3, image_size=12)  # 12x12 -> 12 -> 6 -> 2 -> 1
    x, y = rng.normal(size=(2, 1, 12, 12)), np.array([0, 2])

    def loss(ps):
        return dnp.softmax_cross_entropy(dnp.lenet_forward(ps, x)[0], y)[0]

    logits, cache = dnp.lenet_forward(params, x)
    grads = dnp.lenet_backward(dnp.softmax_cross_entropy(logits, y)[1], cache)
    for i in (0, 1, 2, 5, 8, 9):  # conv1 w, b; conv2 w; fc1 b; fc3 w, b
        expected = numerical_gradient(
            lambda v, i=i: loss([*params[:i], v, *params[i + 1 :]]), params[i]
        )
        # a norm-wise error: entries near 1e-9 carry the O(h**2) error of central differences
        error = np.linalg.norm(grads[i] - expected) / np.linalg.norm(grads[i] + expected)
        assert error < 1e-7, (i, error)


def test_lenet_init_rejects_bad_arguments(rng):
    with pytest.raises(ValueError, match="rng must be"):
        dnp.lenet_init(rng=0)
    with pytest.raises(ValueError, match="image_size must be an int >= 12"):
        dnp.lenet_init(rng=rng, image_size=8)
    with pytest.raises(ValueError, match="10 arrays"):
        dnp.lenet_forward([np.ones(2)], np.ones((1, 1, 28, 28)))


def test_float32_lenet_forward_and_backward_stay_float32():
    rng = np.random.default_rng(0)
    params = [p.astype(np.float32) for p in dnp.lenet_init(rng=rng)]
    x = rng.normal(size=(2, 1, 28, 28)).astype(np.float32)
    logits, cache = dnp.lenet_forward(params, x)
    assert logits.dtype == np.float32
    grads = dnp.lenet_backward(np.ones_like(logits), cache)
    assert {g.dtype for g in grads} == {np.dtype(np.float32)}
    logits64, _ = dnp.lenet_forward([p.astype(np.float64) for p in params], x.astype(np.float64))
    assert logits64.dtype == np.float64
    np.testing.assert_allclose(logits, logits64, rtol=1e-3, atol=1e-4)
