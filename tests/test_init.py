"""dlbook.numpy.init: the variances (and uniform bounds) of torch.nn.init's formulas, checked on
large draws, and the gain table of torch.nn.init.calculate_gain."""

from __future__ import annotations

import numpy as np
import pytest

import dlbook.numpy as dnp

torch = pytest.importorskip("torch")

FAN_IN, FAN_OUT = 300, 500  # 150,000 draws: the sample variance is within 1% of the truth


def torch_weight(init, **kwargs):
    """A torch weight (fan_out, fan_in) drawn by torch.nn.init, returned as (fan_in, fan_out)."""
    w = torch.empty(FAN_OUT, FAN_IN, dtype=torch.float64)
    init(w, generator=torch.Generator().manual_seed(0), **kwargs)
    return w.numpy().T


CASES = [
    ("xavier_uniform", {}, torch.nn.init.xavier_uniform_, {}, 2 / (FAN_IN + FAN_OUT)),
    ("xavier_uniform", {"gain": 5 / 3}, torch.nn.init.xavier_uniform_, {"gain": 5 / 3},
     (5 / 3) ** 2 * 2 / (FAN_IN + FAN_OUT)),
    ("xavier_normal", {}, torch.nn.init.xavier_normal_, {}, 2 / (FAN_IN + FAN_OUT)),
    ("he_normal", {}, torch.nn.init.kaiming_normal_, {}, 2 / FAN_IN),
    ("he_normal", {"mode": "fan_out"}, torch.nn.init.kaiming_normal_, {"mode": "fan_out"},
     2 / FAN_OUT),
    ("he_normal", {"a": 0.2}, torch.nn.init.kaiming_normal_, {"a": 0.2}, 2 / (1.04 * FAN_IN)),
    ("he_uniform", {}, torch.nn.init.kaiming_uniform_, {}, 2 / FAN_IN),
    ("he_uniform", {"nonlinearity": "relu", "mode": "fan_out"}, torch.nn.init.kaiming_uniform_,
     {"nonlinearity": "relu", "mode": "fan_out"}, 2 / FAN_OUT),
]  # fmt: skip


@pytest.mark.parametrize(("name", "kwargs", "torch_init", "torch_kwargs", "variance"), CASES)
def test_variance_matches_torch_formula(name, kwargs, torch_init, torch_kwargs, variance, rng):
    w = getattr(dnp, name)(FAN_IN, FAN_OUT, rng=rng, **kwargs)
    theirs = torch_weight(torch_init, **torch_kwargs)
    assert w.shape == theirs.shape == (FAN_IN, FAN_OUT)
    assert w.var() == pytest.approx(variance, rel=0.02)
    assert w.var() == pytest.approx(theirs.var(), rel=0.03)
    assert abs(w.mean()) < 4 * np.sqrt(variance / w.size)
    if name.endswith("uniform"):  # U(-a, a) has variance a^2 / 3
        bound = np.sqrt(3 * variance)
        assert np.abs(w).max() <= bound and np.abs(theirs).max() <= bound
        assert np.abs(w).max() > 0.999 * bound
    else:  # normal: about 4.6% of the draws beyond two standard deviations
        assert np.mean(np.abs(w) > 2 * np.sqrt(variance)) == pytest.approx(0.0455, abs=0.003)


def test_wrong_fan_is_detected(rng):
    """The test above can fail: He with fan_out in place of fan_in has another variance."""
    w = dnp.he_normal(FAN_IN, FAN_OUT, rng=rng, mode="fan_out")
    assert w.var() != pytest.approx(2 / FAN_IN, rel=0.02)


@pytest.mark.parametrize(
    ("nonlinearity", "param"),
    [("linear", None), ("sigmoid", None), ("tanh", None), ("relu", None), ("leaky_relu", None),
     ("leaky_relu", 0.2), ("leaky_relu", 0)],
)  # fmt: skip
def test_calculate_gain_matches_torch(nonlinearity, param):
    want = torch.nn.init.calculate_gain(nonlinearity, param)
    assert dnp.calculate_gain(nonlinearity, param) == pytest.approx(want, rel=1e-15)


def test_init_is_reproducible_and_validates(rng):
    a = dnp.xavier_uniform(3, 4, rng=np.random.default_rng(5))
    b = dnp.xavier_uniform(3, 4, rng=np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="rng must be"):
        dnp.he_normal(3, 4, rng=0)
    with pytest.raises(ValueError, match="fan_in must be"):
        dnp.xavier_normal(0, 4, rng=rng)
    with pytest.raises(ValueError, match="mode must be"):
        dnp.he_uniform(3, 4, rng=rng, mode="both")
    with pytest.raises(ValueError, match="nonlinearity must be"):
        dnp.calculate_gain("swish")
    with pytest.raises(ValueError, match="gain must be"):
        dnp.xavier_uniform(3, 4, rng=rng, gain=-1.0)


@pytest.mark.parametrize("name", ["xavier_uniform", "xavier_normal", "he_normal", "he_uniform"])
def test_positional_rng_still_works_with_a_deprecation_warning(name):
    init = getattr(dnp, name)
    with pytest.warns(DeprecationWarning, match=f"{name}: pass rng="):
        old = init(3, 4, np.random.default_rng(1))
    np.testing.assert_array_equal(old, init(3, 4, rng=np.random.default_rng(1)))
    with pytest.raises(TypeError):
        init(3, 4, np.random.default_rng(1), 2.0)  # only rng may still come by position


def test_rng_is_keyword_only_in_the_signature():
    import inspect

    for name in ["xavier_uniform", "xavier_normal", "he_normal", "he_uniform"]:
        param = inspect.signature(getattr(dnp, name)).parameters["rng"]
        assert param.kind is inspect.Parameter.KEYWORD_ONLY
