"""The public validation vocabulary of dlbook.

Every public function checks what it is given and raises `ValueError` (or `TypeError` for a
value of the wrong kind) with a message that names the argument and the expected shape. These
helpers keep those messages uniform, so that a function spends one or two lines on validation
and the rest on its algorithm.

The main tool is the `shapes` decorator::

    @shapes(x="N D", w="D M", b="M")
    def linear_forward(x, w, b): ...

Each spec is a space-separated list of dimensions. A dimension is

- a name (``N``, ``D``): free, but the same size wherever the name appears;
- a multiple of a name (``4H``): four times the size bound to ``H``;
- an integer literal (``3``): exactly that size;
- ``_``: any size;
- ``...`` (first or last): any number of leading or trailing dimensions.

A spec may start with ``int:`` (an integer array, such as token ids) or ``bool:`` (a boolean
array, such as a mask); otherwise the array is floating point. Float arrays keep float32 or
float64 (so float32 in gives float32 out); anything else becomes float64. NaN and inf are
rejected. Prefix ``optional`` (``"optional: M"``) to let the argument be None, and
``nonnegative`` to reject negative entries, and ``binary`` to accept only 0 and 1.

Scalar arguments are checked by the same decorator with a spec without dimensions:
``"bool"``, ``"int"`` or ``"int >= 0"``, ``"number"`` (any finite float), ``"> 0"`` or
``">= 0"``, an interval such as ``"[0, 1)"``, and ``"rng"`` (a ``np.random.Generator``);
``"optional rng"`` also accepts None, and ``"{he, xavier}"`` accepts one of the listed
strings.

This module never imports torch.
"""

from __future__ import annotations

import functools
import inspect
import numbers
import re
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import numpy as np

__all__ = [
    "as_float_array",
    "as_index_array",
    "as_labels",
    "as_label_array",
    "check_bool",
    "check_cache",
    "check_choice",
    "check_fraction",
    "check_int",
    "check_ints",
    "check_positive",
    "check_rng",
    "check_axis",
    "check_number",
    "check_same_length",
    "check_shape",
    "keyword_only",
    "shapes",
]

F = TypeVar("F", bound=Callable[..., Any])
_FLOATS = (np.float16, np.float32, np.float64)


def _describe(shape: Sequence[object]) -> str:
    dims = ", ".join("?" if d is None else str(d) for d in shape)
    return f"({dims},)" if len(shape) == 1 else f"({dims})"


def _finite(name: str, arr: np.ndarray) -> np.ndarray:
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        bad = "NaN" if np.isnan(arr).any() else "inf"
        raise ValueError(f"{name} contains {bad}; expected finite numbers")
    return arr


def as_float_array(
    name: str,
    x: object,
    *,
    shape: Sequence[int | str | None] | None = None,
    allow_empty: bool = False,
    dtype: type | None = None,
) -> np.ndarray:
    """Return `x` as a finite float array, or raise `ValueError` naming `name`.

    `dtype=None` keeps a float32 or float64 array as it is and converts anything else to
    float64; pass a dtype to force one. `shape`: an int fixes a dimension, a string or None
    leaves it free (a string only names it in the message). NaN, inf and (unless
    `allow_empty`) empty arrays are rejected.
    """
    if dtype is None:
        dtype = x.dtype if isinstance(x, np.ndarray) and x.dtype in _FLOATS else np.float64
    try:
        arr = np.asarray(x, dtype=dtype)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be an array of numbers; got {type(x).__name__}") from err
    if shape is not None:
        check_shape(name, arr, shape)
    if arr.size == 0 and not allow_empty:
        raise ValueError(f"{name} is empty (shape {arr.shape}); expected at least one element")
    return _finite(name, arr)


def as_index_array(
    name: str,
    x: object,
    *,
    high: int | None = None,
    shape: Sequence[int | str | None] | None = None,
) -> np.ndarray:
    """Return `x` as an int64 array of indices in [0, high), or raise `ValueError`."""
    arr = np.asarray(x)
    if arr.dtype == bool or arr.dtype.kind not in "iuf":
        raise ValueError(f"{name} must be an array of integers; got dtype {arr.dtype}")
    if arr.dtype.kind == "f":
        _finite(name, arr)
        if not np.all(arr == np.round(arr)):
            raise ValueError(f"{name} must hold integers; got non-integers")
    arr = arr.astype(np.int64)
    if shape is not None:
        check_shape(name, arr, shape)
    if arr.size and (arr.min() < 0 or (high is not None and arr.max() >= high)):
        bound = f"in [0, {high})" if high is not None else ">= 0"
        raise ValueError(
            f"{name} must hold indices {bound}; got values from {arr.min()} to {arr.max()}"
        )
    return arr


