"""dlbook.numpy.attention: parity with torch in float64 (hypothesis shapes, with and without
masks), gradient checks, the fully-masked-row rule, dtypes and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from opregistry import Op, op_tests

import dlbook.numpy as dnp
from dlbook.numpy.gradcheck import numerical_gradient

seeds = st.integers(0, 2**32 - 1)
RTOL, ATOL = 1e-8, 1e-12


def random_mask(rng, shape):
    """A random boolean mask in which every query row allows at least one key."""
    mask = rng.random(shape) < 0.6
    rows = np.broadcast_to(mask, shape).any(axis=-1)
    if not rows.all():
        mask[..., rng.integers(shape[-1])] = True
    return mask


def mask_for(rng, kind, n, tq, tk):
    if kind == "none":
        return None
    if kind == "causal":
        return dnp.causal_mask(tq) if tq == tk else random_mask(rng, (tq, tk))
    if kind == "2d":
        return random_mask(rng, (tq, tk))
    if kind == "padding":  # (N, 1, Tk): the same keys hidden from every query
        return random_mask(rng, (n, 1, tk))
    return random_mask(rng, (n, tq, tk))


# ---------------------------------------------------------------------------------------------
# Scaled dot-product attention


KINDS = ["none", "causal", "2d", "padding", "3d"]


def _normal(rng, shape, dtype):
    return rng.normal(size=shape).astype(dtype)


def _attention_inputs(rng, d, dtype):
    n, tq, tk = d["N"], d["Tq"], d["Tk"]
    return {
        "q": _normal(rng, (n, tq, d["D"]), dtype),
        "k": _normal(rng, (n, tk, d["D"]), dtype),
        "v": _normal(rng, (n, tk, d["Dv"]), dtype),
        "mask": mask_for(rng, KINDS[d["mask"]], n, tq, tk),
    }


def _sdpa(q, k, v, mask):
    return (F.scaled_dot_product_attention(q, k, v, attn_mask=mask),)


TestAttentionOp = op_tests(
    Op(
        name="attention",
        dims={"N": (1, 3), "Tq": (1, 5), "Tk": (1, 5), "D": (1, 6), "Dv": (1, 5), "mask": (0, 4)},
        inputs=_attention_inputs,
        forward=lambda q, k, v, mask: (lambda o, c: ((o,), c))(
            *dnp.attention_forward(q, k, v, mask)
        ),
        backward=lambda douts, c: dict(
            zip("qkv", dnp.attention_backward(douts[0], c), strict=True)
        ),
        torch_forward=_sdpa,
        grad_inputs=("q", "k", "v"),
        gradcheck_dims={"N": 2, "Tq": 3, "Tk": 4, "D": 3, "Dv": 2, "mask": 4},
        bad_inputs=[
            (lambda a: {**a, "k": a["k"][:1]}, r"k must have shape \(N, Tk, D\) with N = 2"),
            (lambda a: {**a, "v": a["v"][:, :1]}, r"v must have shape \(N, Tk, Dv\) with Tk = 2"),
            (lambda a: {**a, "q": a["q"][0]}, r"q must be a 3-D array of shape \(N, Tq, D\)"),
            (lambda a: {**a, "mask": np.ones((2, 2))}, "mask must be a boolean array"),
            (lambda a: {**a, "mask": np.ones((3, 2, 2), bool)}, r"broadcastable to \(N, Tq, Tk\)"),
        ],
        max_examples=40,
    )
)


def _mha_inputs(rng, d, dtype):
    n, tq, tk, h = d["N"], d["Tq"], d["Tk"], d["H"]
    e = h * d["Dh"]
    return {
        "x_q": _normal(rng, (n, tq, e), dtype),
        "x_kv": _normal(rng, (n, tk, e), dtype),
        "in_proj_weight": _normal(rng, (3 * e, e), dtype),
        "in_proj_bias": _normal(rng, (3 * e,), dtype),
        "out_proj_weight": _normal(rng, (e, e), dtype),
        "out_proj_bias": _normal(rng, (e,), dtype),
        "num_heads": h,
        "mask": mask_for(rng, KINDS[d["mask"]], n, tq, tk),
    }


MHA_GRADS = ("x_q", "x_kv", "in_proj_weight", "in_proj_bias", "out_proj_weight", "out_proj_bias")


def _torch_mha(
    x_q, x_kv, in_proj_weight, in_proj_bias, out_proj_weight, out_proj_bias, num_heads, mask
):
    """torch's multi-head attention (functional form of nn.MultiheadAttention); it wants
    (T, N, E) and a boolean mask with True = blocked, 3-D masks per (batch, head)."""
    n, tq, e = x_q.shape
    attn_mask = None
    if mask is not None:
        full = mask.expand(n, tq, x_kv.shape[1]).repeat_interleave(num_heads, dim=0)
        attn_mask = ~full
    out, _ = F.multi_head_attention_forward(
        x_q.transpose(0, 1), x_kv.transpose(0, 1), x_kv.transpose(0, 1), e, num_heads,
        in_proj_weight, in_proj_bias, None, None, False, 0.0, out_proj_weight, out_proj_bias,
        training=False, need_weights=False, attn_mask=attn_mask,
    )  # fmt: skip
    return (out.transpose(0, 1),)


TestMultiheadAttentionOp = op_tests(
    Op(
        name="multihead_attention",
        dims={"N": (1, 3), "Tq": (1, 4), "Tk": (1, 4), "H": (1, 3), "Dh": (1, 3), "mask": (0, 4)},
        inputs=_mha_inputs,
        forward=lambda **a: (lambda o, c: ((o,), c))(*dnp.multihead_attention_forward(**a)),
        backward=lambda douts, c: dict(
            zip(MHA_GRADS, dnp.multihead_attention_backward(douts[0], c), strict=True)
        ),
        torch_forward=_torch_mha,
        grad_inputs=MHA_GRADS,
        gradcheck_dims={"N": 2, "Tq": 3, "Tk": 2, "H": 2, "Dh": 2, "mask": 4},
        bad_inputs=[
            (lambda a: {**a, "num_heads": 3}, "num_heads must divide the embedding size E = 4"),
            (
                lambda a: {**a, "x_kv": a["x_kv"][:1]},
                r"x_kv must have shape \(N, Tk, E\) with N = 2",
            ),
            (lambda a: {**a, "x_kv": a["x_kv"][..., :3]}, r"x_kv must have shape \(N, Tk, E\)"),
            (
                lambda a: {**a, "in_proj_weight": a["in_proj_weight"][:4]},
                r"in_proj_weight must have shape \(3E, E\)",
            ),
            (
                lambda a: {**a, "mask": np.ones((2, 3), bool)},
                r"mask must have shape .* = \(2, 2, 2\)",
            ),
            (lambda a: {**a, "mask": np.ones((2, 2), int)}, "mask must be a boolean array"),
        ],
        max_examples=30,
    )
)


def test_attention_weights_rows_sum_to_one_and_respect_the_mask(rng):
    q, k, v = rng.normal(size=(1, 4, 3)), rng.normal(size=(1, 4, 3)), rng.normal(size=(1, 4, 2))
    _, cache = dnp.attention_forward(q, k, v, dnp.causal_mask(4))
    np.testing.assert_allclose(cache.weights.sum(axis=-1), 1.0)
    assert np.all(cache.weights[0][~dnp.causal_mask(4)] == 0.0)
    # causal: the output at position t does not change when later keys/values change
    v2 = v.copy()
    v2[:, 2:] += 10.0
    out1, _ = dnp.attention_forward(q, k, v, dnp.causal_mask(4))
    out2, _ = dnp.attention_forward(q, k, v2, dnp.causal_mask(4))
    np.testing.assert_array_equal(out1[:, :2], out2[:, :2])
    assert not np.allclose(out1[:, 2:], out2[:, 2:])


def test_causal_mask_is_lower_triangular():
    m = dnp.causal_mask(4)
    assert m.dtype == bool and m.shape == (4, 4)
    np.testing.assert_array_equal(m, np.tril(np.ones((4, 4))) == 1)
    with pytest.raises(ValueError, match="T must be an int >= 1"):
        dnp.causal_mask(0)


def test_huge_scores_are_stable(rng):
    q, k, v = (
        1e3 * rng.normal(size=(1, 3, 4)),
        rng.normal(size=(1, 3, 4)),
        rng.normal(size=(1, 3, 2)),
    )
    out, cache = dnp.attention_forward(q, k, v, dnp.causal_mask(3))
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(cache.weights))
    want = F.scaled_dot_product_attention(
        *(torch.tensor(a) for a in (q, k, v)), attn_mask=torch.tensor(dnp.causal_mask(3))
    )
    np.testing.assert_allclose(out, want.numpy(), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept_forward_and_backward(rng, dtype):
    q, k, v = (rng.normal(size=(2, 3, 4)).astype(dtype) for _ in range(3))
    out, cache = dnp.attention_forward(q, k, v, dnp.causal_mask(3))
    assert out.dtype == dtype
    for g in dnp.attention_backward(np.ones_like(out), cache):
        assert g.dtype == dtype


# ---------------------------------------------------------------------------------------------
# The rule for a query that may attend to nothing


def test_fully_masked_row_raises_naming_the_row(rng):
    q, k, v = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 5, 4)), rng.normal(size=(2, 5, 4))
    mask = np.ones((2, 3, 5), dtype=bool)
    mask[1, 2] = False
    with pytest.raises(ValueError, match="no key for query 2 of batch element 1"):
        dnp.attention_forward(q, k, v, mask)
    w = rng.normal(size=(12, 4))
    with pytest.raises(ValueError, match="no key for query 2 of batch element 1"):
        dnp.multihead_attention_forward(
            q, k, w, np.zeros(12), np.eye(4), np.zeros(4), num_heads=2, mask=mask
        )


def test_torch_on_a_fully_masked_row_is_why_we_raise():
    # the two torch references disagree: SDPA returns zeros, MultiheadAttention returns NaN
    q, k = torch.randn(1, 2, 4, dtype=torch.float64), torch.randn(1, 3, 4, dtype=torch.float64)
    allowed = torch.ones(1, 2, 3, dtype=torch.bool)
    allowed[0, 1] = False
    out = F.scaled_dot_product_attention(q, k, k, attn_mask=allowed)
    assert torch.all(out[0, 1] == 0)
    mha = torch.nn.MultiheadAttention(4, 1, batch_first=True).double()
    out, _ = mha(q, k, k, attn_mask=~allowed[0])
    assert torch.isnan(out[0, 1]).all()


# ---------------------------------------------------------------------------------------------
# Multi-head attention


def test_split_and_merge_heads_are_inverses(rng):
    x = rng.normal(size=(2 * 5, 6))
    heads = dnp.split_heads(x, 2, 3)
    assert heads.shape == (6, 5, 2)
    np.testing.assert_array_equal(heads[1 * 3 + 2], x[5:10, 4:6])  # batch 1, head 2
    np.testing.assert_array_equal(dnp.merge_heads(heads, 2), x)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_multihead_keeps_dtype(rng, dtype):
    arrays = [rng.normal(size=s).astype(dtype) for s in [(2, 3, 4), (12, 4), (12,), (4, 4), (4,)]]
    x, w_in, b_in, w_out, b_out = arrays
    out, cache = dnp.multihead_attention_forward(x, x, w_in, b_in, w_out, b_out, 2)
    assert out.dtype == dtype
    assert all(g.dtype == dtype for g in dnp.multihead_attention_backward(out, cache))


# ---------------------------------------------------------------------------------------------
# Bad input: ValueError naming the argument and the expected shape


def qkv(rng, n=2, tq=3, tk=5, d=4, dv=4):
    return rng.normal(size=(n, tq, d)), rng.normal(size=(n, tk, d)), rng.normal(size=(n, tk, dv))


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda q, k, v: (q, k[:1], v, None), r"k must have shape \(N, Tk, D\) with N = 2"),
        (lambda q, k, v: (q, k[..., :3], v, None), r"k must have shape \(N, Tk, D\) with D = 4"),
        (lambda q, k, v: (q, k, v[:, :4], None), r"v must have shape \(N, Tk, Dv\) with Tk = 5"),
        (lambda q, k, v: (q[0], k, v, None), r"q must be a 3-D array of shape \(N, Tq, D\)"),
        (lambda q, k, v: (q, k, v, np.ones((3, 5))), "mask must be a boolean array"),
        (lambda q, k, v: (q, k, v, np.ones((5, 3), bool)), r"broadcastable to \(N, Tq, Tk\)"),
        (lambda q, k, v: (q, k, v, np.ones((3, 2, 3, 5), bool)), r"mask must have shape"),
        (lambda q, k, v: (q, k, v, np.ones((3, 3, 5), bool)), r"= \(2, 3, 5\); got shape"),
        (lambda q, k, v: (q * np.nan, k, v, None), "q contains NaN"),
        (lambda q, k, v: (q, k, v * np.inf, None), "v contains inf"),
    ],
)
def test_attention_rejects_bad_input(rng, change, match):
    with pytest.raises(ValueError, match=match):
        dnp.attention_forward(*change(*qkv(rng)))


def test_attention_backward_rejects_bad_dout_and_cache(rng):
    out, cache = dnp.attention_forward(*qkv(rng))
    with pytest.raises(ValueError, match=r"dout must have shape \(2, 3, 4\)"):
        dnp.attention_backward(out[:, :2], cache)
    with pytest.raises(ValueError, match="dout contains NaN"):
        dnp.attention_backward(out * np.nan, cache)
    with pytest.raises(ValueError, match="cache must be the AttentionCache"):
        dnp.attention_backward(out, (1, 2))


def mha_args(rng, e=4):
    return {
        "x_q": rng.normal(size=(2, 3, e)),
        "x_kv": rng.normal(size=(2, 5, e)),
        "in_proj_weight": rng.normal(size=(3 * e, e)),
        "in_proj_bias": rng.normal(size=3 * e),
        "out_proj_weight": rng.normal(size=(e, e)),
        "out_proj_bias": rng.normal(size=e),
        "num_heads": 2,
    }


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"num_heads": 3}, "num_heads must divide the embedding size E = 4; got 3"),
        ({"num_heads": 0}, "num_heads must be an int >= 1"),
        ({"x_kv": np.ones((3, 5, 4))}, r"x_kv must have shape \(N, Tk, E\) with N = 2"),
        ({"x_kv": np.ones((2, 5, 3))}, r"x_kv must have shape \(N, Tk, E\) with E = 4"),
        ({"in_proj_weight": np.ones((4, 4))}, r"in_proj_weight must have shape \(3E, E\)"),
        ({"in_proj_bias": np.ones(4)}, r"in_proj_bias must have shape \(3E,\)"),
        ({"out_proj_weight": np.ones((4, 3))}, r"out_proj_weight must have shape \(E, E\)"),
        ({"mask": np.ones((3, 4), bool)}, r"mask must have shape .* = \(2, 3, 5\)"),
        ({"mask": np.ones((3, 5), int)}, "mask must be a boolean array"),
    ],
)
def test_multihead_rejects_bad_input(rng, change, match):
    with pytest.raises(ValueError, match=match):
        dnp.multihead_attention_forward(**{**mha_args(rng), **change})


def test_multihead_backward_rejects_bad_dout(rng):
    out, cache = dnp.multihead_attention_forward(**mha_args(rng))
    with pytest.raises(ValueError, match=r"dout must have shape \(2, 3, 4\)"):
        dnp.multihead_attention_backward(out[:, :, :2], cache)
    with pytest.raises(ValueError, match="cache must be the MultiheadAttentionCache"):
        dnp.multihead_attention_backward(out, dnp.attention_forward(*qkv(rng))[1])


# ---------------------------------------------------------------------------------------------
# The pre-LayerNorm block, against nn.TransformerEncoderLayer(norm_first=True)


def torch_block(e, heads, f, rng):
    layer = torch.nn.TransformerEncoderLayer(
        e, heads, f, dropout=0.0, batch_first=True, norm_first=True
    ).double()
    with torch.no_grad():
        for p in layer.parameters():
            p.copy_(torch.tensor(rng.normal(size=tuple(p.shape))) / np.sqrt(p.shape[-1]))
    return layer


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 2),
    t=st.integers(1, 5),
    heads=st.integers(1, 2),
    dh=st.integers(1, 3),
    f=st.integers(1, 6),
    causal=st.booleans(),
    seed=seeds,
)
def test_transformer_block_matches_torch(n, t, heads, dh, f, causal, seed):
    rng = np.random.default_rng(seed)
    e = heads * dh
    layer = torch_block(e, heads, f, rng)
    params = {k: v.detach().numpy() for k, v in layer.state_dict().items()}
    x = rng.normal(size=(n, t, e))
    mask = dnp.causal_mask(t) if causal else None
    out, cache = dnp.transformer_block_forward(x, params, heads, mask)
    dout = rng.normal(size=out.shape)
    dx, grads = dnp.transformer_block_backward(dout, cache)

    tx = torch.tensor(x, requires_grad=True)
    want = layer(tx, src_mask=None if mask is None else torch.tensor(~mask))
    want.backward(torch.tensor(dout))
    np.testing.assert_allclose(out, want.detach().numpy(), rtol=RTOL, atol=1e-10)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=RTOL, atol=1e-10)
    assert list(grads) == list(dnp.BLOCK_PARAMS)
    for name, p in layer.named_parameters():
        np.testing.assert_allclose(grads[name], p.grad.numpy(), rtol=1e-7, atol=1e-10)


def test_transformer_block_backward_matches_numerical(rng):
    layer = torch_block(4, 2, 6, rng)
    params = {k: v.detach().numpy().copy() for k, v in layer.state_dict().items()}
    x = rng.normal(size=(2, 3, 4))
    out, cache = dnp.transformer_block_forward(x, params, 2, dnp.causal_mask(3))
    dout = rng.normal(size=out.shape)
    dx, grads = dnp.transformer_block_backward(dout, cache)
    want = numerical_gradient(
        lambda a: dnp.transformer_block_forward(a, params, 2, dnp.causal_mask(3))[0], x, dout
    )
    np.testing.assert_allclose(dx, want, rtol=1e-6, atol=1e-8)
    for name in ("norm1.weight", "linear1.weight", "self_attn.in_proj_weight"):
        want = numerical_gradient(
            lambda a, name=name: dnp.transformer_block_forward(
                x, {**params, name: a}, 2, dnp.causal_mask(3)
            )[0],
            params[name],
            dout,
        )
        np.testing.assert_allclose(grads[name], want, rtol=1e-6, atol=1e-8)


def test_transformer_block_rejects_bad_params(rng):
    layer = torch_block(4, 2, 6, rng)
    params = {k: v.detach().numpy() for k, v in layer.state_dict().items()}
    x = rng.normal(size=(2, 3, 4))
    with pytest.raises(ValueError, match="params must be a dict with the keys"):
        dnp.transformer_block_forward(x, {k: params[k] for k in list(params)[:-1]}, 2)
    bad = {**params, "linear2.weight": np.ones((4, 5))}
    with pytest.raises(ValueError, match=r"params\['linear2.weight'\] must have shape \(4, 6\)"):
        dnp.transformer_block_forward(x, bad, 2)
    with pytest.raises(ValueError, match="num_heads must divide"):
        dnp.transformer_block_forward(x, params, 3)
    out, cache = dnp.transformer_block_forward(x, params, 2)
    with pytest.raises(ValueError, match=r"dout must have shape \(2, 3, 4\)"):
        dnp.transformer_block_backward(out[:, :2], cache)


def test_split_and_merge_heads_reject_bad_shapes(rng):
    with pytest.raises(ValueError, match=r"x must have shape \(N \* T, E\) with N = 3"):
        dnp.split_heads(rng.normal(size=(10, 6)), 3, 2)
    with pytest.raises(ValueError, match=r"and 4 \| E"):
        dnp.split_heads(rng.normal(size=(10, 6)), 2, 4)
    with pytest.raises(ValueError, match=r"x must have shape \(N \* H, T, E / H\) with N = 4"):
        dnp.merge_heads(rng.normal(size=(6, 5, 2)), 4)
