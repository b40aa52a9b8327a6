"""dlbook.exercises._core: what the chapter checks share, and the package's public names."""

import importlib

import numpy as np
import pytest

import dlbook.exercises
from dlbook.exercises._core import OK, check_close, unpack


def test_unpack_accepts_a_tuple_or_list_of_the_right_length():
    assert unpack("step", (1, 2), ("new_p", "new_velocity")) == (1, 2)
    assert unpack("fit", [np.ones(2), 0.5], ("w", "b"))[1] == 0.5


@pytest.mark.parametrize("got", [None, 3.0, (1, 2, 3), np.array([1.0, 2.0]), "ab"])
def test_unpack_names_the_function_and_the_tuple_it_must_return(got):
    with pytest.raises(AssertionError, match=r"^step must return a tuple \(new_p, new_velocity\)$"):
        unpack("step", got, ("new_p", "new_velocity"))


def test_check_close_treats_nan_as_a_value_and_names_non_numbers():
    check_close("v", [np.nan, 1.0], [np.nan, 1.0])
    with pytest.raises(AssertionError, match=r"index \(0,\).*1 of 2 elements wrong"):
        check_close("v", [np.nan, 1.0], [0.0, 1.0])
    with pytest.raises(AssertionError, match="v: expected numbers, got dict"):
        check_close("v", {"a": 1}, [1.0])
    with pytest.raises(AssertionError, match="absolute error 1.00e-03"):
        check_close("v", 1e-3, 0.0)


@pytest.mark.parametrize(
    "slug", ["perceptron", "backprop", "linear_models", "optimization", "regularization", "cnn"]
)
def test_every_check_is_public(slug):
    module = importlib.import_module(f"dlbook.exercises.{slug}")
    assert module.__all__ and all(name.startswith("check_") for name in module.__all__)
    for name in module.__all__:
        assert getattr(dlbook.exercises, name) is getattr(module, name)
    assert dlbook.exercises.check_close is check_close and "check_close" in dlbook.exercises.__all__
    assert OK == "\u2714"  # the mark test_exercises.py looks for at the start of a success
