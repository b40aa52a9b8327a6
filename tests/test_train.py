"""fit's extension points: callbacks, gradient clipping, per-step schedules, AMP, EpochMeter."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import dlbook.torch as dtorch


def _problem(seed: int = 0, n: int = 64):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, generator=g)
    y = (x[:, 0] > 0).long()
    torch.manual_seed(seed)
    model = nn.Linear(3, 2)
    return model, dtorch.TensorBatches(x, y, 16), x, y


class Recorder(dtorch.Callback):
    def __init__(self, stop_at_epoch: int | None = None):
        self.events: list[tuple] = []
        self.stop_at_epoch = stop_at_epoch

    def on_train_begin(self, model):
        self.events.append(("begin",))

    def on_batch_end(self, step, model):
        self.events.append(("batch", step))

    def on_epoch_end(self, epoch, history, model):
        self.events.append(("epoch", epoch, len(history)))
        return epoch == self.stop_at_epoch

    def on_train_end(self, model):
        self.events.append(("end",))


def test_callbacks_run_in_order_and_can_stop():
    model, batches, _, _ = _problem()
    rec = Recorder(stop_at_epoch=2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    history = dtorch.fit(
        model, batches, nn.CrossEntropyLoss(), opt, epochs=5, device="cpu", callbacks=[rec]
    )
    assert len(history) == 2
    assert rec.events[0] == ("begin",) and rec.events[-1] == ("end",)
    assert [e for e in rec.events if e[0] == "epoch"] == [("epoch", 1, 1), ("epoch", 2, 2)]
    assert [e[1] for e in rec.events if e[0] == "batch"] == list(range(1, 9))


def test_callbacks_are_validated():
    model, batches, _, _ = _problem()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="callbacks"):
        dtorch.fit(model, batches, nn.CrossEntropyLoss(), opt, epochs=1, callbacks=[object()])


def test_early_stopping_callback_stops_and_restores_best():
    model, batches, x, y = _problem()
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    # the validation set has flipped labels: validation loss rises as training fits
    stopper = dtorch.EarlyStopping(2)
    history = dtorch.fit(
        model,
        batches,
        nn.CrossEntropyLoss(),
        opt,
        epochs=50,
        device="cpu",
        val_loader=[(x, 1 - y)],
        callbacks=[stopper],
        progress=False,
    )
    assert stopper.stopped and len(history) < 50
    assert len(history) == stopper.best_epoch + 2
    best = min(history.val_loss)
    val_loss, _ = dtorch.evaluate(model, [(x, 1 - y)], nn.CrossEntropyLoss())
    assert val_loss == pytest.approx(best, rel=1e-6)  # the best weights were restored


def test_early_stopping_needs_the_monitored_list():
    model, batches, _, _ = _problem()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="val_loss"):
        dtorch.fit(
            model, batches, nn.CrossEntropyLoss(), opt, epochs=2,
            callbacks=[dtorch.EarlyStopping(1)],
        )  # fmt: skip
    with pytest.raises(ValueError, match="monitor"):
        dtorch.EarlyStopping(1, monitor="nope")


def test_clip_grad_norm_bounds_the_step():
    # with SGD lr=1 and one batch, the parameter change equals the (clipped) gradient
    model, _, x, y = _problem()
    before = [p.detach().clone() for p in model.parameters()]
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    big = lambda out, t: 1e4 * nn.functional.cross_entropy(out, t)  # noqa: E731
    dtorch.fit(model, [(x, y)], big, opt, epochs=1, device="cpu", clip_grad_norm=0.5)
    step = torch.cat(
        [(p.detach() - b).flatten() for p, b in zip(model.parameters(), before, strict=True)]
    )
    assert step.norm().item() == pytest.approx(0.5, rel=1e-5)
    with pytest.raises(ValueError, match="clip_grad_norm"):
        dtorch.fit(model, [(x, y)], big, opt, epochs=1, clip_grad_norm=-1.0)


@pytest.mark.parametrize("interval, expected_steps", [("epoch", 3), ("batch", 12)])
def test_scheduler_interval(interval, expected_steps):
    model, batches, _, _ = _problem()
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: 0.5**k)
    dtorch.fit(
        model, batches, nn.CrossEntropyLoss(), opt, epochs=3, device="cpu",
        scheduler=sched, scheduler_interval=interval,
    )  # fmt: skip
    assert opt.param_groups[0]["lr"] == pytest.approx(0.5**expected_steps)
    with pytest.raises(ValueError, match="scheduler_interval"):
        dtorch.fit(model, batches, nn.CrossEntropyLoss(), opt, epochs=1, scheduler_interval="x")


def test_time_limit_stops_mid_epoch():
    model, batches, _, _ = _problem(n=4096)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    limit = dtorch.TimeLimit(1e-9)
    history = dtorch.fit(
        model, batches, nn.CrossEntropyLoss(), opt, epochs=3, device="cpu", callbacks=[limit]
    )
    assert len(history) == 1 and limit.steps == 1
    with pytest.raises(ValueError, match="seconds"):
        dtorch.TimeLimit(0)


def test_amp_bf16_on_cpu_trains_and_rejects_bad_dtype():
    model, batches, _, _ = _problem()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    h = dtorch.fit(
        model, batches, nn.CrossEntropyLoss(), opt, epochs=2, device="cpu", amp_dtype="bf16"
    )
    assert all(math.isfinite(v) for v in h.train_loss)
    assert next(model.parameters()).dtype == torch.float32  # autocast leaves the weights alone
    with pytest.raises(ValueError, match="amp_dtype"):
        dtorch.fit(model, batches, nn.CrossEntropyLoss(), opt, epochs=1, amp_dtype="int8")


def test_channels_last_gives_the_same_result():
    torch.manual_seed(0)
    x, y = torch.randn(8, 1, 28, 28), torch.arange(8) % 10
    losses = []
    for cl in (False, True):
        torch.manual_seed(1)
        model = dtorch.LeNet()
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
        h = dtorch.fit(
            model, [(x, y)], nn.CrossEntropyLoss(), opt, epochs=2, device="cpu", channels_last=cl
        )
        losses.append(h.train_loss)
    assert losses[0] == pytest.approx(losses[1], rel=1e-4)


def test_epoch_meter_means_and_single_read():
    meter = dtorch.EpochMeter("cpu")
    meter.add("loss", torch.tensor(2.0), n=3)  # batch mean 2 over 3 examples
    meter.add("loss", torch.tensor(4.0), n=1)
    meter.add_sum("acc", torch.tensor(3.0), n=4)
    meter.add("reward", 10.0)
    assert meter.read() == {"loss": pytest.approx(2.5), "acc": 0.75, "reward": 10.0}
    assert meter.counts == {"loss": 4, "acc": 4, "reward": 1}
    meter.reset()
    assert meter.read() == {}


def test_fit_accuracy_still_uses_label_checks():
    # probability targets that are not distributions switch accuracy off
    model, _, x, _ = _problem()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    y_bad = torch.full((len(x), 2), 0.9)
    h = dtorch.fit(model, [(x, y_bad)], nn.MSELoss(), opt, epochs=1, device="cpu")
    assert h.train_acc == []
