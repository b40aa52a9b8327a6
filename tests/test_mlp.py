"""dlbook.numpy.mlp: init scales, forward/backward against numerical gradients and torch,
the SGD training loop, and bad input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dlbook.numpy as dnp
from dlbook import data
from dlbook.numpy.mlp import ACTIVATIONS

torch = pytest.importorskip("torch")

TORCH_ACT = {
    "relu": torch.relu,
    "leaky_relu": torch.nn.functional.leaky_relu,
    "elu": torch.nn.functional.elu,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "softplus": lambda z: torch.nn.functional.softplus(z, threshold=1e9),
}


def torch_logits(params, x, activation):
    """The same network in torch: x (N, D) float64 tensor, params as float64 leaf tensors."""
    h = x
    for i in range(0, len(params), 2):
        h = h @ params[i] + params[i + 1]
        if i < len(params) - 2:
            h = TORCH_ACT[activation](h)
    return h


@pytest.mark.parametrize("init", ["he", "xavier"])
def test_init_shapes_and_scales(init):
    params = dnp.mlp_init([400, 300, 10], rng=np.random.default_rng(0), init=init)
    assert [p.shape for p in params] == [(400, 300), (300,), (300, 10), (10,)]
    assert all(p.dtype == np.float64 for p in params)
    assert not params[1].any() and not params[3].any()
    want = np.sqrt(2 / 400) if init == "he" else np.sqrt(2 / 700)
    assert params[0].std() == pytest.approx(want, rel=0.02)
    assert abs(params[0].mean()) < 0.01 * want * 10


def test_init_is_reproducible_from_the_rng():
    a = dnp.mlp_init([3, 4, 2], rng=np.random.default_rng(7))
    b = dnp.mlp_init([3, 4, 2], rng=np.random.default_rng(7))
    c = dnp.mlp_init([3, 4, 2], rng=np.random.default_rng(8))
    assert all(np.array_equal(p, q) for p, q in zip(a, b, strict=True))
    assert not np.array_equal(a[0], c[0])


def test_forward_is_the_composition_of_the_layers(rng):
    params = dnp.mlp_init([5, 4, 3, 2], rng=rng)
    params[1] += 0.1
    x = rng.normal(size=(6, 5))
    logits, cache = dnp.mlp_forward(params, x, "tanh")
    h = np.tanh(x @ params[0] + params[1])
    h = np.tanh(h @ params[2] + params[3])
    np.testing.assert_allclose(logits, h @ params[4] + params[5], rtol=1e-13)
    assert len(cache.linear) == 3 and len(cache.act) == 2 and cache.activation == "tanh"


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_backward_matches_numerical_gradients(rng, activation):
    params = dnp.mlp_init([4, 5, 3, 3], rng=rng)
    params = [p + rng.normal(scale=0.1, size=p.shape) for p in params]  # nonzero biases
    x, dout = rng.normal(size=(7, 4)), rng.normal(size=(7, 3))
    _, cache = dnp.mlp_forward(params, x, activation)
    grads = dnp.mlp_backward(dout, cache)
    for i, (p, g) in enumerate(zip(params, grads, strict=True)):
        assert g.shape == p.shape

        def f(v, i=i):
            return dnp.mlp_forward(
                [v if j == i else q for j, q in enumerate(params)], x, activation
            )[0]

        expected = dnp.numerical_gradient(f, p.copy(), dout)
        assert dnp.relative_error(g, expected) < 1e-6, (activation, i)


@settings(max_examples=25, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 6), min_size=2, max_size=4),
    n=st.integers(1, 8),
    activation=st.sampled_from(ACTIVATIONS),
    seed=st.integers(0, 2**16),
)
def test_forward_and_backward_equal_torch_float64(sizes, n, activation, seed):
    rng = np.random.default_rng(seed)
    params = [p + rng.normal(scale=0.1, size=p.shape) for p in dnp.mlp_init(sizes, rng=rng)]
    x, dout = rng.normal(size=(n, sizes[0])), rng.normal(size=(n, sizes[-1]))
    logits, cache = dnp.mlp_forward(params, x, activation)
    grads = dnp.mlp_backward(dout, cache)
    tparams = [torch.tensor(p, requires_grad=True) for p in params]
    tlogits = torch_logits(tparams, torch.tensor(x), activation)
    (tlogits * torch.tensor(dout)).sum().backward()
    np.testing.assert_allclose(logits, tlogits.detach().numpy(), rtol=1e-12, atol=1e-12)
    for g, t in zip(grads, tparams, strict=True):
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_full_batch_training_equals_torch_sgd_step_for_step(rng):
    x, y = rng.normal(size=(20, 3)), rng.integers(0, 4, size=20)
    params = dnp.mlp_init([3, 8, 4], rng=rng)
    fit = dnp.mlp_train(params, x, y, epochs=5, lr=0.3, batch_size=20, rng=rng, progress=False)
    tparams = [torch.tensor(p, requires_grad=True) for p in params]
    opt = torch.optim.SGD(tparams, lr=0.3)
    losses = []
    for _ in range(5):
        loss = torch.nn.functional.cross_entropy(
            torch_logits(tparams, torch.tensor(x), "relu"), torch.tensor(y)
        )
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    for p, t in zip(fit.params, tparams, strict=True):
        np.testing.assert_allclose(p, t.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(fit.history["train_loss"], losses, rtol=1e-10)


def test_training_learns_blobs_and_leaves_the_input_params_alone():
    X, y = data.blobs(n=300, centers=((-2, 0), (2, 0), (0, 2.5)), seed=0, labels="int")
    rng = np.random.default_rng(0)
    params = dnp.mlp_init([2, 16, 3], rng=rng)
    before = [p.copy() for p in params]
    fit = dnp.mlp_train(
        params,
        X[:200],
        y[:200],
        epochs=20,
        lr=0.1,
        batch_size=16,
        rng=rng,
        x_val=X[200:],
        y_val=y[200:],
        progress=False,
    )
    assert all(np.array_equal(p, q) for p, q in zip(params, before, strict=True))
    h = fit.history
    assert {len(v) for v in h.values()} == {20}
    assert h["train_loss"][-1] < 0.5 * h["train_loss"][0]
    loss, acc = dnp.mlp_evaluate(fit.params, X[200:], y[200:])
    assert acc > 0.9 and acc == h["val_acc"][-1] and loss == pytest.approx(h["val_loss"][-1])
    assert np.mean(dnp.mlp_predict(fit.params, X[200:]) == y[200:]) == acc


def test_training_runs_blas_on_one_thread_and_restores_the_setting(monkeypatch):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    import dlbook.numpy.mlp as mlp_module

    def blas_threads():
        return [
            p["num_threads"] for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"
        ]

    during, forward = [], mlp_module.mlp_forward

    def spy(*args, **kwargs):
        during.append(blas_threads())
        return forward(*args, **kwargs)

    monkeypatch.setattr(mlp_module, "mlp_forward", spy)
    before = blas_threads()
    if not before:
        pytest.skip("threadpoolctl finds no BLAS library in this process")
    X, y = data.blobs(n=40, seed=2, labels="int")
    params = dnp.mlp_init([2, 3, 2], rng=np.random.default_rng(0))
    dnp.mlp_train(params, X, y, epochs=1, lr=0.1, rng=np.random.default_rng(0), progress=False)
    assert during and all(threads == [1] * len(before) for threads in during)
    assert blas_threads() == before


def test_training_is_reproducible_and_without_validation_leaves_val_lists_empty():
    X, y = data.blobs(n=60, seed=1, labels="int")
    runs = [
        dnp.mlp_train(
            dnp.mlp_init([2, 4, 2], rng=np.random.default_rng(3)),
            X,
            y,
            epochs=3,
            lr=0.1,
            rng=np.random.default_rng(3),
            progress=False,
        )
        for _ in range(2)
    ]
    assert all(np.array_equal(p, q) for p, q in zip(runs[0].params, runs[1].params, strict=True))
    assert runs[0].history["val_loss"] == runs[0].history["val_acc"] == []


@pytest.mark.filterwarnings("ignore:overflow encountered")
def test_divergence_raises_floating_point_error(rng):
    x, y = rng.normal(size=(32, 4)) * 1e3, rng.integers(0, 3, size=32)
    params = dnp.mlp_init([4, 64, 64, 3], rng=rng)
    with pytest.raises(FloatingPointError, match="epoch"):
        dnp.mlp_train(params, x, y, epochs=50, lr=1e12, rng=rng, progress=False)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda p, x, y, r: dnp.mlp_init([3], rng=r), "sizes"),
        (lambda p, x, y, r: dnp.mlp_init([3, 0], rng=r), "sizes"),
        (lambda p, x, y, r: dnp.mlp_init([3, 2], rng=0), "rng"),
        (lambda p, x, y, r: dnp.mlp_init([3, 2], rng=r, init="lecun"), "init"),
        (lambda p, x, y, r: dnp.mlp_forward(p, x[:, :2]), r"x must have shape \(N, 3\)"),
        (lambda p, x, y, r: dnp.mlp_forward(p[:3], x), "params"),
        (lambda p, x, y, r: dnp.mlp_forward([p[0], p[1], p[0], p[3]], x), "w2 must have shape"),
        (lambda p, x, y, r: dnp.mlp_forward([p[0], p[3], p[2], p[3]], x), "b1 must have shape"),
        (lambda p, x, y, r: dnp.mlp_forward(p, x, "swish"), "activation"),
        (lambda p, x, y, r: dnp.mlp_forward(p, np.full((2, 3), np.nan)), "NaN"),
        (lambda p, x, y, r: dnp.mlp_backward(np.ones((4, 2)), None), "MLPCache"),
        (lambda p, x, y, r: dnp.mlp_backward(np.ones((5, 2)), dnp.mlp_forward(p, x)[1]), "dlogits"),
        (lambda p, x, y, r: dnp.mlp_train(p, x, y + 5, epochs=1, lr=0.1, rng=r), "labels"),
        (lambda p, x, y, r: dnp.mlp_train(p, x, y[:3], epochs=1, lr=0.1, rng=r), "length"),
        (lambda p, x, y, r: dnp.mlp_train(p, x, y, epochs=0, lr=0.1, rng=r), "epochs"),
        (lambda p, x, y, r: dnp.mlp_train(p, x, y, epochs=1, lr=-1, rng=r), "lr"),
        (
            lambda p, x, y, r: dnp.mlp_train(p, x, y, epochs=1, lr=0.1, rng=r, batch_size=0),
            "batch_size",
        ),
        (lambda p, x, y, r: dnp.mlp_train(p, x, y, epochs=1, lr=0.1, rng=None), "rng"),
        (lambda p, x, y, r: dnp.mlp_train(p, x, y, epochs=1, lr=0.1, rng=r, x_val=x), "together"),
    ],
)
def test_bad_input_raises_value_error(call, match):
    r = np.random.default_rng(0)
    params = dnp.mlp_init([3, 4, 2], rng=r)
    x, y = r.normal(size=(4, 3)), np.array([0, 1, 1, 0])
    with pytest.raises(ValueError, match=match):
        call(params, x, y, r)
