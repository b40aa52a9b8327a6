"""Input checks shared by the NumPy reference code and the data loaders.

Every public function in `dlbook` validates what it is given and raises `ValueError` with a
message that names the argument and says what was expected. These helpers keep those messages
uniform. They never import torch.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

__all__ = ["as_float_array", "as_label_array", "check_int", "check_positive", "check_same_length"]


def _describe(shape: Sequence[int | str | None]) -> str:
    dims = ", ".join("?" if d is None else str(d) for d in shape)
    return f"({dims},)" if len(shape) == 1 else f"({dims})"


def as_float_array(
    name: str,
    x: object,
    *,
    shape: Sequence[int | str | None] | None = None,
    allow_empty: bool = False,
    dtype: type = np.float64,
) -> np.ndarray:
    """Return `x` as a finite float array, or raise `ValueError` naming `name`.

    `shape` gives the expected shape: an int fixes a dimension, a string or None leaves it free
    (a string only names it in the message, e.g. ``("N", "D")``). NaN and inf are rejected, and
    so is an empty array unless `allow_empty`.
    """
    try:
        arr = np.asarray(x, dtype=dtype)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be an array of numbers; got {type(x).__name__}") from err
    if shape is not None:
        if arr.ndim != len(shape):
            raise ValueError(
                f"{name} must be a {len(shape)}-D array of shape {_describe(shape)}; "
                f"got shape {arr.shape}"
            )
        for axis, want in enumerate(shape):
            if isinstance(want, int) and arr.shape[axis] != want:
                raise ValueError(
                    f"{name} must have shape {_describe(shape)}; got shape {arr.shape} "
                    f"(axis {axis} should be {want})"
                )
    if arr.size == 0 and not allow_empty:
        raise ValueError(f"{name} is empty (shape {arr.shape}); expected at least one element")
    if not np.all(np.isfinite(arr)):
        bad = "NaN" if np.isnan(arr).any() else "inf"
        raise ValueError(f"{name} contains {bad}; expected finite numbers")
    return arr


def as_label_array(
    name: str, y: object, *, allowed: Iterable[int], n: int | None = None
) -> np.ndarray:
    """Return `y` as a 1-D int array whose values all lie in `allowed`, or raise `ValueError`.

    `n`, when given, is the required length (the number of samples in the matching inputs).
    """
    allowed = sorted(set(allowed))
    arr = as_float_array(name, y, shape=("N",))
    if not np.all(arr == np.round(arr)):
        raise ValueError(f"{name} must hold integer class labels {allowed}; got non-integers")
    labels = arr.astype(np.int64)
    extra = sorted(set(np.unique(labels).tolist()) - set(allowed))
    if extra:
        raise ValueError(f"{name} must hold only the labels {allowed}; got also {extra[:5]}")
    if n is not None and labels.shape[0] != n:
        raise ValueError(
            f"{name} must have length {n} (one label per sample); got {labels.shape[0]}"
        )
    return labels


def check_same_length(**arrays: np.ndarray) -> int:
    """Check that the arrays agree along axis 0 and return that length."""
    lengths = {k: len(v) for k, v in arrays.items()}
    if len(set(lengths.values())) > 1:
        detail = ", ".join(f"{k} has {n}" for k, n in lengths.items())
        raise ValueError(f"expected the same number of samples in each argument; {detail}")
    return next(iter(lengths.values()))


def check_positive(name: str, value: float, *, allow_zero: bool = False) -> float:
    """Check a scalar hyper-parameter such as a learning rate; return it as float."""
    try:
        v = float(value)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a number; got {value!r}") from err
    if not np.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {bound}; got {value!r}")
    return v


def check_int(name: str, value: object, *, minimum: int = 1) -> int:
    """Check a whole-number argument such as a size or a seed (bools are not ints here)."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}; got {value!r}")
    return int(value)
