"""What every chapter's exercise checks share.

A check compares a learner's answer with the `dlbook` reference implementation, never with
numbers typed into a notebook. A wrong answer raises `AssertionError` with a hint (the expected
shape, the first wrong element and the relative error); a right one prints one line that
starts with `OK`. Never imports torch.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["check_close"]

OK = "\u2714"  # heavy check mark: the first character of every success message


def check_close(
    name: str, got: object, expected: object, *, rtol: float = 1e-10, atol: float = 1e-12
) -> None:
    """Raise AssertionError with a hint unless `got` equals `expected` within float64 tolerances.

    A NaN matches only a NaN in the same place."""
    expected = np.asarray(expected, dtype=np.float64)
    try:
        got = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        raise AssertionError(f"{name}: expected numbers, got {type(got).__name__}") from None
    if got.shape != expected.shape:
        raise AssertionError(f"{name}: expected shape {expected.shape}, got shape {got.shape}")
    bad = ~np.isclose(got, expected, rtol=rtol, atol=atol, equal_nan=True)  # NaN only matches NaN
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        where = f" at index {first}" if got.ndim else ""
        g, e = float(got[first]), float(expected[first])
        error = (
            f"relative error {abs(g - e) / abs(e):.2e}"
            if e != 0
            else f"absolute error {abs(g):.2e}"
        )
        raise AssertionError(
            f"{name}: first wrong element{where}: got {g!r}, expected {e!r} ({error}); "
            f"{int(bad.sum())} of {bad.size} elements wrong"
        )


def unpack(name: str, got: object, names: Sequence[str]) -> tuple:
    """`got` as a tuple if it is a tuple or list of len(names) items, else AssertionError
    saying that `name` must return the tuple (names...)."""
    if not isinstance(got, tuple | list) or len(got) != len(names):
        raise AssertionError(f"{name} must return a tuple ({', '.join(names)})")
    return tuple(got)
