"""dlbook.torch.perceptron_train makes exactly the updates of dlbook.numpy.perceptron_train."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import dlbook.numpy as dnp
import dlbook.torch as dtorch


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 40),
    d=st.integers(1, 4),
    lr=st.sampled_from([1.0, 0.1, 3.0]),
)
def test_matches_numpy_in_float64(seed, n, d, lr):
    rng = np.random.default_rng(seed)
    w, b = rng.normal(size=d), rng.uniform(-0.5, 0.5)
    X = rng.normal(size=(n, d))
    y = np.where(X @ w + b > 0, 1.0, -1.0)
    want = dnp.perceptron_train(X, y, lr=lr, epochs=200)
    got = dtorch.perceptron_train(torch.tensor(X), torch.tensor(y), lr=lr, epochs=200)
    assert got.mistakes == want.mistakes.tolist()
    assert got.converged == want.converged
    np.testing.assert_allclose(
        got.model.weight.detach().numpy().ravel(), want.w, rtol=1e-12, atol=1e-12
    )
    np.testing.assert_allclose(got.model.bias.item(), want.b, rtol=1e-12, atol=1e-12)


def test_never_converges_on_xor():
    X = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], dtype=torch.float64)
    y = torch.tensor([-1.0, 1.0, 1.0, -1.0], dtype=torch.float64)
    fit = dtorch.perceptron_train(X, y, epochs=10)
    assert not fit.converged and len(fit.mistakes) == 10 and min(fit.mistakes) > 0


@pytest.mark.parametrize(
    ("X", "y", "lr", "match"),
    [
        (torch.ones(3), torch.ones(3), 1.0, "X must"),
        (torch.ones(0, 2), torch.ones(0), 1.0, "X must"),
        (torch.ones(3, 2), torch.ones(4), 1.0, "y must have shape"),
        (torch.ones(3, 2), torch.tensor([0.0, 1.0, 1.0]), 1.0, "labels"),
        (torch.tensor([[float("nan"), 1.0]]), torch.ones(1), 1.0, "NaN"),
        (torch.ones(3, 2), torch.ones(3), 0.0, "lr"),
    ],
)
def test_rejects_bad_input(X, y, lr, match):
    with pytest.raises(ValueError, match=match):
        dtorch.perceptron_train(X, y, lr=lr)