def as_labels(
    name: str,
    y: object,
    *,
    num_classes: int | None = None,
    allowed: Iterable[int] | None = None,
    n: int | None = None,
) -> np.ndarray:
    """Return `y` as a 1-D int64 array of class labels, or raise `ValueError`.

    The labels must lie in `allowed`, or in 0..num_classes-1; `n` is the required length (one
    label per sample of the matching input).
    """
    arr = as_float_array(name, y, shape=("N",))
    if num_classes is not None and arr.size and (arr.min() < 0 or arr.max() >= num_classes):
        raise ValueError(
            f"{name} must hold class labels in [0, {num_classes}) (one per logit column); "
            f"got values from {arr.min():g} to {arr.max():g}"
        )
    if not np.all(arr == np.round(arr)):
        raise ValueError(f"{name} must hold integer class labels; got non-integers")
    labels = arr.astype(np.int64)
    if allowed is not None:
        allowed = sorted(set(allowed))
        extra = sorted(set(np.unique(labels).tolist()) - set(allowed))
        if extra:
            shown = allowed if len(allowed) <= 10 else f"0..{allowed[-1]}"
            raise ValueError(f"{name} must hold only the labels {shown}; got also {extra[:5]}")
    if n is not None and labels.shape[0] != n:
        raise ValueError(
            f"{name} must have length {n} (one label per sample); got {labels.shape[0]}"
        )
    return labels


def as_label_array(
    name: str, y: object, *, allowed: Iterable[int], n: int | None = None
) -> np.ndarray:
    """The earlier name of `as_labels(name, y, allowed=..., n=...)`."""
    return as_labels(name, y, allowed=allowed, n=n)


def check_shape(name: str, arr: np.ndarray, shape: Sequence[int | str | None]) -> np.ndarray:
    """Check `arr.shape` against `shape` (ints are fixed, strings and None are free)."""
    if arr.ndim != len(shape):
        raise ValueError(
            f"{name} must be a {len(shape)}-D array of shape {_describe(shape)}; "
            f"got shape {arr.shape}"
        )
    for axis, want in enumerate(shape):
        if isinstance(want, int | np.integer) and arr.shape[axis] != want:
            raise ValueError(
                f"{name} must have shape {_describe(shape)}; got shape {arr.shape} "
                f"(axis {axis} should be {want})"
            )
    return arr


def check_same_length(**arrays: np.ndarray) -> int:
    """Check that the arrays agree along axis 0 and return that length."""
    lengths = {k: len(v) for k, v in arrays.items()}
    if len(set(lengths.values())) > 1:
        detail = ", ".join(f"{k} has {n}" for k, n in lengths.items())
        raise ValueError(f"expected the same number of samples in each argument; {detail}")
    return next(iter(lengths.values()))


