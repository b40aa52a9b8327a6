"""dlbook.torch.checkpoint: atomic save, safe load, early stopping that keeps the best model."""

from __future__ import annotations

import pickle

import pytest
import torch
from torch import nn

import dlbook.torch as dtorch
from dlbook.torch import checkpoint


def small_model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))


def same_weights(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_save_and_load_round_trip_model_and_optimizer(tmp_path):
    model = small_model()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    model(torch.randn(5, 3)).sum().backward()
    opt.step()
    path = dtorch.save_checkpoint(
        tmp_path / "ck.pt", {"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 7}
    )
    state = dtorch.load_checkpoint(path)
    other = small_model(seed=1)
    assert not same_weights(model, other)
    other.load_state_dict(state["model"])
    assert same_weights(model, other) and state["epoch"] == 7
    opt2 = torch.optim.Adam(other.parameters(), lr=0.01)
    opt2.load_state_dict(state["optimizer"])
    assert torch.equal(
        opt2.state_dict()["state"][0]["exp_avg"],
        opt.state[opt.param_groups[0]["params"][0]]["exp_avg"],
    )


def test_failed_save_keeps_the_old_checkpoint_and_leaves_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "ck.pt"
    dtorch.save_checkpoint(path, {"epoch": 1})

    def broken_save(obj, f):
        f.write(b"partial bytes")
        raise OSError("disk full")

    monkeypatch.setattr(checkpoint.torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        dtorch.save_checkpoint(path, {"epoch": 2})
    monkeypatch.undo()
    assert dtorch.load_checkpoint(path) == {"epoch": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck.pt"]


class Arbitrary:
    """Not a tensor or a container: weights_only loading must refuse it."""


def test_load_refuses_arbitrary_objects(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"x": Arbitrary()}, path)
    with pytest.raises(pickle.UnpicklingError):
        dtorch.load_checkpoint(path)


def test_save_and_load_reject_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="state must be a dict"):
        dtorch.save_checkpoint(tmp_path / "a.pt", [1, 2])
    with pytest.raises(ValueError, match="folder of path does not exist"):
        dtorch.save_checkpoint(tmp_path / "missing" / "a.pt", {})
    with pytest.raises(ValueError, match="no checkpoint at"):
        dtorch.load_checkpoint(tmp_path / "nothing.pt")
    with pytest.raises(ValueError, match="path must be a str"):
        dtorch.save_checkpoint(3, {})


def test_early_stopping_counts_patience_and_keeps_the_best(tmp_path):
    model = small_model()
    stopper = dtorch.EarlyStopping(patience=2, path=tmp_path / "best.pt")
    losses = [1.0, 0.5, 0.7, 0.4, 0.6, 0.45, 0.3]
    stops = []
    best_weights = None
    for loss in losses:
        with torch.no_grad():
            for p in model.parameters():
                p.add_(1.0)  # a different model every epoch
        if loss == 0.4:
            best_weights = {k: v.clone() for k, v in model.state_dict().items()}
        stops.append(stopper.step(loss, model))
        if stops[-1]:
            break
    assert stops == [False, False, False, False, False, True]
    assert stopper.best == 0.4 and stopper.best_epoch == 4 and stopper.epoch == 6
    stopper.restore(model)
    assert all(torch.equal(model.state_dict()[k], v) for k, v in best_weights.items())
    assert dtorch.load_checkpoint(tmp_path / "best.pt")["epoch"] == 4


def test_early_stopping_in_memory_mode_max_min_delta_and_nan():
    model = small_model()
    stopper = dtorch.EarlyStopping(patience=3, mode="max", min_delta=0.05)
    assert not stopper.step(0.80, model)
    assert not stopper.step(0.84, model)  # + 0.04 < min_delta: not an improvement
    assert not stopper.step(float("nan"), model)  # NaN never improves
    assert stopper.step(0.70, model)
    assert stopper.best == 0.80 and stopper.best_epoch == 1 and stopper.bad_epochs == 3
    other = small_model(seed=1)
    stopper.restore(other)
    assert same_weights(model, other)


def test_early_stopping_restore_before_any_save_raises(tmp_path):
    (tmp_path / "best.pt").write_bytes(b"stale file from an earlier run")
    stopper = dtorch.EarlyStopping(patience=1, path=tmp_path / "best.pt")
    with pytest.raises(ValueError, match="no checkpoint saved yet"):
        stopper.restore(small_model())


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"patience": 0}, "patience must be an int >= 1"),
        ({"patience": 2.5}, "patience must be an int >= 1"),
        ({"patience": 2, "min_delta": -1.0}, "min_delta must be a number >= 0"),
        ({"patience": 2, "mode": "best"}, "mode must be 'min' or 'max'"),
        ({"patience": 2, "path": 5}, "path must be a str"),
    ],
)
def test_early_stopping_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        dtorch.EarlyStopping(**kwargs)


def test_early_stopping_rejects_a_non_number():
    with pytest.raises(ValueError, match="value must be a number"):
        dtorch.EarlyStopping(patience=1).step("0.5")
