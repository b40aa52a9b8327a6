"""dlbook.checks: the shape decorator's messages, scalar specs, and the other checks."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from dlbook import checks
from dlbook.checks import shapes


@shapes(x="N T D", h0="N H", w="4H D", b="optional: 4H")
def cell(x, h0, w, b=None):
    return x, h0, w, b


def _args(n=2, t=3, d=4, h=5):
    return {
        "x": np.ones((n, t, d)),
        "h0": np.ones((n, h)),
        "w": np.ones((4 * h, d)),
        "b": np.ones(4 * h),
    }


def test_valid_arguments_pass_and_are_converted():
    args = _args()
    args["x"] = args["x"].tolist()
    x, _, _, _ = cell(**args)
    assert isinstance(x, np.ndarray) and x.dtype == np.float64
    assert cell(**{**_args(), "b": None})[3] is None


def test_wrong_rank_names_the_argument_and_the_shape():
    with pytest.raises(
        ValueError, match=r"h0 must be a 2-D array of shape \(N, H\); got shape \(2,\)"
    ):
        cell(**{**_args(), "h0": np.ones(2)})


def test_mismatched_named_dimension_names_both_arguments():
    with pytest.raises(ValueError, match=r"h0 must have shape \(N, H\) with N = 2 \(from x\)"):
        cell(**{**_args(), "h0": np.ones((3, 5))})
    with pytest.raises(ValueError, match=r"w must have shape \(4H, D\) with D = 4 \(from x\)"):
        cell(**{**_args(), "w": np.ones((20, 3))})


def test_multiple_dimensions_are_checked():
    with pytest.raises(ValueError, match=r"w must have shape \(4H, D\) with 4H = 20 \(H = 5"):
        cell(**{**_args(), "w": np.ones((16, 4))})
    with pytest.raises(ValueError, match="not a multiple of 4"):
        checks.shapes(w="4H D")(lambda w: w)(np.ones((6, 2)))


def test_nan_and_inf_are_rejected_by_name():
    x = np.ones((2, 3, 4))
    x[0, 1, 2] = np.nan
    with pytest.raises(ValueError, match="x contains NaN"):
        cell(**{**_args(), "x": x})
    with pytest.raises(ValueError, match="b contains inf"):
        cell(**{**_args(), "b": np.full(20, np.inf)})


def test_dtype_policy_keeps_float32_and_converts_ints():
    x32 = np.ones((2, 3, 4), dtype=np.float32)
    assert cell(**{**_args(), "x": x32})[0].dtype == np.float32
    assert cell(**{**_args(), "x": np.ones((2, 3, 4), dtype=int)})[0].dtype == np.float64


def test_int_and_bool_arrays_and_ellipsis():
    f = shapes(ids="int: N T", mask="bool: T T", y="... D")(lambda ids, mask, y: (ids, mask, y))
    ids, mask, y = f(np.zeros((2, 3)), np.ones((3, 3), bool), np.ones((5, 2, 7)))
    assert ids.dtype == np.int64
    with pytest.raises(ValueError, match="ids must hold integers"):
        f(np.full((2, 3), 0.5), np.ones((3, 3), bool), np.ones(7))
    with pytest.raises(ValueError, match="mask must be a boolean array"):
        f(np.zeros((2, 3)), np.ones((3, 3)), np.ones(7))
    with pytest.raises(ValueError, match=r"mask must have shape \(T, T\) with T = 3"):
        f(np.zeros((2, 3)), np.ones((2, 2), bool), np.ones(7))


@pytest.mark.parametrize(
    ("spec", "good", "bad", "match"),
    [
        ("bool", True, 1, "must be True or False"),
        ("int", 3, 0, "must be an int >= 1"),
        ("int >= 0", 0, -1, "must be an int >= 0"),
        ("> 0", 1e-5, 0.0, "must be a finite number > 0"),
        ("[0, 1)", 0.0, 1.0, r"must lie in \[0, 1\)"),
        ("number", -2.5, "2", "must be a real number"),
        ("rng", np.random.default_rng(0), 0, "must be a numpy Generator"),
        ("{he, xavier}", "he", "lecun", "must be one of"),
    ],
)
def test_scalar_specs(spec, good, bad, match):
    f = shapes(v=spec)(lambda v: v)
    f(good)
    with pytest.raises(ValueError, match=f"v {match}"):
        f(bad)


def test_bad_specs_fail_at_decoration():
    with pytest.raises(ValueError, match="bad shape spec"):
        shapes(x="N D!")(lambda x: x)
    with pytest.raises(TypeError, match="not parameters"):
        shapes(y="N")(lambda x: x)


def test_keyword_only_warns_for_the_old_positional_call():
    def init(sizes, *, rng, scale=1.0):
        return sizes, rng, scale

    init = checks.keyword_only("rng")(init)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert init([1], rng=5) == ([1], 5, 1.0)
    with pytest.warns(DeprecationWarning, match=r"init: pass rng=\.\.\. by keyword"):
        assert init([1], 5) == ([1], 5, 1.0)
    with pytest.raises(TypeError, match="positional"):
        init([1], 5, 6)


def test_other_checks():
    assert checks.check_ints("sizes", [2, 3], min_len=2) == [2, 3]
    with pytest.raises(ValueError, match="at least 2"):
        checks.check_ints("sizes", [2], min_len=2)
    assert checks.check_axis(-1, 3) == 2
    with pytest.raises(ValueError, match="axis must be in"):
        checks.check_axis(3, 3)
    assert checks.check_fraction("p", 0.5) == 0.5
    with pytest.raises(ValueError, match=r"p must lie in \[0, 1\)"):
        checks.check_fraction("p", 1.0)
    with pytest.raises(ValueError, match=r"y must hold class labels in \[0, 3\)"):
        checks.as_labels("y", [0, 3], num_classes=3)
    with pytest.raises(ValueError, match=r"idx must hold indices in \[0, 4\)"):
        checks.as_index_array("idx", [1, 4], high=4)
    with pytest.raises(ValueError, match="cache must be the"):
        checks.check_cache((1, 2), type("Kind", (tuple,), {}))