def _to_float(name: str, value: object) -> float:
    """`value` as a float (a bool is not a number); finiteness is the caller's to check."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number; got {value!r}")
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a number; got {value!r}") from err


def check_positive(name: str, value: object, *, allow_zero: bool = False) -> float:
    """Check a scalar hyper-parameter such as a learning rate; return it as float."""
    v = _to_float(name, value)
    if not np.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {bound}; got {value!r}")
    return v


def check_fraction(
    name: str, value: object, *, low_open: bool = False, high_open: bool = True
) -> float:
    """Check a number in [0, 1) (by default); `low_open`/`high_open` exclude an end."""
    v = _to_float(name, value)
    lo_ok = v > 0 if low_open else v >= 0
    hi_ok = v < 1 if high_open else v <= 1
    if not (np.isfinite(v) and lo_ok and hi_ok):
        interval = f"{'(' if low_open else '['}0, 1{')' if high_open else ']'}"
        raise ValueError(f"{name} must lie in {interval}; got {value!r}")
    return v


def check_number(name: str, value: object) -> float:
    """Check a finite real number (not a bool or a string) and return it as float."""
    if isinstance(value, bool | str | bytes) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number (int or float); got {value!r}")
    try:
        v = float(value)
    except OverflowError as err:  # an int too large for a float
        raise ValueError(f"{name} is too large for a float64; got {value}") from err
    if not np.isfinite(v):
        raise ValueError(f"{name} must be a finite number; got {value!r}")
    return v


def check_axis(axis: object, ndim: int, name: str = "axis") -> int:
    """Check an axis of an `ndim`-D array (negative counts from the end); return it >= 0."""
    if isinstance(axis, bool) or not isinstance(axis, int | np.integer):
        raise ValueError(f"{name} must be an int; got {axis!r}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"{name} must be in [{-ndim}, {ndim}) for a {ndim}-D input; got {axis}")
    return int(axis) % ndim


def check_int(name: str, value: object, *, minimum: int = 1) -> int:
    """Check a whole-number argument such as a size or a seed (bools are not ints here)."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}; got {value!r}")
    return int(value)


def check_ints(name: str, values: object, *, min_len: int = 1, minimum: int = 1) -> list[int]:
    """Check a list of whole numbers (such as layer widths) of at least `min_len` entries."""
    if isinstance(values, str | bytes) or not isinstance(values, Sequence | np.ndarray):
        raise ValueError(f"{name} must be a list of ints; got {values!r}")
    if len(values) < min_len:
        raise ValueError(f"{name} must list at least {min_len} ints; got {list(values)!r}")
    bad = [v for v in values if isinstance(v, bool) or not isinstance(v, int | np.integer)]
    if bad or any(v < minimum for v in values):
        raise ValueError(f"{name} must hold ints >= {minimum}; got {list(values)!r}")
    return [int(v) for v in values]


def check_bool(name: str, value: object) -> bool:
    """Check a flag: True or False (numpy bools too), not 0/1 or a string."""
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"{name} must be True or False; got {value!r}")
    return bool(value)


def check_choice(name: str, value: object, choices: Iterable[object]) -> Any:
    """Check that `value` is one of `choices` and return it."""
    choices = list(choices)
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}; got {value!r}")
    return value


def check_rng(rng: object, name: str = "rng") -> np.random.Generator:
    """Check that `rng` is a `np.random.Generator` (make one with `np.random.default_rng(seed)`)."""
    if not isinstance(rng, np.random.Generator):
        raise ValueError(
            f"{name} must be a numpy Generator, e.g. np.random.default_rng(0); "
            f"got {type(rng).__name__}"
        )
    return rng


def check_cache(cache: object, kind: type, name: str = "cache") -> Any:
    """Check that `cache` is the NamedTuple a forward function returned (of type `kind`)."""
    if not isinstance(cache, kind):
        raise ValueError(
            f"{name} must be the {kind.__name__} returned by the matching forward function; "
            f"got {type(cache).__name__}"
        )
    return cache


# ----------------------------------------------------------------------------------------------
# The shape decorator

_DIM = re.compile(r"^(?:(\d+)|_|\.\.\.|(\d*)([A-Za-z]\w*))$")


_INTERVAL = re.compile(r"^([\[(])\s*(-?[\d.]+)\s*,\s*(-?[\d.]+)\s*([\])])$")
_BOUND = re.compile(r"^(>=?)\s*(-?[\d.]+)$")
_INT = re.compile(r"^int(?:\s*>=\s*(-?\d+))?$")


