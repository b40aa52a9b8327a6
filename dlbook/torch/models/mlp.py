"""Multilayer perceptrons built from torch's own layers, so that parameters keep torch's names.

Book: chapter "From neurons to the perceptron" (XOR) and the later chapters.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

from torch import nn

from dlbook.checks import check_int

__all__ = ["MLP"]

_ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}


def _activation(name: str | nn.Module, arg: str) -> nn.Module:
    if isinstance(name, nn.Module):
        return name
    if not isinstance(name, str) or name.lower() not in _ACTIVATIONS:
        raise ValueError(f"{arg} must be one of {sorted(_ACTIVATIONS)}; got {name!r}")
    return _ACTIVATIONS[name.lower()]()


class MLP(nn.Sequential):
    """A multilayer perceptron: Linear(sizes[0], sizes[1]), act, ..., Linear(sizes[-2], sizes[-1]).

    Maps x (N, sizes[0]) to (N, sizes[-1]). The hidden layers use `activation` ("relu", "tanh" or
    "sigmoid"); the output is left linear (logits) unless `final_activation` names one of those
    or is an `nn.Module`. Being an `nn.Sequential`, its parameters are named `0.weight`,
    `0.bias`, `2.weight`, ... like any Sequential's. Example: `MLP([2, 4, 1], "tanh")`.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str = "relu",
        *,
        final_activation: str | nn.Module | None = None,
    ) -> None:
        if isinstance(sizes, str) or not isinstance(sizes, Sequence) or len(sizes) < 2:
            raise ValueError(
                f"sizes must be a sequence of at least 2 layer widths (in, ..., out); got {sizes!r}"
            )
        sizes = [check_int("sizes", s) for s in sizes]
        _activation(activation, "activation")  # validate even when there is no hidden layer
        layers: list[nn.Module] = []
        for i, (d_in, d_out) in enumerate(pairwise(sizes)):
            layers.append(nn.Linear(d_in, d_out))
            if i < len(sizes) - 2:
                layers.append(_activation(activation, "activation"))
        if final_activation is not None:
            layers.append(_activation(final_activation, "final_activation"))
        super().__init__(*layers)
        self.sizes = tuple(sizes)
