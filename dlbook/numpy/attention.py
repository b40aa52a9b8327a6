"""Scaled dot-product attention and multi-head attention in NumPy, forward and backward.

Book: chapter "Attention and Transformers" (`chapters/attention.ipynb`), {ref}`sec-attention-dot`
and {ref}`sec-attention-multihead`.

- `attention_forward(q, k, v, mask=None)` computes softmax(q kᵀ / √d) v for q (N, Tq, d),
  k (N, Tk, d), v (N, Tk, dv), like `torch.nn.functional.scaled_dot_product_attention`. The
  mask is boolean, broadcastable to (N, Tq, Tk), True where a query may attend to a key (the
  convention of `scaled_dot_product_attention`; `nn.MultiheadAttention`'s boolean `attn_mask`
  means the opposite, True = blocked).
- A query whose mask row is all False has nothing to attend to: softmax over no entries is
  0/0. Instead of returning NaN (or, worse, uniform weights over keys it must not see) the
  functions raise `ValueError` naming the batch element and the query.
- `multihead_attention_forward` is `nn.MultiheadAttention(E, num_heads, batch_first=True)` with
  its packed `in_proj_weight` (3E, E), `in_proj_bias` (3E,), `out_proj.weight` (E, E) and
  `out_proj.bias` (E,), composed from `linear_forward`, `attention_forward` and the reshapes
  `split_heads`/`merge_heads`; its backward composes their backward functions.
- `transformer_block_forward`/`_backward`: a pre-LayerNorm Transformer block (attention and
  an MLP, each behind a LayerNorm and inside a residual connection), composed from the layer
  norm, multi-head attention, linear and ReLU ops; its cache nests theirs.

float32 in gives float32 out, float64 gives float64. Never imports torch.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from dlbook.checks import as_float_array, check_cache, check_int, shapes
from dlbook.numpy.layers import (
    LayerNormCache,
    LinearCache,
    ReluCache,
    layernorm_backward,
    layernorm_forward,
    linear_backward,
    linear_forward,
    relu_backward,
    relu_forward,
    softmax,
    softmax_backward,
)

__all__ = [
    "AttentionCache",
    "BLOCK_PARAMS",
    "MultiheadAttentionCache",
    "TransformerBlockCache",
    "attention_backward",
    "attention_forward",
    "broadcast_mask",
    "causal_mask",
    "merge_heads",
    "multihead_attention_backward",
    "multihead_attention_forward",
    "split_heads",
    "transformer_block_backward",
    "transformer_block_forward",
]


# ---------------------------------------------------------------------------------------------
# Masks


def causal_mask(T: int) -> np.ndarray:
    """The (T, T) boolean mask that lets position i attend to positions j <= i (lower triangle).

    Book: {ref}`sec-attention-causal`.
    """
    T = check_int("T", T)
    return np.tril(np.ones((T, T), dtype=bool))  # eq-causal-mask: allowed iff j <= i


def broadcast_mask(mask: object, shape: tuple[int, int, int]) -> np.ndarray | None:
    """Check a boolean attention mask and broadcast it to `shape` = (N, Tq, Tk); None stays None.

    The mask may be (Tq, Tk), (N, Tq, Tk), or have size-1 axes that broadcast, such as a
    key-padding mask (N, 1, Tk). True means "may attend". Raises ValueError for a non-boolean
    mask, a shape that does not broadcast, or a query row in which every key is masked (its
    softmax would be 0/0).
    """
    if mask is None:
        return None
    n, tq, tk = shape
    mask = np.asarray(mask)
    if mask.dtype != bool:
        raise ValueError(
            f"mask must be a boolean array (True where attention is allowed); got {mask.dtype}"
        )
    fits = 2 <= mask.ndim <= 3 and all(
        have in (1, want) for have, want in zip(mask.shape[::-1], (tk, tq, n), strict=False)
    )
    if not fits:
        raise ValueError(
            f"mask must have shape (Tq, Tk) or (N, Tq, Tk), broadcastable to (N, Tq, Tk) = "
            f"{(n, tq, tk)}; got shape {mask.shape}"
        )
    mask = np.broadcast_to(mask, (n, tq, tk))
    empty = ~mask.any(axis=-1)
    if empty.any():
        b, i = (int(a) for a in np.argwhere(empty)[0])
        raise ValueError(
            f"mask allows no key for query {i} of batch element {b} (its softmax would be 0/0); "
            "every query must be allowed to attend to at least one key"
        )
    return mask


# ---------------------------------------------------------------------------------------------
# Scaled dot-product attention


class AttentionCache(NamedTuple):
    """What `attention_backward` needs: q, k, v, the attention weights (N, Tq, Tk) and 1/√d."""

    q: np.ndarray
    k: np.ndarray
    v: np.ndarray
    weights: np.ndarray
    scale: float


@shapes(q="N Tq D", k="N Tk D", v="N Tk Dv")
def attention_forward(
    q: np.ndarray, k: np.ndarray, v: np.ndarray, mask: np.ndarray | None = None
) -> tuple[np.ndarray, AttentionCache]:
    """softmax(q kᵀ / √d) v for q (N, Tq, d), k (N, Tk, d), v (N, Tk, dv); out is (N, Tq, dv).

    `mask`: boolean, broadcastable to (N, Tq, Tk), True where query i may attend to key j
    (`F.scaled_dot_product_attention`'s convention); a fully masked row raises ValueError.
    Book: {ref}`sec-attention-dot`.
    """
    mask = broadcast_mask(mask, (q.shape[0], q.shape[1], k.shape[1]))
    scale = q.shape[-1] ** -0.5  # a Python float, so float32 stays float32
    scores = q @ k.swapaxes(1, 2) * scale  # eq-attention: s_ij = q_i . k_j / sqrt(d)
    if mask is not None:
        # the most negative float: exp() of it, after softmax subtracts the row maximum, is 0
        scores = np.where(mask, scores, np.finfo(scores.dtype).min)
    weights = softmax(scores, axis=-1)  # a_ij = exp(s_ij) / sum_j' exp(s_ij'), each row sums to 1
    return weights @ v, AttentionCache(q, k, v, weights, scale)


def attention_backward(
    dout: np.ndarray, cache: AttentionCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (dq, dk, dv), shaped like q, k and v, given dout = dL/dout (N, Tq, dv).

    Composed from the backward of each step: a matrix product, the softmax, a matrix product.
    """
    q, k, v, weights, scale = check_cache(cache, AttentionCache)
    dout = as_float_array("dout", dout, shape=(*weights.shape[:2], v.shape[2]), dtype=v.dtype)
    dweights = dout @ v.swapaxes(1, 2)  # out = A v, so dA = dout vᵀ and dv = Aᵀ dout
    dv = weights.swapaxes(1, 2) @ dout
    dscores = softmax_backward(dweights, weights, axis=-1)  # 0 where masked, since a_ij = 0
    dq = dscores @ k * scale  # s = q kᵀ / sqrt(d), so dq = ds k / sqrt(d), dk = dsᵀ q / sqrt(d)
    dk = dscores.swapaxes(1, 2) @ q * scale
    return dq, dk, dv


# ---------------------------------------------------------------------------------------------
# Multi-head attention, as nn.MultiheadAttention(E, num_heads, batch_first=True)


@shapes(x="NT E", n="int", num_heads="int")
def split_heads(x: np.ndarray, n: int, num_heads: int) -> np.ndarray:
    """(N * T, E) rows, batch-major, -> (N * num_heads, T, E / num_heads), one slice per head.

    Head h gets the features h * E/H ... (h + 1) * E/H - 1, as in torch.
    """
    if x.shape[0] % n or x.shape[1] % num_heads:
        raise ValueError(
            f"x must have shape (N * T, E) with N = {n} and {num_heads} | E; got {x.shape}"
        )
    t, e = x.shape[0] // n, x.shape[1]
    return (
        x.reshape(n, t, num_heads, e // num_heads)
        .transpose(0, 2, 1, 3)
        .reshape(n * num_heads, t, e // num_heads)
    )


@shapes(x="NH T Dh", n="int")
def merge_heads(x: np.ndarray, n: int) -> np.ndarray:
    """(N * H, T, E / H) -> (N * T, E): the inverse of `split_heads`, heads side by side."""
    if x.shape[0] % n:
        raise ValueError(f"x must have shape (N * H, T, E / H) with N = {n}; got {x.shape}")
    nh, t, dh = x.shape
    h = nh // n
    return x.reshape(n, h, t, dh).transpose(0, 2, 1, 3).reshape(n * t, h * dh)


class MultiheadAttentionCache(NamedTuple):
    """The caches of the sub-layers of `multihead_attention_forward`, and the shapes."""

    q_proj: LinearCache
    k_proj: LinearCache
    v_proj: LinearCache
    attention: AttentionCache
    out_proj: LinearCache
    num_heads: int
    q_shape: tuple[int, int, int]
    kv_shape: tuple[int, int, int]


@shapes(
    x_q="N Tq E",
    x_kv="N Tk E",
    in_proj_weight="3E E",
    in_proj_bias="3E",
    out_proj_weight="E E",
    out_proj_bias="E",
    num_heads="int",
)
def multihead_attention_forward(
    x_q: np.ndarray,
    x_kv: np.ndarray,
    in_proj_weight: np.ndarray,
    in_proj_bias: np.ndarray,
    out_proj_weight: np.ndarray,
    out_proj_bias: np.ndarray,
    num_heads: int,
    mask: np.ndarray | None = None,
) -> tuple[np.ndarray, MultiheadAttentionCache]:
    """Multi-head attention of queries x_q (N, Tq, E) over keys and values x_kv (N, Tk, E).

    The weights are torch's (out, in) layout: `in_proj_weight` (3E, E) stacks W_q, W_k, W_v.
    `mask` as in `attention_forward` (True = may attend), shared by all heads. Returns out
    (N, Tq, E). For self-attention pass the same array as x_q and x_kv.
    Book: {ref}`sec-attention-multihead`.
    """
    (n, tq, e), tk = x_q.shape, x_kv.shape[1]
    if e % num_heads:
        raise ValueError(f"num_heads must divide the embedding size E = {e}; got {num_heads}")
    mask = broadcast_mask(mask, (n, tq, tk))
    if mask is not None:
        mask = np.repeat(mask, num_heads, axis=0)  # (N * H, Tq, Tk), the order of split_heads
    w_q, w_k, w_v = np.split(in_proj_weight, 3)  # each (E, E)
    b_q, b_k, b_v = np.split(in_proj_bias, 3)
    q, q_cache = linear_forward(x_q.reshape(n * tq, e), w_q.T, b_q)  # eq-mha: Q = X W_qᵀ + b_q
    k, k_cache = linear_forward(x_kv.reshape(n * tk, e), w_k.T, b_k)
    v, v_cache = linear_forward(x_kv.reshape(n * tk, e), w_v.T, b_v)
    heads, att_cache = attention_forward(
        split_heads(q, n, num_heads),
        split_heads(k, n, num_heads),
        split_heads(v, n, num_heads),
        mask,
    )
    out, out_cache = linear_forward(merge_heads(heads, n), out_proj_weight.T, out_proj_bias)
    cache = MultiheadAttentionCache(
        q_cache, k_cache, v_cache, att_cache, out_cache, num_heads, x_q.shape, x_kv.shape
    )
    return out.reshape(n, tq, e), cache


def multihead_attention_backward(
    dout: np.ndarray, cache: MultiheadAttentionCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return (dx_q, dx_kv, d_in_proj_weight, d_in_proj_bias, d_out_proj_weight,
    d_out_proj_bias) given dout = dL/dout (N, Tq, E), in torch's layouts.

    The forward pass run backwards, each sub-layer applying its own backward. For
    self-attention (x_q is x_kv) the gradient of x is dx_q + dx_kv.
    """
    q_cache, k_cache, v_cache, att_cache, out_cache, num_heads, q_shape, kv_shape = check_cache(
        cache, MultiheadAttentionCache
    )
    n, tq, e = q_shape
    dout = as_float_array("dout", dout, shape=q_shape, dtype=out_cache.x.dtype)
    dmerged, dw_out, db_out = linear_backward(dout.reshape(n * tq, e), out_cache)
    dq, dk, dv = attention_backward(split_heads(dmerged, n, num_heads), att_cache)
    dx_q, dw_q, db_q = linear_backward(merge_heads(dq, n), q_cache)
    dx_k, dw_k, db_k = linear_backward(merge_heads(dk, n), k_cache)
    dx_v, dw_v, db_v = linear_backward(merge_heads(dv, n), v_cache)
    d_in_proj_weight = np.concatenate([dw_q.T, dw_k.T, dw_v.T])  # back to (out, in)
    d_in_proj_bias = np.concatenate([db_q, db_k, db_v])
    dx_kv = (dx_k + dx_v).reshape(kv_shape)  # x_kv feeds both the keys and the values
    return dx_q.reshape(q_shape), dx_kv, d_in_proj_weight, d_in_proj_bias, dw_out.T, db_out


# ---------------------------------------------------------------------------------------------
# A pre-LayerNorm Transformer block, composed from the ops above


BLOCK_PARAMS = (
    "norm1.weight",
    "norm1.bias",
    "self_attn.in_proj_weight",
    "self_attn.in_proj_bias",
    "self_attn.out_proj.weight",
    "self_attn.out_proj.bias",
    "norm2.weight",
    "norm2.bias",
    "linear1.weight",
    "linear1.bias",
    "linear2.weight",
    "linear2.bias",
)


class TransformerBlockCache(NamedTuple):
    """The caches of the block's sub-layers, in the order they ran."""

    norm1: LayerNormCache
    attention: MultiheadAttentionCache
    norm2: LayerNormCache
    linear1: LinearCache
    relu: ReluCache
    linear2: LinearCache


def _block_params(params: object, e: int) -> dict[str, np.ndarray]:
    if not isinstance(params, dict) or set(params) != set(BLOCK_PARAMS):
        got = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise ValueError(f"params must be a dict with the keys {list(BLOCK_PARAMS)}; got {got}")
    p = {k: as_float_array(k, v) for k, v in params.items()}
    f = p["linear1.bias"].shape[0] if p["linear1.bias"].ndim == 1 else -1
    want = {k: (e,) for k in ("norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias")}
    want |= {"self_attn.in_proj_weight": (3 * e, e), "self_attn.in_proj_bias": (3 * e,)}
    want |= {"self_attn.out_proj.weight": (e, e), "self_attn.out_proj.bias": (e,)}
    want |= {"linear1.weight": (f, e), "linear1.bias": (f,)}
    want |= {"linear2.weight": (e, f), "linear2.bias": (e,)}
    for k, shape in want.items():
        if p[k].shape != shape:
            raise ValueError(f"params[{k!r}] must have shape {shape} for E = {e}; got {p[k].shape}")
    return p


@shapes(x="N T E", num_heads="int")
def transformer_block_forward(
    x: np.ndarray, params: dict[str, np.ndarray], num_heads: int, mask: np.ndarray | None = None
) -> tuple[np.ndarray, TransformerBlockCache]:
    """One pre-LayerNorm Transformer block, x (N, T, E) -> (N, T, E):

    h = x + MHA(LN1(x)), out = h + W2 relu(W1 LN2(h) + b1) + b2, with the weights named as
    in the `state_dict` of `nn.TransformerEncoderLayer(E, num_heads, F, dropout=0,
    batch_first=True, norm_first=True)` (see `BLOCK_PARAMS`); `mask` as in
    `attention_forward`. Book: {ref}`sec-attention-block`.
    """
    n, t, e = x.shape
    p = _block_params(params, e)
    a, norm1 = layernorm_forward(x, p["norm1.weight"], p["norm1.bias"])
    a, attention = multihead_attention_forward(
        a,
        a,
        p["self_attn.in_proj_weight"],
        p["self_attn.in_proj_bias"],
        p["self_attn.out_proj.weight"],
        p["self_attn.out_proj.bias"],
        num_heads,
        mask,
    )
    h = x + a  # eq-block: the first residual connection
    m, norm2 = layernorm_forward(h, p["norm2.weight"], p["norm2.bias"])
    m, linear1 = linear_forward(m.reshape(n * t, e), p["linear1.weight"].T, p["linear1.bias"])
    m, relu = relu_forward(m)
    m, linear2 = linear_forward(m, p["linear2.weight"].T, p["linear2.bias"])
    cache = TransformerBlockCache(norm1, attention, norm2, linear1, relu, linear2)
    return h + m.reshape(n, t, e), cache  # eq-block: the second residual connection


def transformer_block_backward(
    dout: np.ndarray, cache: TransformerBlockCache
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Return (dx (N, T, E), grads) given dout = dL/dout (N, T, E); grads has the keys of
    `BLOCK_PARAMS`. Each sub-layer applies its own backward; at each residual connection the
    gradient is the sum of the skip path's and the branch's."""
    norm1, attention, norm2, linear1, relu, linear2 = check_cache(cache, TransformerBlockCache)
    shape = attention.q_shape
    n, t, e = shape
    dout = as_float_array("dout", dout, shape=shape, dtype=norm1.x_hat.dtype)
    g: dict[str, np.ndarray] = {}
    dm, dw, g["linear2.bias"] = linear_backward(dout.reshape(n * t, e), linear2)
    g["linear2.weight"] = dw.T
    dm = relu_backward(dm, relu)
    dm, dw, g["linear1.bias"] = linear_backward(dm, linear1)
    g["linear1.weight"] = dw.T
    dm, g["norm2.weight"], g["norm2.bias"] = layernorm_backward(dm.reshape(shape), norm2)
    dh = dout + dm  # h feeds the output directly and through the MLP branch
    da_q, da_kv, *dattn = multihead_attention_backward(dh, attention)
    for k, grad in zip(BLOCK_PARAMS[2:6], dattn, strict=True):
        g[k] = grad
    da, g["norm1.weight"], g["norm1.bias"] = layernorm_backward(da_q + da_kv, norm1)
    return dh + da, {k: g[k] for k in BLOCK_PARAMS}