class _Scalar:
    """A parsed scalar spec: "bool", "int >= 0", "number", "> 0", "[0, 1)", "rng"."""

    def __init__(self, text: str) -> None:
        self.text = text
        words = text.split()
        self.optional = bool(words) and words[0] == "optional"
        body = " ".join(words[1:] if self.optional else words)
        self.body = body
        if not (
            body in ("bool", "number", "rng")
            or (body.startswith("{") and body.endswith("}"))
            or _INT.match(body)
            or _INTERVAL.match(body)
            or _BOUND.match(body)
        ):
            raise ValueError(f"bad spec {text!r}")

    def check(self, name: str, value: object) -> object:
        body = self.body
        if value is None and self.optional:
            return None
        if body == "bool":
            return check_bool(name, value)
        if body == "rng":
            return check_rng(value, name)
        if body.startswith("{"):
            return check_choice(name, value, [c.strip() for c in body[1:-1].split(",")])
        if m := _INT.match(body):
            return check_int(name, value, minimum=int(m.group(1) or 1))
        v = check_number(name, value)
        if m := _BOUND.match(body):
            op, bound = m.group(1), float(m.group(2))
            if not (v >= bound if op == ">=" else v > bound):
                raise ValueError(f"{name} must be a finite number {op} {m.group(2)}; got {value!r}")
        elif m := _INTERVAL.match(body):
            lo, hi = float(m.group(2)), float(m.group(3))
            ok_lo = v >= lo if m.group(1) == "[" else v > lo
            ok_hi = v <= hi if m.group(4) == "]" else v < hi
            if not (ok_lo and ok_hi):
                raise ValueError(f"{name} must lie in {body}; got {value!r}")
        return v


def _is_scalar_spec(text: str) -> bool:
    if ":" in text:
        return False
    try:
        _Scalar(text)
    except ValueError:
        return False
    return True


class _Spec:
    """A parsed shape spec such as ``"int: N T"`` or ``"optional: ... D"``."""

    def __init__(self, text: str) -> None:
        self.text = text
        kind, _, dims = text.rpartition(":")
        words = kind.split()
        self.optional = "optional" in words
        self.nonnegative = "nonnegative" in words
        self.binary = "binary" in words
        self.kind = "int" if "int" in words else "bool" if "bool" in words else "float"
        if set(words) - {"optional", "int", "bool", "nonnegative", "binary"}:
            raise ValueError(f"bad shape spec {text!r}: unknown prefix {kind!r}")
        self.dims = dims.split()
        self.leading = bool(self.dims) and self.dims[0] == "..."
        if self.leading:
            self.dims = self.dims[1:]
        self.trailing = bool(self.dims) and self.dims[-1] == "..."
        if self.trailing:
            self.dims = self.dims[:-1]
        for d in self.dims:
            if not _DIM.match(d) or d == "...":
                raise ValueError(f"bad shape spec {text!r}: cannot read dimension {d!r}")

    def show(self) -> str:
        dims = (["..."] if self.leading else []) + self.dims + (["..."] if self.trailing else [])
        return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"


def _convert(name: str, value: object, spec: _Spec) -> np.ndarray:
    if spec.kind == "float":
        arr = as_float_array(name, value, allow_empty=True)
        if spec.nonnegative and np.any(arr < 0):
            raise ValueError(f"{name} must be >= 0 everywhere; got a minimum of {arr.min()}")
        if spec.binary and not np.all((arr == 0) | (arr == 1)):
            bad = np.unique(arr[(arr != 0) & (arr != 1)])[:5]
            raise ValueError(f"{name} must hold binary labels 0 or 1; got also {bad}")
        return arr
    if spec.kind == "int":
        return as_index_array(name, value)
    arr = np.asarray(value)
    if arr.dtype != bool:
        raise ValueError(f"{name} must be a boolean array (True where allowed); got {arr.dtype}")
    return arr


