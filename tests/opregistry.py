"""The op registry: describe a NumPy op once, get its standard tests.

A test module describes each `dnp` op with an `Op` and calls `op_tests(op)`, which returns a
test class. The class checks, for that op:

- parity with torch in float64 on shapes drawn by hypothesis (outputs and every gradient);
- a numerical gradient check (central differences) of every differentiable input;
- that a NaN in an input raises ValueError naming NaN;
- that each bad input listed raises ValueError with the given message;
- the dtype policy: float32 in gives float32 out, float64 gives float64, forward and backward.

Nothing is registered centrally: a chapter that adds ops registers them in its own test file.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

Inputs = dict[str, np.ndarray]


@dataclass
class Op:
    """One op's description.

    - `dims`: {name: (low, high)} ranges for hypothesis; `gradcheck_dims` fixes the small
      sizes of the numerical gradient check (default: each range's low end, at least 2).
    - `inputs(rng, dims, dtype) -> {name: array}`: valid inputs (non-float ones too).
    - `forward(**inputs) -> (outputs tuple, cache)`: the differentiable outputs.
    - `backward(douts tuple, cache) -> {name: gradient}` for every name in `grad_inputs`.
    - `torch_forward(**tensors) -> outputs tuple`: the reference, on float64 tensors (inputs
      that are not arrays of floats arrive unchanged, as NumPy-converted tensors).
    - `bad_inputs`: [(change(inputs) -> inputs, message regex)]; each must raise ValueError.
    - `nan_input`: the input to poison with NaN (default: the first of `grad_inputs`).
    """

    name: str
    dims: dict[str, tuple[int, int]]
    inputs: Callable[[np.random.Generator, dict[str, int], type], Inputs]
    forward: Callable[..., tuple[tuple[np.ndarray, ...], Any]]
    backward: Callable[[tuple[np.ndarray, ...], Any], dict[str, np.ndarray]]
    torch_forward: Callable[..., Sequence[Any]] | None
    grad_inputs: tuple[str, ...]
    bad_inputs: list[tuple[Callable[[Inputs], Inputs], str]] = field(default_factory=list)
    nan_input: str | None = None
    gradcheck_dims: dict[str, int] | None = None
    rtol: float = 1e-8
    atol: float = 1e-10
    gradcheck_rtol: float = 1e-5
    gradcheck_atol: float = 1e-7
    max_examples: int = 20


def _douts(rng: np.random.Generator, outs: Sequence[np.ndarray]) -> tuple[np.ndarray, ...]:
    return tuple(rng.normal(size=np.shape(o)).astype(np.asarray(o).dtype) for o in outs)


def _objective(op: Op, inputs: Inputs, douts: Sequence[np.ndarray]) -> float:
    outs, _ = op.forward(**inputs)
    return float(sum(np.sum(np.asarray(o) * d) for o, d in zip(outs, douts, strict=True)))


def numerical_gradient(op: Op, inputs: Inputs, name: str, douts, eps: float = 1e-6):
    """Central differences of sum(out * dout) with respect to inputs[name]."""
    x = inputs[name]
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        orig = x[i]
        x[i] = orig + eps
        plus = _objective(op, inputs, douts)
        x[i] = orig - eps
        minus = _objective(op, inputs, douts)
        x[i] = orig
        grad[i] = (plus - minus) / (2 * eps)
    return grad


def _to_torch(inputs: Inputs, grad_inputs: Sequence[str]) -> dict[str, Any]:
    import torch

    out = {}
    for k, v in inputs.items():
        if isinstance(v, np.ndarray):
            t = torch.from_numpy(v.copy())
            if k in grad_inputs:
                t.requires_grad_(True)
            out[k] = t
        else:
            out[k] = v
    return out


def _draw_dims(draw_data, op: Op) -> dict[str, int]:
    return {k: draw_data.draw(st.integers(lo, hi), label=k) for k, (lo, hi) in op.dims.items()}


def op_tests(op: Op) -> type:
    """Return a test class (assign it to a name starting with `Test`) for `op`."""

    class _OpTests:
        @settings(max_examples=op.max_examples, deadline=None)
        @given(data=st.data(), seed=st.integers(0, 2**16))
        def test_parity_with_torch(self, data, seed):
            if op.torch_forward is None:
                pytest.skip(f"{op.name} has no torch reference")
            import torch

            rng = np.random.default_rng(seed)
            dims = _draw_dims(data, op)
            inputs = op.inputs(rng, dims, np.float64)
            outs, cache = op.forward(**{k: _copy(v) for k, v in inputs.items()})
            douts = _douts(rng, outs)
            grads = op.backward(douts, cache)
            tensors = _to_torch(inputs, op.grad_inputs)
            ref = op.torch_forward(**tensors)
            assert len(ref) == len(outs), f"{op.name}: torch gives {len(ref)} outputs"
            for i, (o, r) in enumerate(zip(outs, ref, strict=True)):
                np.testing.assert_allclose(
                    o, r.detach().numpy(), rtol=op.rtol, atol=op.atol,
                    err_msg=f"{op.name} output {i} {dims}",
                )  # fmt: skip
            total = sum((r * torch.from_numpy(d)).sum() for r, d in zip(ref, douts, strict=True))
            total.backward()
            for name in op.grad_inputs:
                expected = tensors[name].grad
                expected = np.zeros(inputs[name].shape) if expected is None else expected.numpy()
                np.testing.assert_allclose(
                    grads[name], expected, rtol=op.rtol, atol=op.atol,
                    err_msg=f"{op.name} d{name} {dims}",
                )  # fmt: skip

        @pytest.mark.parametrize("name", op.grad_inputs)
        def test_gradient_matches_numerical(self, name):
            rng = np.random.default_rng(0)
            dims = op.gradcheck_dims or {k: max(lo, 2) for k, (lo, _) in op.dims.items()}
            inputs = op.inputs(rng, dims, np.float64)
            outs, cache = op.forward(**{k: _copy(v) for k, v in inputs.items()})
            douts = _douts(rng, outs)
            grads = op.backward(douts, cache)
            expected = numerical_gradient(op, inputs, name, douts)
            np.testing.assert_allclose(
                grads[name], expected, rtol=op.gradcheck_rtol, atol=op.gradcheck_atol,
                err_msg=f"{op.name} d{name}",
            )  # fmt: skip

        def test_nan_input_raises(self):
            rng = np.random.default_rng(1)
            dims = {k: max(lo, 2) for k, (lo, _) in op.dims.items()}
            inputs = op.inputs(rng, dims, np.float64)
            name = op.nan_input or op.grad_inputs[0]
            poisoned = inputs[name].copy()
            poisoned.flat[0] = np.nan
            with pytest.raises(ValueError, match=f"{name}.*NaN"):
                op.forward(**{**inputs, name: poisoned})

        @pytest.mark.parametrize("case", range(len(op.bad_inputs)) or [None])
        def test_bad_input_raises(self, case):
            if case is None:
                pytest.skip(f"{op.name} lists no bad inputs")
            change, match = op.bad_inputs[case]
            rng = np.random.default_rng(2)
            dims = {k: max(lo, 2) for k, (lo, _) in op.dims.items()}
            with pytest.raises(ValueError, match=match):
                op.forward(**change(op.inputs(rng, dims, np.float64)))

        @pytest.mark.parametrize("dtype", [np.float32, np.float64])
        def test_dtype_is_preserved(self, dtype):
            rng = np.random.default_rng(3)
            dims = {k: max(lo, 2) for k, (lo, _) in op.dims.items()}
            inputs = op.inputs(rng, dims, dtype)
            outs, cache = op.forward(**inputs)
            for i, o in enumerate(outs):
                assert np.asarray(o).dtype == dtype, f"{op.name} output {i} is {o.dtype}"
            grads = op.backward(_douts(rng, outs), cache)
            for name in op.grad_inputs:
                assert grads[name].dtype == dtype, f"{op.name} d{name} is {grads[name].dtype}"

    _OpTests.__name__ = f"Test_{op.name}"
    return _OpTests


def _copy(v: Any) -> Any:
    return v.copy() if isinstance(v, np.ndarray) else v
