"""Checks for the exercises of chapter "Attention and Transformers".

Each check compares a learner's function with the dlbook reference (`dnp.attention_forward`,
`dnp.causal_mask`, the parameters of `dnp.transformer_block_forward`). A wrong answer raises
`AssertionError` with a hint; a right one prints one line. Never imports torch.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import dlbook.numpy as dnp
from dlbook.exercises._core import check_close

__all__ = [
    "check_attention",
    "check_block_param_count",
    "check_causal_mask",
    "check_kv_cache_step",
]

_OK = "\u2714"


def check_causal_mask(mask_fn: Callable, *, sizes: tuple[int, ...] = (1, 2, 5, 9)) -> None:
    """Compare mask_fn(T) with `dnp.causal_mask(T)`: boolean (T, T), True where j <= i."""
    for t in sizes:
        got = np.asarray(mask_fn(t))
        want = dnp.causal_mask(t)
        if got.shape != want.shape:
            raise AssertionError(f"T = {t}: expected shape {want.shape}, got {got.shape}")
        if got.dtype != bool:
            raise AssertionError(
                f"T = {t}: expected a boolean mask (True = may attend), got dtype {got.dtype}"
            )
        if not np.array_equal(got, want):
            i, j = (int(a) for a in np.argwhere(got != want)[0])
            raise AssertionError(
                f"T = {t}: entry ({i}, {j}) should be {bool(want[i, j])}: query {i} may attend "
                f"to key {j} only when j <= i (the diagonal is allowed)"
            )
    print(f"{_OK} your causal mask equals dnp.causal_mask for T in {sizes}")


def check_attention(attention_fn: Callable, *, seed: int = 0) -> None:
    """Compare attention_fn(q, k, v, mask) -> out with `dnp.attention_forward`, with and
    without a mask, for d that differ between q and v (so the scaling must use q's d)."""
    rng = np.random.default_rng(seed)
    cases = [(2, 3, 5, 4, 6, None), (1, 4, 4, 8, 2, "causal"), (3, 2, 6, 16, 3, "random")]
    for n, tq, tk, d, dv, kind in cases:
        q, k, v = (
            rng.normal(size=(n, tq, d)),
            rng.normal(size=(n, tk, d)),
            rng.normal(size=(n, tk, dv)),
        )
        mask = None
        if kind == "causal":
            mask = dnp.causal_mask(tq)
        elif kind == "random":
            mask = rng.random((n, tq, tk)) < 0.5
            mask[..., 0] = True
        want, _ = dnp.attention_forward(q, k, v, mask)
        got = attention_fn(q, k, v, mask)
        check_close(f"attention output (d = {d}, mask: {kind})", got, want, rtol=1e-8, atol=1e-10)
    print(f"{_OK} your attention agrees with dnp.attention_forward on {len(cases)} cases")


def check_block_param_count(count_fn: Callable) -> None:
    """Compare count_fn(d_model, d_ff) with the number of parameters of the pre-LayerNorm block
    of `dnp.transformer_block_forward` (= `nn.TransformerEncoderLayer(d_model, h, d_ff)`)."""
    for e, f in [(64, 256), (16, 64), (8, 3), (512, 2048)]:
        shapes = {
            "norm1.weight": (e,),
            "norm1.bias": (e,),
            "self_attn.in_proj_weight": (3 * e, e),
            "self_attn.in_proj_bias": (3 * e,),
            "self_attn.out_proj.weight": (e, e),
            "self_attn.out_proj.bias": (e,),
            "norm2.weight": (e,),
            "norm2.bias": (e,),
            "linear1.weight": (f, e),
            "linear1.bias": (f,),
            "linear2.weight": (e, f),
            "linear2.bias": (e,),
        }
        want = sum(int(np.prod(s)) for s in shapes.values())
        got = count_fn(e, f)
        if got != want:
            hint = (
                "attention: 4 matrices E x E and 4 bias vectors; MLP: E x F and F x E with "
                "biases; two LayerNorms with a gain and a bias each"
            )
            raise AssertionError(f"d_model = {e}, d_ff = {f}: expected {want}, got {got} ({hint})")
    print(f"{_OK} your parameter counts are right (512, 2048 gives {want:,})")


def check_kv_cache_step(step_fn: Callable, *, seed: int = 0) -> None:
    """Decode a sequence one position at a time with step_fn(q_t, k_t, v_t, cache) ->
    (out_t, cache), starting from cache = None, and compare every output with causal
    attention over the whole sequence (`dnp.attention_forward` with `dnp.causal_mask`)."""
    rng = np.random.default_rng(seed)
    n, t, d, dv = 2, 7, 4, 3
    q, k, v = rng.normal(size=(n, t, d)), rng.normal(size=(n, t, d)), rng.normal(size=(n, t, dv))
    want, _ = dnp.attention_forward(q, k, v, dnp.causal_mask(t))
    cache = None
    for i in range(t):
        out, cache = step_fn(q[:, i : i + 1], k[:, i : i + 1], v[:, i : i + 1], cache)
        check_close(f"output at step {i} (shape (N, 1, dv))", out, want[:, i : i + 1], rtol=1e-8)
    print(f"{_OK} your cached decoding matches full causal attention at all {t} steps")
