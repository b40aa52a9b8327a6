"""Widgets of chapter "Recurrent networks" (`chapters/rnn.ipynb`): the temperature explorer.

`sampling_distribution` is the distribution a language model samples its next token from at a
temperature, optionally restricted to the top k tokens. `temperature_explorer` shows it for one
prompt and re-samples a continuation whenever the temperature, k or the seed changes; its static
figure (for the HTML book) shows three temperatures side by side. Never imports torch: the
model comes in as a `sample` function.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence

import matplotlib.pyplot as plt
import numpy as np

from dlbook.checks import as_float_array, check_int
from dlbook.widgets._core import Explorer, explorer, finite_number

__all__ = ["sampling_distribution", "temperature_explorer"]

SampleFn = Callable[[float, "int | None", int], str]


def sampling_distribution(
    logits: np.ndarray, temperature: float, top_k: int | None = None
) -> np.ndarray:
    """softmax(logits / temperature) over the last axis, zero outside the top k logits.

    Temperature 0 puts all the mass on the largest logit (greedy decoding); temperatures
    above 1 flatten the distribution, below 1 sharpen it.
    """
    logits = as_float_array("logits", logits)
    if logits.ndim == 0:
        raise ValueError("logits must have at least one axis (V,); got a scalar")
    temperature = finite_number("temperature", temperature)
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0; got {temperature!r}")
    if top_k is not None:
        top_k = min(check_int("top_k", top_k), logits.shape[-1])
    if temperature == 0:
        out = np.zeros_like(logits)
        np.put_along_axis(out, logits.argmax(axis=-1)[..., None], 1.0, axis=-1)
        return out
    z = logits / temperature
    if top_k is not None:
        kth = np.sort(z, axis=-1)[..., -top_k][..., None]
        z = np.where(z >= kth, z, -np.inf)
    z = z - z.max(axis=-1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=-1, keepdims=True)


def _label(ch: str) -> str:
    return {"\n": "\\n", " ": "␣"}.get(ch, ch)


def _draw_probs(
    ax: plt.Axes,
    logits: np.ndarray,
    symbols: str,
    temperatures: Sequence[float],
    top_k: int | None,
    prompt: str,
    show: int = 12,
) -> None:
    order = np.argsort(logits)[::-1][:show]  # the most likely characters at temperature 1
    width = 0.8 / len(temperatures)
    for j, t in enumerate(temperatures):
        p = sampling_distribution(logits, t, top_k)[order]
        ax.bar(
            np.arange(len(order)) + (j - (len(temperatures) - 1) / 2) * width,
            p,
            width,
            label=f"T = {t:g}",
        )
    ax.set_xticks(np.arange(len(order)), [_label(symbols[i]) for i in order])
    tail = prompt[-20:].replace("\n", "\\n")
    k = "all" if top_k is None else top_k
    ax.set(
        xlabel="next character",
        ylabel="probability",
        ylim=(0, 1),
        title=f"next character after '...{tail}' (top-k: {k})",
    )
    ax.legend(fontsize=8)


def _draw_text(ax: plt.Axes, texts: Sequence[tuple[str, str]], width: int = 90) -> None:
    ax.axis("off")
    lines = []
    for head, text in texts:
        body = textwrap.fill(text.replace("\n", " / "), width, max_lines=4, placeholder=" ...")
        lines.append(f"{head}\n{body}")
    ax.text(
        0.0,
        1.0,
        "\n\n".join(lines),
        family="monospace",
        fontsize=8,
        va="top",
        transform=ax.transAxes,
    )


def temperature_explorer(
    sample: SampleFn,
    *,
    logits: np.ndarray,
    symbols: str,
    prompt: str = "",
    temperatures: Sequence[float] = (0.5, 1.0, 1.5),
    seed: int = 0,
) -> Explorer:
    """Sample from a language model at a temperature, with optional top-k, live.

    sample        sample(temperature, top_k, seed) -> the generated text (without the prompt).
    logits        (V,) the model's next-character logits after `prompt`; symbols (V,) their
                  characters, for the bar chart.
    temperatures  the three (or more) temperatures of the static figure.

    The static figure shows the next-character distribution at each temperature and one sample
    for each. The widget has a temperature slider, a top-k choice and a seed; every change
    draws a new sample and the distribution at that setting.
    """
    logits = as_float_array("logits", logits, shape=("V",))
    if not isinstance(symbols, str) or len(symbols) != len(logits):
        raise ValueError(f"symbols must be a string of {len(logits)} characters (one per logit)")
    temperatures = [finite_number("temperatures", t) for t in temperatures]
    if not temperatures or min(temperatures) < 0:
        raise ValueError("temperatures must be a non-empty list of numbers >= 0")
    seed = check_int("seed", seed, minimum=0)

    fig, (ax_p, ax_t) = plt.subplots(2, 1, figsize=(10, 6.4), height_ratios=(1, 0.8))
    _draw_probs(ax_p, logits, symbols, temperatures, None, prompt)
    _draw_text(ax_t, [(f"T = {t:g}:", sample(t, None, seed)) for t in temperatures])
    fig.suptitle("Sampling temperature: sharper (T < 1) or flatter (T > 1) than the model")
    fig.tight_layout()

    import ipywidgets as widgets

    temp = widgets.FloatSlider(value=1.0, min=0.0, max=2.0, step=0.05, description="temperature")
    top_k = widgets.Dropdown(
        options=[("all", 0), ("20", 20), ("5", 5), ("1", 1)], value=0, description="top-k"
    )
    seed_box = widgets.BoundedIntText(value=seed, min=0, max=10**6, description="seed")

    def draw(axes: np.ndarray) -> str:
        k = top_k.value or None
        text = sample(temp.value, k, seed_box.value)
        _draw_probs(axes[0], logits, symbols, [temp.value], k, prompt)
        _draw_text(
            axes[1], [(f"T = {temp.value:g}, top-k {k or 'all'}, seed {seed_box.value}:", text)]
        )
        return ""

    return explorer(
        fig,
        [[temp, top_k, seed_box]],
        draw,
        note=(
            f"sample at any temperature and top-k; the figure shows T = "
            f"{', '.join(f'{t:g}' for t in temperatures)}"
        ),
        figsize=(9, 6),
        subplots=(2, 1),
    )
