"""Tests for dlbook.torch: device choice, seeding, the training loop, batching and models."""

from __future__ import annotations

import io
import math
import random
import sys
import types

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import dlbook.torch as dtorch


@pytest.fixture(autouse=True)
def _seeded_and_loud(monkeypatch):
    """Seed torch for each test and keep DLBOOK_QUIET from leaking in from the environment."""
    torch.manual_seed(0)
    monkeypatch.delenv("DLBOOK_QUIET", raising=False)
    monkeypatch.delenv("PYTHONHASHSEED", raising=False)
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)


def blobs(n=64, seed=0):
    """Two well-separated Gaussian blobs in 2-D: x (n, 2) float32, y (n,) int64 in {0, 1}."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    centres = torch.tensor([[-2.0, -2.0], [2.0, 2.0]])
    x = centres[y] + 0.5 * torch.randn(n, 2, generator=g)
    return x, y


# --- device ------------------------------------------------------------------------------------


def test_get_device_matches_what_is_available():
    expected = (
        "cuda"
        if torch.cuda.is_available()
        else "mps"
        if torch.backends.mps.is_available()
        else "cpu"
    )
    assert dtorch.get_device().type == expected


@pytest.mark.parametrize(
    ("cuda", "mps", "expected"),
    [(False, False, "cpu"), (False, True, "mps"), (True, False, "cuda"), (True, True, "cuda")],
)
def test_get_device_prefers_cuda_then_mps(monkeypatch, cuda, mps, expected):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    device = dtorch.get_device()
    assert isinstance(device, torch.device)
    assert device.type == expected


# --- seeding -----------------------------------------------------------------------------------


def _draws():
    return (
        torch.rand(5).tolist(),
        np.random.rand(5).tolist(),  # noqa: NPY002 (the legacy global RNG is what is seeded)
        [random.random() for _ in range(5)],
    )


def test_seed_everything_repeats_every_generator():
    dtorch.seed_everything(123)
    first = _draws()
    dtorch.seed_everything(123)
    assert _draws() == first
    dtorch.seed_everything(124)
    other = _draws()
    assert all(a != b for a, b in zip(other, first, strict=True))


def test_seed_everything_sets_pythonhashseed():
    dtorch.seed_everything(7)
    import os

    assert os.environ["PYTHONHASHSEED"] == "7"


@pytest.mark.parametrize("seed", [-1, 2**32, 1.5, "3", None, True])
def test_seed_everything_rejects_bad_seeds(seed):
    with pytest.raises(ValueError, match="seed"):
        dtorch.seed_everything(seed)


def test_seed_everything_deterministic_sets_flags():
    before = (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
        torch.backends.cudnn.deterministic,
        torch.backends.cudnn.benchmark,
    )
    try:
        dtorch.seed_everything(0, deterministic=True)
        assert torch.are_deterministic_algorithms_enabled()
        assert torch.is_deterministic_algorithms_warn_only_enabled()
        assert torch.backends.cudnn.deterministic
        assert not torch.backends.cudnn.benchmark
    finally:
        torch.use_deterministic_algorithms(before[0], warn_only=before[1])
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = before[2:]


# --- TensorBatches -----------------------------------------------------------------------------


def test_tensor_batches_covers_each_sample_once_per_epoch():
    x = torch.arange(10).float().unsqueeze(1)
    y = torch.arange(10)
    batches = dtorch.TensorBatches(
        x, y, 3, shuffle=True, generator=torch.Generator().manual_seed(0)
    )
    assert len(batches) == 4
    orders = []
    for _ in range(3):
        epoch = list(batches)
        assert [len(b[1]) for b in epoch] == [3, 3, 3, 1]
        seen = torch.cat([b[1] for b in epoch])
        assert sorted(seen.tolist()) == list(range(10))
        # x and y stay paired through the shuffle
        assert torch.equal(torch.cat([b[0] for b in epoch]).squeeze(1).long(), seen)
        orders.append(seen.tolist())
    assert orders[0] != orders[1] or orders[1] != orders[2]  # reshuffled between epochs


def test_tensor_batches_shuffle_is_reproducible_with_a_seeded_generator():
    x, y = torch.arange(20).float(), torch.arange(20)

    def epochs(seed):
        b = dtorch.TensorBatches(
            x, y, 4, shuffle=True, generator=torch.Generator().manual_seed(seed)
        )
        return [torch.cat([yb for _, yb in b]).tolist() for _ in range(2)]

    assert epochs(1) == epochs(1)
    assert epochs(1) != epochs(2)


def test_tensor_batches_without_shuffle_keeps_order_and_drop_last():
    x, y = torch.arange(10).float(), torch.arange(10)
    batches = dtorch.TensorBatches(x, y, 4, drop_last=True)
    assert len(batches) == 2
    assert [yb.tolist() for _, yb in batches] == [[0, 1, 2, 3], [4, 5, 6, 7]]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 2.5}, "batch_size"),
        ({"y": torch.zeros(9)}, "same number of samples"),
        ({"x": np.zeros(10)}, "x must be a torch.Tensor"),
    ],
)
def test_tensor_batches_validates(kwargs, match):
    args = {"x": torch.zeros(10, 2), "y": torch.zeros(10), "batch_size": 4, **kwargs}
    with pytest.raises(ValueError, match=match):
        dtorch.TensorBatches(**args)


# --- fit / evaluate / predict ------------------------------------------------------------------


def test_fit_learns_a_linearly_separable_problem():
    x, y = blobs()
    model = dtorch.MLP([2, 2])
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    batches = dtorch.TensorBatches(
        x, y, 16, shuffle=True, generator=torch.Generator().manual_seed(0)
    )
    history = dtorch.fit(model, batches, F.cross_entropy, opt, epochs=8, device="cpu")
    assert len(history) == 8
    for key in ("train_loss", "train_acc", "epoch_time"):
        assert len(getattr(history, key)) == 8
    assert history.val_loss == [] and history.val_acc == []
    assert history.train_loss[-1] < 0.5 * history.train_loss[0]
    assert history.train_acc[-1] == 1.0
    assert all(t > 0 for t in history.epoch_time)
    assert set(history.as_dict()) == {
        "train_loss",
        "train_acc",
        "val_loss",
        "val_acc",
        "epoch_time",
    }


def test_fit_mean_loss_is_per_example_not_per_batch():
    x, y = blobs(13)
    x = x + 1.5 * torch.randn(13, 2)  # overlap, so that the losses differ between batches
    model = dtorch.MLP([2, 2])
    loader = [(x[i : i + 5], y[i : i + 5]) for i in range(0, 13, 5)]  # batches of 5, 5, 3
    opt = torch.optim.SGD(model.parameters(), lr=0.0)  # lr 0: the model stays as it is
    history = dtorch.fit(model, loader, F.cross_entropy, opt, epochs=1, device="cpu")
    with torch.no_grad():
        full = F.cross_entropy(model(x), y).item()
        per_batch = float(np.mean([F.cross_entropy(model(a), b).item() for a, b in loader]))
        acc = (model(x).argmax(1) == y).float().mean().item()
    assert abs(full - per_batch) > 1e-4  # otherwise this test could not tell the two apart
    assert history.train_loss[0] == pytest.approx(full, rel=1e-6)
    assert history.train_acc[0] == pytest.approx(acc)
    loss, eval_acc = dtorch.evaluate(model, loader, F.cross_entropy, device="cpu")
    assert loss == pytest.approx(full, rel=1e-6)
    assert eval_acc == pytest.approx(acc)


@pytest.fixture
def host_syncs(monkeypatch):
    """Count every Tensor.item / tolist / float() / bool() call, the ways to read a tensor back."""
    calls = []
    for name in ("item", "tolist", "__float__", "__bool__"):
        original = getattr(torch.Tensor, name)

        def wrapper(self, *args, _original=original, _name=name, **kwargs):
            calls.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, wrapper)
    return calls


@pytest.mark.parametrize("with_val", [False, True])
def test_fit_syncs_with_the_host_once_per_epoch(host_syncs, with_val):
    x, y = blobs(64)
    counts = {}
    for batch_size in (32, 4):  # 2 and 16 batches per epoch
        model = dtorch.MLP([2, 8, 2])
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        batches = dtorch.TensorBatches(x, y, batch_size)
        val = dtorch.TensorBatches(x, y, batch_size) if with_val else None
        host_syncs.clear()
        dtorch.fit(model, batches, F.cross_entropy, opt, epochs=3, val_loader=val, device="cpu")
        counts[batch_size] = len(host_syncs)
    assert counts[4] == counts[32]
    assert counts[4] == 3 * (2 if with_val else 1)  # one read per training pass (+ validation)


def test_evaluate_syncs_once(host_syncs):
    x, y = blobs(64)
    dtorch.evaluate(dtorch.MLP([2, 2]), dtorch.TensorBatches(x, y, 4), F.cross_entropy)
    assert len(host_syncs) == 1


def test_fit_records_validation_history():
    x, y = blobs(64)
    xv, yv = blobs(32, seed=1)
    model = dtorch.MLP([2, 2])
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    history = dtorch.fit(
        model,
        dtorch.TensorBatches(x, y, 16),
        F.cross_entropy,
        opt,
        epochs=4,
        val_loader=[(xv, yv)],
        device="cpu",
    )
    assert len(history.val_loss) == len(history.val_acc) == 4
    loss, acc = dtorch.evaluate(model, [(xv, yv)], F.cross_entropy)
    assert history.val_loss[-1] == pytest.approx(loss)
    assert history.val_acc[-1] == acc == 1.0


def test_fit_binary_logits_and_regression_accuracy_rules():
    x, y = blobs(64)
    model = dtorch.MLP([2, 1])
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    binary = [(x, y.float().unsqueeze(1))]
    history = dtorch.fit(model, binary, F.binary_cross_entropy_with_logits, opt, epochs=5)
    assert len(history.train_acc) == 5 and history.train_acc[-1] == 1.0

    history = dtorch.fit(
        model, binary, F.binary_cross_entropy_with_logits, opt, epochs=1, accuracy=False
    )
    assert history.train_acc == []

    target = x.sum(1, keepdim=True) * 0.3  # real-valued targets: accuracy is meaningless
    reg = dtorch.MLP([2, 1])
    opt = torch.optim.SGD(reg.parameters(), lr=0.05)
    history = dtorch.fit(reg, [(x, target)], F.mse_loss, opt, epochs=5)
    assert history.train_acc == [] and len(history.train_loss) == 5
    assert history.train_loss[-1] < history.train_loss[0]


def test_fit_steps_the_scheduler_once_per_epoch():
    x, y = blobs(64)
    model = dtorch.MLP([2, 2])
    opt = torch.optim.SGD(model.parameters(), lr=0.8)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    dtorch.fit(
        model, dtorch.TensorBatches(x, y, 8), F.cross_entropy, opt, epochs=3, scheduler=sched
    )
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1)


def test_fit_gives_reduce_lr_on_plateau_the_epoch_loss():
    x, y = blobs(16)
    model = dtorch.MLP([2, 2])
    opt = torch.optim.SGD(model.parameters(), lr=0.8)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=0)

    def flat_loss(out, target):
        return out.sum() * 0 + 1.0  # never improves

    dtorch.fit(model, [(x, y)], flat_loss, opt, epochs=3, scheduler=sched, val_loader=[(x, y)])
    assert opt.param_groups[0]["lr"] == pytest.approx(0.2)  # halved after epochs 2 and 3


def test_fit_raises_on_nan_loss_naming_the_epoch():
    x, y = blobs(16)
    model = dtorch.MLP([2, 2])
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    calls = []

    def loss_fn(out, target):
        calls.append(1)
        loss = F.cross_entropy(out, target)
        return loss * float("nan") if len(calls) > 4 else loss  # NaN from the 2nd epoch on

    batches = dtorch.TensorBatches(x, y, 4)
    with pytest.raises(FloatingPointError, match="epoch 2"):
        dtorch.fit(model, batches, loss_fn, opt, epochs=3)


@pytest.mark.parametrize("epochs", [0, -1, 1.5, True, "3", None])
def test_fit_rejects_bad_epochs(epochs):
    x, y = blobs(8)
    model = dtorch.MLP([2, 2])
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="epochs"):
        dtorch.fit(model, [(x, y)], F.cross_entropy, opt, epochs=epochs)


@pytest.mark.parametrize("loader", [[], iter([])], ids=["empty-list", "empty-iterator"])
def test_fit_rejects_an_empty_loader(loader):
    model = dtorch.MLP([2, 2])
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="train_loader"):
        dtorch.fit(model, loader, F.cross_entropy, opt, epochs=1)


def test_fit_rejects_an_empty_val_loader():
    x, y = blobs(8)
    model = dtorch.MLP([2, 2])
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="val_loader"):
        dtorch.fit(model, [(x, y)], F.cross_entropy, opt, epochs=1, val_loader=[])


@pytest.mark.parametrize("training", [True, False])
def test_evaluate_uses_eval_mode_and_restores_the_mode(training):
    x, y = blobs(64)
    model = nn.Sequential(nn.Linear(2, 32), nn.Dropout(0.5), nn.Linear(32, 2))
    model.train(training)
    first = dtorch.evaluate(model, [(x, y)], F.cross_entropy)
    second = dtorch.evaluate(model, [(x, y)], F.cross_entropy)
    assert first == second  # dropout is off, so evaluation is deterministic
    assert model.training is training
    assert all(m.training is training for m in model.modules())
    model.train()
    with torch.no_grad():
        noisy = F.cross_entropy(model(x), y).item()
    assert noisy != pytest.approx(first[0])  # in training mode dropout would have changed it


def test_fit_leaves_gradients_cleared_and_restores_mode():
    x, y = blobs(16)
    model = dtorch.MLP([2, 2])
    model.eval()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    dtorch.fit(model, [(x, y)], F.cross_entropy, opt, epochs=1)
    assert all(p.grad is None for p in model.parameters())
    assert not model.training


def test_predict_matches_the_model_in_eval_mode():
    x, _ = blobs(50)
    model = nn.Sequential(nn.Linear(2, 16), nn.Dropout(0.5), nn.Linear(16, 3))
    out = dtorch.predict(model, x, batch_size=7)
    assert out.shape == (50, 3) and out.device.type == "cpu" and not out.requires_grad
    assert model.training  # mode restored
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(out, model(x))
    torch.testing.assert_close(dtorch.predict(model, x.numpy()), out)


@pytest.mark.parametrize(("x", "batch_size"), [(torch.zeros(0, 2), 4), (torch.zeros(3, 2), 0)])
def test_predict_validates(x, batch_size):
    with pytest.raises(ValueError, match="x must|batch_size"):
        dtorch.predict(dtorch.MLP([2, 2]), x, batch_size=batch_size)


# --- progress ----------------------------------------------------------------------------------


def _fit_quickly(**kwargs):
    x, y = blobs(16)
    model = dtorch.MLP([2, 2])
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    return dtorch.fit(model, [(x, y)], F.cross_entropy, opt, epochs=2, **kwargs)


def _fake_ipython(monkeypatch, kernel):
    shell = types.SimpleNamespace(kernel=kernel)
    ipython = types.ModuleType("IPython")
    ipython.get_ipython = lambda: shell
    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
    monkeypatch.setitem(sys.modules, "IPython", ipython)


@pytest.fixture
def in_a_kernel(monkeypatch):
    """Pretend to run inside a Jupyter kernel, where the bar is shown by default."""
    _fake_ipython(monkeypatch, kernel=object())


def test_progress_is_shown_in_a_kernel(in_a_kernel, capsys):
    _fit_quickly()
    err = capsys.readouterr().err
    assert "2/2" in err and "loss=" in err


def test_progress_is_quiet_under_dlbook_quiet(in_a_kernel, monkeypatch, capsys):
    monkeypatch.setenv("DLBOOK_QUIET", "1")
    _fit_quickly()
    assert capsys.readouterr().err == ""
    _fit_quickly(progress=True)  # an explicit True wins
    assert "2/2" in capsys.readouterr().err


@pytest.mark.parametrize("ipykernel_imported", [False, True])
def test_progress_is_quiet_when_stderr_is_not_a_terminal(monkeypatch, capsys, ipykernel_imported):
    # pytest's captured stderr is no TTY; ipykernel may be imported (nbval does) with no kernel
    if ipykernel_imported:
        _fake_ipython(monkeypatch, kernel=None)
    else:
        monkeypatch.delitem(sys.modules, "ipykernel", raising=False)
    _fit_quickly()
    assert capsys.readouterr().err == ""


# --- models ------------------------------------------------------------------------------------


def test_mlp_layers_and_shapes():
    model = dtorch.MLP([2, 4, 3, 1], "tanh")
    assert isinstance(model, nn.Sequential)
    kinds = [type(m) for m in model]
    assert kinds == [nn.Linear, nn.Tanh, nn.Linear, nn.Tanh, nn.Linear]
    assert [tuple(p.shape) for p in model.parameters()] == [
        (4, 2),
        (4,),
        (3, 4),
        (3,),
        (1, 3),
        (1,),
    ]
    assert model(torch.zeros(5, 2)).shape == (5, 1)
    assert list(dict(model.named_parameters()))[:2] == ["0.weight", "0.bias"]


def test_mlp_final_activation():
    model = dtorch.MLP([3, 2], final_activation="sigmoid")
    assert [type(m) for m in model] == [nn.Linear, nn.Sigmoid]
    out = model(torch.randn(8, 3) * 10)
    assert torch.all((out > 0) & (out < 1))
    assert isinstance(dtorch.MLP([3, 5, 2])[1], nn.ReLU)


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        (([3],), {}, "sizes"),
        (([2, 0, 1],), {}, "sizes"),
        (([2, 2.5],), {}, "sizes"),
        ((5,), {}, "sizes"),
        (([2, 3], "gelu"), {}, "activation"),
        (([2, 3],), {"final_activation": "softmax"}, "final_activation"),
    ],
)
def test_mlp_validates(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        dtorch.MLP(*args, **kwargs)


def test_history_len_and_as_dict_copy():
    history = dtorch.History(train_loss=[1.0, 0.5], epoch_time=[0.1, 0.1])
    assert len(history) == 2
    d = history.as_dict()
    d["train_loss"].append(0.0)
    assert history.train_loss == [1.0, 0.5] and math.isclose(d["train_loss"][1], 0.5)


def test_progress_is_shown_in_a_terminal(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    _fit_quickly()
    assert "2/2" in terminal.getvalue()


def test_notebook_bar_stores_its_final_state(monkeypatch):
    """In a kernel the bar is displayed with a display id and re-displayed when it closes."""
    pytest.importorskip("ipywidgets")
    import IPython.display

    from dlbook import progress

    calls = []

    class Handle:
        def update(self, obj):
            calls.append(("update", repr(obj)))

    def fake_display(obj, display_id=None):
        calls.append(("display", display_id))
        return Handle()

    monkeypatch.setattr(IPython.display, "display", fake_display)
    monkeypatch.setattr(progress, "_in_jupyter_kernel", lambda: True)
    monkeypatch.delenv("DLBOOK_QUIET", raising=False)
    bar = progress.progress_bar(3, desc="fit", unit="epoch")
    for _ in range(3):
        bar.update(1)
    bar.close()
    assert calls[0] == ("display", True)
    assert calls[-1][0] == "update" and "3/3" in calls[-1][1]
