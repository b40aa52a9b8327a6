"""dlbook.numpy.rnn: parity with torch.nn.RNN/LSTM/GRU and F.embedding in float64 on
hypothesis-drawn shapes, numerical gradient checks, dtypes, NaN and bad-shape errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from opregistry import Op, op_tests

import dlbook.numpy as dnp
from dlbook.numpy.gradcheck import numerical_gradient, relative_error

GATES = {"rnn": 1, "lstm": 4, "gru": 3}
TORCH = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}


def make_inputs(kind, rng, N, T, D, H, dtype=np.float64):
    G = GATES[kind]
    a = {
        "x": rng.normal(size=(N, T, D)),
        "h0": rng.normal(size=(N, H)),
        "w_ih": rng.normal(size=(G * H, D)) / np.sqrt(D),
        "w_hh": rng.normal(size=(G * H, H)) / np.sqrt(H),
    }
    if kind == "lstm":
        a["c0"] = rng.normal(size=(N, H))
    if kind == "gru":
        a["b_ih"], a["b_hh"] = rng.normal(size=G * H), rng.normal(size=G * H)
    else:
        a["b"] = rng.normal(size=G * H)
    return {k: v.astype(dtype) for k, v in a.items()}


def forward(kind, a):
    """h_all and the cache of the NumPy op."""
    if kind == "rnn":
        return dnp.rnn_forward(a["x"], a["h0"], a["w_ih"], a["w_hh"], a["b"])
    if kind == "lstm":
        h_all, _, cache = dnp.lstm_forward(a["x"], a["h0"], a["c0"], a["w_ih"], a["w_hh"], a["b"])
        return h_all, cache
    return dnp.gru_forward(a["x"], a["h0"], a["w_ih"], a["w_hh"], a["b_ih"], a["b_hh"])


NAMES = {
    "rnn": ("x", "h0", "w_ih", "w_hh", "b"),
    "lstm": ("x", "h0", "c0", "w_ih", "w_hh", "b"),
    "gru": ("x", "h0", "w_ih", "w_hh", "b_ih", "b_hh"),
}


def backward(kind, dh_all, cache):
    fn = {"rnn": dnp.rnn_backward, "lstm": dnp.lstm_backward, "gru": dnp.gru_backward}[kind]
    return dict(zip(NAMES[kind], fn(dh_all, cache), strict=True))


def torch_reference(kind, a, dh_all):
    """Output and input gradients of torch.nn.<RNN|LSTM|GRU> with the same weights."""
    D, H = a["x"].shape[2], a["h0"].shape[1]
    module = TORCH[kind](D, H, batch_first=True).double()
    with torch.no_grad():
        module.weight_ih_l0.copy_(torch.tensor(a["w_ih"]))
        module.weight_hh_l0.copy_(torch.tensor(a["w_hh"]))
        if kind == "gru":
            module.bias_ih_l0.copy_(torch.tensor(a["b_ih"]))
            module.bias_hh_l0.copy_(torch.tensor(a["b_hh"]))
        else:  # b = b_ih + b_hh: put all of it in b_ih
            module.bias_ih_l0.copy_(torch.tensor(a["b"]))
            module.bias_hh_l0.zero_()
    x = torch.tensor(a["x"], requires_grad=True)
    h0 = torch.tensor(a["h0"][None], requires_grad=True)
    if kind == "lstm":
        c0 = torch.tensor(a["c0"][None], requires_grad=True)
        out, (h_t, c_t) = module(x, (h0, c0))
    else:
        out, h_t = module(x, h0)
    out.backward(torch.tensor(dh_all))
    grads = {"x": x.grad, "h0": h0.grad[0], "w_ih": module.weight_ih_l0.grad}
    grads["w_hh"] = module.weight_hh_l0.grad
    if kind == "lstm":
        grads["c0"] = c0.grad[0]
    if kind == "gru":
        grads["b_ih"], grads["b_hh"] = module.bias_ih_l0.grad, module.bias_hh_l0.grad
    else:
        grads["b"] = module.bias_ih_l0.grad
    extra = (h_t[0].detach().numpy(), c_t[0].detach().numpy()) if kind == "lstm" else None
    return out.detach().numpy(), {k: v.numpy() for k, v in grads.items()}, extra


dims = st.tuples(st.integers(1, 4), st.integers(1, 6), st.integers(1, 5), st.integers(1, 5))


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@settings(max_examples=25, deadline=None)
@given(ntdh=dims, seed=st.integers(0, 2**32 - 1))
def test_matches_torch_in_float64(kind, ntdh, seed):
    rng = np.random.default_rng(seed)
    a = make_inputs(kind, rng, *ntdh)
    h_all, cache = forward(kind, a)
    dh_all = rng.normal(size=h_all.shape)
    grads = backward(kind, dh_all, cache)
    want, want_grads, extra = torch_reference(kind, a, dh_all)
    np.testing.assert_allclose(h_all, want, rtol=1e-8, atol=1e-12)
    for name in NAMES[kind]:
        assert grads[name].shape == a[name].shape, name
        np.testing.assert_allclose(grads[name], want_grads[name], rtol=1e-8, atol=1e-12)
    if kind == "lstm":
        _, (h_t, c_t), _ = dnp.lstm_forward(*(a[n] for n in NAMES["lstm"]))
        np.testing.assert_allclose(h_t, extra[0], rtol=1e-8, atol=1e-12)
        np.testing.assert_allclose(c_t, extra[1], rtol=1e-8, atol=1e-12)
        np.testing.assert_array_equal(h_t, h_all[:, -1])


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_gradients_match_central_differences(kind, rng):
    a = make_inputs(kind, rng, 2, 4, 3, 3)
    h_all, cache = forward(kind, a)
    dh_all = rng.normal(size=h_all.shape)
    grads = backward(kind, dh_all, cache)
    for name in NAMES[kind]:

        def f(v, name=name):
            return forward(kind, {**a, name: v})[0]

        numeric = numerical_gradient(f, a[name], dh_all)
        assert relative_error(grads[name], numeric) < 1e-6, name


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept_forward_and_backward(kind, dtype, rng):
    a = make_inputs(kind, rng, 2, 3, 4, 5, dtype=dtype)
    h_all, cache = forward(kind, a)
    assert h_all.dtype == dtype
    grads = backward(kind, np.ones_like(h_all), cache)
    assert {g.dtype for g in grads.values()} == {np.dtype(dtype)}


def test_float32_agrees_with_float64(rng):
    a = make_inputs("lstm", rng, 3, 7, 4, 5)
    h64, _ = forward("lstm", a)
    h32, _ = forward("lstm", {k: v.astype(np.float32) for k, v in a.items()})
    np.testing.assert_allclose(h32, h64, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("name", ["x", "h0", "w_hh"])
def test_nan_inputs_raise(kind, name, rng):
    a = make_inputs(kind, rng, 2, 3, 4, 5)
    a[name] = a[name].copy()
    a[name].flat[0] = np.nan
    with pytest.raises(ValueError, match=f"{name} contains NaN"):
        forward(kind, a)


def _bad_cases(kind):
    G = GATES[kind]
    return [
        ("x", lambda a: {**a, "x": a["x"][0]}, r"x must be a 3-D array of shape \(N, T, D\)"),
        ("h0", lambda a: {**a, "h0": a["h0"][None]}, r"h0 must be a 2-D array of shape \(N, H\)"),
        (
            "w_hh",  # H of w_hh does not match H of h0
            lambda a: {**a, "w_hh": np.zeros((a["w_hh"].shape[0] + G, a["w_hh"].shape[1] + 1))},
            rf"w_hh must have shape \({G if G > 1 else ''}H, H\)",
        ),
        (
            "w_ih",  # the gate dimension is not G*H
            lambda a: {**a, "w_ih": a["w_ih"][:-1]},
            rf"w_ih must have shape \({G if G > 1 else ''}H, D\)",
        ),
        (
            "x",  # D of x does not match w_ih
            lambda a: {**a, "x": a["x"][..., :-1]},
            r"w_ih must have shape .*D = 3",
        ),
    ]


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_bad_shapes_raise_naming_the_argument(kind, rng):
    a = make_inputs(kind, rng, 2, 3, 4, 5)
    for _, change, match in _bad_cases(kind):
        with pytest.raises(ValueError, match=match):
            forward(kind, change(a))


def test_gate_dimension_errors_name_the_multiple(rng):
    a = make_inputs("lstm", rng, 2, 3, 4, 5)
    with pytest.raises(ValueError, match=r"w_ih must have shape \(4H, D\) with 4H = 20"):
        forward("lstm", {**a, "w_ih": np.zeros((15, 4))})
    g = make_inputs("gru", rng, 2, 3, 4, 5)
    with pytest.raises(ValueError, match=r"b_hh must have shape \(3H,\) with 3H = 15"):
        forward("gru", {**g, "b_hh": np.zeros(20)})
    with pytest.raises(ValueError, match=r"c0 must have shape \(N, H\)"):
        forward("lstm", {**a, "c0": np.zeros((2, 6))})


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_backward_checks_its_arguments(kind, rng):
    a = make_inputs(kind, rng, 2, 3, 4, 5)
    h_all, cache = forward(kind, a)
    with pytest.raises(ValueError, match=r"dh_all must have shape"):
        backward(kind, h_all[:, :-1], cache)
    with pytest.raises(ValueError, match=r"cache must be the"):
        backward(kind, h_all, (1, 2, 3))


def test_step_functions_compose_to_the_sequence(rng):
    a = make_inputs("lstm", rng, 2, 4, 3, 5)
    h_all, (h_t, c_t), _ = dnp.lstm_forward(*(a[n] for n in NAMES["lstm"]))
    h, c = a["h0"], a["c0"]
    for t in range(4):
        a_x = a["x"][:, t] @ a["w_ih"].T + a["b"]
        h, c, _ = dnp.lstm_step_forward(a_x, h, c, a["w_hh"])
        np.testing.assert_allclose(h, h_all[:, t], rtol=1e-12)
    np.testing.assert_allclose(c, c_t, rtol=1e-12)


def test_rnn_step_backward_matches_central_differences(rng):
    a_x, h_prev, w_hh = rng.normal(size=(3, 4)), rng.normal(size=(3, 4)), rng.normal(size=(4, 4))
    dh = rng.normal(size=(3, 4))
    _, cache = dnp.rnn_step_forward(a_x, h_prev, w_hh)
    da, dh_prev, dw = dnp.rnn_step_backward(dh, cache)
    args = [a_x, h_prev, w_hh]
    for got, arg in ((da, 0), (dh_prev, 1), (dw, 2)):

        def f(v, arg=arg):
            return dnp.rnn_step_forward(*[v if i == arg else x for i, x in enumerate(args)])[0]

        assert relative_error(got, numerical_gradient(f, args[arg], dh)) < 1e-6


def test_gru_step_backward_matches_central_differences(rng):
    H = 3
    args = [rng.normal(size=(2, 3 * H)), rng.normal(size=(2, H))]
    args += [rng.normal(size=(3 * H, H)), rng.normal(size=3 * H)]
    dh = rng.normal(size=(2, H))
    _, cache = dnp.gru_step_forward(*args)
    grads = dnp.gru_step_backward(dh, cache)
    for got, arg in zip(grads, (0, 1, 2, 3), strict=True):

        def f(v, arg=arg):
            return dnp.gru_step_forward(*[v if i == arg else x for i, x in enumerate(args)])[0]

        assert relative_error(got, numerical_gradient(f, args[arg], dh)) < 1e-6


def test_lstm_step_backward_carries_the_cell_gradient(rng):
    H = 4
    args = [rng.normal(size=(2, 4 * H)), rng.normal(size=(2, H)), rng.normal(size=(2, H))]
    args.append(rng.normal(size=(4 * H, H)))
    dh, dc = rng.normal(size=(2, H)), rng.normal(size=(2, H))
    _, _, cache = dnp.lstm_step_forward(*args)
    grads = dnp.lstm_step_backward(dh, dc, cache)
    for got, arg in zip((grads[0], grads[1], grads[2], grads[3]), (0, 1, 2, 3), strict=True):

        def f(v, arg=arg):
            h, c, _ = dnp.lstm_step_forward(*[v if i == arg else x for i, x in enumerate(args)])
            return np.concatenate([h, c], axis=1)

        numeric = numerical_gradient(f, args[arg], np.concatenate([dh, dc], axis=1))
        assert relative_error(got, numeric) < 1e-6


def test_sigmoid_gates_do_not_overflow():
    a = make_inputs("lstm", np.random.default_rng(1), 1, 2, 2, 2)
    a["b"] = np.array([1e4, -1e4] * 4)
    with np.errstate(all="raise"):
        h_all, cache = forward("lstm", a)
        backward("lstm", np.ones_like(h_all), cache)
    assert np.all(np.isfinite(h_all))


# ---------------------------------------------------------------------------------------------
# Embedding


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(1, 4),
    t=st.integers(1, 6),
    v=st.integers(1, 7),
    d=st.integers(1, 5),
    seed=st.integers(0, 2**32 - 1),
)
def test_embedding_matches_torch(n, t, v, d, seed):
    rng = np.random.default_rng(seed)
    idx, w = rng.integers(0, v, size=(n, t)), rng.normal(size=(v, d))
    out, cache = dnp.embedding_forward(idx, w)
    dout = rng.normal(size=out.shape)
    dw = dnp.embedding_backward(dout, cache)
    tw = torch.tensor(w, requires_grad=True)
    ref = F.embedding(torch.tensor(idx), tw)
    ref.backward(torch.tensor(dout))
    np.testing.assert_allclose(out, ref.detach().numpy(), rtol=1e-8)
    np.testing.assert_allclose(dw, tw.grad.numpy(), rtol=1e-8, atol=1e-12)


def test_embedding_gradient_matches_central_differences(rng):
    idx, w = np.array([[0, 2, 2], [1, 0, 2]]), rng.normal(size=(4, 3))
    out, cache = dnp.embedding_forward(idx, w)
    dout = rng.normal(size=out.shape)
    numeric = numerical_gradient(lambda v: dnp.embedding_forward(idx, v)[0], w, dout)
    assert relative_error(dnp.embedding_backward(dout, cache), numeric) < 1e-6
    assert np.all(dnp.embedding_backward(dout, cache)[3] == 0)  # an unused row gets nothing


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_embedding_keeps_the_dtype(dtype, rng):
    w = rng.normal(size=(5, 3)).astype(dtype)
    out, cache = dnp.embedding_forward(np.zeros((2, 2), dtype=np.int64), w)
    assert out.dtype == dtype and dnp.embedding_backward(out, cache).dtype == dtype


@pytest.mark.parametrize(
    ("idx", "w", "match"),
    [
        (np.array([[0, 5]]), np.zeros((5, 2)), r"idx must hold indices in \[0, 5\)"),
        (np.array([[-1, 0]]), np.zeros((5, 2)), r"idx must hold indices (in )?>= 0"),
        (np.array([0, 1]), np.zeros((5, 2)), r"idx must be a 2-D array of shape \(N, T\)"),
        (np.array([[0.5]]), np.zeros((5, 2)), r"idx must hold integer"),
        (np.array([[0]]), np.zeros(5), r"w must be a 2-D array of shape \(V, D\)"),
        (np.array([[0]]), np.full((5, 2), np.nan), r"w contains NaN"),
    ],
)
def test_embedding_bad_input(idx, w, match):
    with pytest.raises(ValueError, match=match):
        dnp.embedding_forward(idx, w)


# ---------------------------------------------------------------------------------------------
# The op registry: parity, gradient check, NaN, bad input and dtype tests for each op


def _torch_module(kind, tensors):
    """torch.nn.<kind> run functionally on the given (differentiable) weight tensors."""
    from torch.func import functional_call

    x, h0 = tensors["x"], tensors["h0"]
    module = TORCH[kind](x.shape[2], h0.shape[1], batch_first=True).double()
    if kind == "gru":
        b_ih, b_hh = tensors["b_ih"], tensors["b_hh"]
    else:
        b_ih, b_hh = tensors["b"], torch.zeros_like(tensors["b"])
    params = {
        "weight_ih_l0": tensors["w_ih"],
        "weight_hh_l0": tensors["w_hh"],
        "bias_ih_l0": b_ih,
        "bias_hh_l0": b_hh,
    }
    state = (h0[None], tensors["c0"][None]) if kind == "lstm" else h0[None]
    out, _ = functional_call(module, params, (x, state))
    return (out,)


def _as_outputs(result):
    out, cache = result
    return (out,), cache


def _op(kind):
    G = GATES[kind]
    prefix = f"{G}" if G > 1 else ""
    bad = [
        (lambda a: {**a, "x": a["x"][0]}, r"x must be a 3-D array of shape \(N, T, D\)"),
        (lambda a: {**a, "w_hh": a["w_hh"][:, :-1]}, rf"w_hh must have shape \({prefix}H, H\)"),
        (lambda a: {**a, "h0": a["h0"][:, :-1]}, r"must have shape .*H"),
        (lambda a: {**a, "w_ih": a["w_ih"][:-1]}, rf"w_ih must have shape \({prefix}H, D\)"),
    ]
    return Op(
        name=kind,
        dims={"N": (1, 3), "T": (1, 5), "D": (1, 4), "H": (1, 4)},
        gradcheck_dims={"N": 2, "T": 3, "D": 3, "H": 2},
        inputs=lambda rng, d, dtype: make_inputs(kind, rng, d["N"], d["T"], d["D"], d["H"], dtype),
        forward=lambda **a: _as_outputs(forward(kind, a)),
        backward=lambda douts, cache: backward(kind, douts[0], cache),
        torch_forward=lambda **t: _torch_module(kind, t),
        grad_inputs=NAMES[kind],
        bad_inputs=bad,
        nan_input="x",
    )


def _embedding_inputs(rng, d, dtype):
    return {
        "idx": rng.integers(0, d["V"], size=(d["N"], d["T"])),
        "w": rng.normal(size=(d["V"], d["D"])).astype(dtype),
    }


EMBEDDING = Op(
    name="embedding",
    dims={"N": (1, 3), "T": (1, 5), "V": (1, 6), "D": (1, 4)},
    inputs=_embedding_inputs,
    forward=lambda idx, w: _as_outputs(dnp.embedding_forward(idx, w)),
    backward=lambda douts, cache: {"w": dnp.embedding_backward(douts[0], cache)},
    torch_forward=lambda idx, w: (F.embedding(idx, w),),
    grad_inputs=("w",),
    bad_inputs=[
        (lambda a: {**a, "idx": a["idx"] + a["w"].shape[0]}, r"idx must hold indices in \[0, "),
        (lambda a: {**a, "idx": a["idx"][0]}, r"idx must be a 2-D array of shape \(N, T\)"),
        (lambda a: {**a, "w": a["w"][0]}, r"w must be a 2-D array of shape \(V, D\)"),
    ],
)

TestRNNOp = op_tests(_op("rnn"))
TestLSTMOp = op_tests(_op("lstm"))
TestGRUOp = op_tests(_op("gru"))
TestEmbeddingOp = op_tests(EMBEDDING)
