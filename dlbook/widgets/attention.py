"""The attention-weights explorer of chapter "Attention and Transformers".

`attention_explorer(tokens, weights)` shows where each query position of a sentence looks:
pick a layer, a head and a position, and see that position's attention weights over the
tokens. The static figure (for the HTML book) shows one head: its full weight matrix and the
weights of one position. Never imports torch.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np

from dlbook.checks import as_float_array
from dlbook.widgets._core import Explorer, explorer

__all__ = ["attention_explorer", "draw_attention"]


def _label(token: str) -> str:
    return {" ": "␣", "\n": "↵", "\t": "⇥"}.get(token, token)


def _check(tokens: Sequence[str], weights: object) -> tuple[list[str], np.ndarray]:
    tokens = [str(t) for t in tokens]
    w = as_float_array("weights", weights)
    if w.ndim == 3:
        w = w[None]
    t = len(tokens)
    if w.ndim != 4 or w.shape[-2:] != (t, t):
        raise ValueError(
            f"weights must have shape (H, T, T) or (L, H, T, T) with T = len(tokens) = {t}; "
            f"got shape {np.shape(weights)}"
        )
    if np.any(w < 0) or not np.allclose(w.sum(axis=-1), 1.0, atol=1e-4):
        raise ValueError("weights must be attention weights: non-negative, each row summing to 1")
    return tokens, w


def draw_attention(
    axes: Sequence[plt.Axes],
    tokens: Sequence[str],
    weights: np.ndarray,
    position: int,
    title: str = "",
) -> Sequence[plt.Axes]:
    """Draw one head's weights (T, T) on axes[0] and row `position` over the tokens on axes[1]."""
    ax_map, ax_row = axes
    labels = [_label(t) for t in tokens]
    t = len(tokens)
    ax_map.imshow(weights, cmap="Blues", vmin=0, vmax=max(float(weights.max()), 1e-12))
    ticks = range(0, t, max(1, t // 8))  # a few numbered positions; the bars name every token
    ax_map.set_xticks(ticks)
    ax_map.set_yticks(ticks)
    ax_map.axhline(position, color="tab:orange", lw=1.5, alpha=0.8)
    ax_map.set(xlabel="key position (attended to)", ylabel="query position", title=title)
    colors = ["tab:orange" if j == position else "tab:blue" for j in range(t)]
    ax_row.bar(range(t), weights[position], color=colors)
    ax_row.set_xticks(range(t), labels, fontsize=8)
    ax_row.set_ylim(0, 1)
    ax_row.set(
        xlabel="key position",
        ylabel="attention weight",
        title=f"where position {position} ({labels[position]!r}) looks",
    )
    return axes


def attention_explorer(
    tokens: Sequence[str],
    weights: np.ndarray,
    *,
    head: int = 0,
    position: int | None = None,
) -> Explorer:
    """Explore attention weights (H, T, T) or (L, H, T, T) over `tokens` (T strings).

    Sliders pick the layer, the head and the query position; the figure shows that head's
    weight matrix (rows are queries, columns keys) and, as bars, the chosen position's weights
    over the tokens. The static figure shows layer 0, head `head`, at `position` (default: the
    last position).
    """
    tokens, w = _check(tokens, weights)
    n_layers, n_heads, t, _ = w.shape
    if not 0 <= head < n_heads:
        raise ValueError(f"head must be in [0, {n_heads}); got {head}")
    position = t - 1 if position is None else position
    if not 0 <= position < t:
        raise ValueError(f"position must be in [0, {t}); got {position}")

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6), gridspec_kw={"width_ratios": [1, 1.6]})
    draw_attention(axes, tokens, w[0, head], position, f"layer 0, head {head}")
    fig.suptitle("Attention weights of one head (each row sums to 1)")
    fig.tight_layout()

    import ipywidgets as widgets

    layer_s = widgets.IntSlider(value=0, min=0, max=n_layers - 1, description="layer")
    head_s = widgets.IntSlider(value=head, min=0, max=n_heads - 1, description="head")
    pos_s = widgets.IntSlider(value=position, min=0, max=t - 1, description="position")

    def draw(ax: Sequence[plt.Axes]) -> None:
        layer, h = layer_s.value, head_s.value
        draw_attention(ax, tokens, w[layer, h], pos_s.value, f"layer {layer}, head {h}")

    controls = [layer_s, head_s, pos_s] if n_layers > 1 else [head_s, pos_s]
    return explorer(
        fig,
        [controls],
        draw,
        note=(
            f"pick one of {n_layers} layer(s), {n_heads} heads and {t} positions and see that "
            "position's attention weights"
        ),
        figsize=(12, 4.6),
        subplots=(1, 2),
        watch=[layer_s, head_s, pos_s],
    )