def _bind_dims(arrays: dict[str, tuple[np.ndarray, _Spec]]) -> dict[str, int]:
    """Bind every named dimension and check that each name has one size."""
    sizes: dict[str, tuple[int, str]] = {}
    pending: list[tuple[str, int, int, str, int]] = []  # (arg, axis, coeff, base, size)
    for arg, (arr, spec) in arrays.items():
        want = len(spec.dims)
        free = spec.leading or spec.trailing
        if arr.ndim != want and not (free and arr.ndim >= want):
            rank = (
                f"an array of at least {want} dimension{'s' * (want != 1)}"
                if free
                else f"a {want}-D array"
            )
            raise ValueError(f"{arg} must be {rank} of shape {spec.show()}; got shape {arr.shape}")
        offset = arr.ndim - want if spec.leading else 0
        for i, d in enumerate(spec.dims):
            size, axis = arr.shape[offset + i], offset + i
            m = _DIM.match(d)
            assert m is not None
            if m.group(1) is not None:
                if size != int(m.group(1)):
                    raise ValueError(
                        f"{arg} must have shape {spec.show()}; got shape {arr.shape} "
                        f"(axis {axis} should be {d})"
                    )
            elif d != "_":
                coeff, base = int(m.group(2) or 1), m.group(3)
                if coeff == 1:
                    if base in sizes and sizes[base][0] != size:
                        bound, where = sizes[base]
                        raise ValueError(
                            f"{arg} must have shape {spec.show()} with {base} = {bound} "
                            f"(from {where}); got shape {arr.shape}"
                        )
                    sizes.setdefault(base, (size, arg))
                else:
                    pending.append((arg, axis, coeff, base, size))
    for arg, axis, coeff, base, size in pending:
        spec = arrays[arg][1]
        shape = arrays[arg][0].shape
        if base not in sizes:
            if size % coeff:
                raise ValueError(
                    f"{arg} must have shape {spec.show()}; axis {axis} has size {size}, "
                    f"not a multiple of {coeff}"
                )
            sizes[base] = (size // coeff, arg)
        elif sizes[base][0] * coeff != size:
            bound, where = sizes[base]
            raise ValueError(
                f"{arg} must have shape {spec.show()} with {coeff}{base} = {coeff * bound} "
                f"({base} = {bound} from {where}); got shape {shape}"
            )
    return {k: v for k, (v, _) in sizes.items()}


def shapes(**specs: str) -> Callable[[F], F]:
    """Decorate a function so that its array arguments are converted and shape-checked.

    ``@shapes(x="N D", w="D M", b="M")`` converts x, w and b to float arrays (keeping float32
    or float64), rejects NaN and inf, and checks that each has the stated rank and that every
    named dimension agrees across arguments. A failure raises `ValueError` naming the argument
    and the expected shape. See the module docstring for the spec syntax.
    """
    scalars = {name: _Scalar(text) for name, text in specs.items() if _is_scalar_spec(text)}
    parsed = {name: _Spec(text) for name, text in specs.items() if name not in scalars}

    def decorate(func: F) -> F:
        sig = inspect.signature(func)
        missing = (set(parsed) | set(scalars)) - set(sig.parameters)
        if missing:
            raise TypeError(f"@shapes names {sorted(missing)}, not parameters of {func.__name__}")

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            bound = sig.bind(*args, **kwargs)
            bound.apply_defaults()
            for name, scalar in scalars.items():
                bound.arguments[name] = scalar.check(name, bound.arguments[name])
            arrays = {}
            for name, spec in parsed.items():
                value = bound.arguments[name]
                if value is None and spec.optional:
                    continue
                if value is None:
                    raise ValueError(f"{name} must be an array of shape {spec.show()}; got None")
                arr = _convert(name, value, spec)
                if arr.size == 0 and spec.dims:
                    raise ValueError(
                        f"{name} is empty (shape {arr.shape}); expected shape {spec.show()} "
                        "with at least one element"
                    )
                arrays[name] = (arr, spec)
                bound.arguments[name] = arr
            _bind_dims(arrays)
            return func(*bound.args, **bound.kwargs)

        wrapper.__signature__ = sig  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def keyword_only(*names: str) -> Callable[[F], F]:
    """Let the keyword-only arguments `names` still be passed by position, with a warning.

    For an argument that a published chapter passed by position before it became keyword-only
    (``mlp_init(sizes, rng)`` is now ``mlp_init(sizes, rng=rng)``): the old call keeps working
    and warns with a `DeprecationWarning`. Apply it after the definition,
    ``f = keyword_only("rng")(f)``, so that the function's own source stays as the book shows it.
    """

    def decorate(func: F) -> F:
        params = inspect.signature(func).parameters.values()
        n_positional = sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            extra = args[n_positional:]
            if extra:
                if len(extra) > len(names):
                    raise TypeError(
                        f"{func.__name__} takes {n_positional} positional arguments "
                        f"(then {', '.join(names)} by keyword); got {len(args)}"
                    )
                moved = names[: len(extra)]
                warnings.warn(
                    f"{func.__name__}: pass {', '.join(f'{n}=...' for n in moved)} by keyword; "
                    "passing it by position is deprecated",
                    DeprecationWarning,
                    stacklevel=2,
                )
                kwargs.update(zip(moved, extra, strict=True))
            return func(*args[:n_positional], **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
