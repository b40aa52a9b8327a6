"""Training and evaluation loops that sync with the device once per epoch.

A GPU runs ahead of Python: every `.item()` makes the CPU wait
for the GPU to finish all queued work. So the loops below keep running sums of the loss and of
the correct predictions in device tensors and read them back once per epoch.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields

import torch
from torch import nn

from dlbook.checks import check_choice, check_positive
from dlbook.progress import progress_bar
from dlbook.torch.device import get_device
from dlbook.torch.perf import _amp_dtype, autocast, to_channels_last

__all__ = [
    "Callback",
    "EpochMeter",
    "History",
    "TensorBatches",
    "TimeLimit",
    "evaluate",
    "fit",
    "predict",
]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass
class History:
    """Per-epoch metrics returned by `fit`; each list has one entry per finished epoch.

    The accuracy lists stay empty when accuracy is off or not meaningful (e.g. regression), and
    the validation lists stay empty without a `val_loader`. `epoch_time` is wall-clock seconds,
    validation included.
    """

    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    epoch_time: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[float]]:
        """Return a copy as a plain dict of lists (for JSON, pandas or `plot.learning_curves`)."""
        return {f.name: list(getattr(self, f.name)) for f in fields(self)}

    def __len__(self) -> int:
        return len(self.train_loss)


class TensorBatches:
    """Mini-batches `(x[i:i+B], y[i:i+B])` sliced from tensors held in memory.

    x is (N, ...) and y is (N, ...). Unlike a `DataLoader` there is no per-sample indexing, no
    collation and no worker process: one gather per epoch (when shuffling), then views. Put the
    tensors on the device first (or pass `device`), so that every batch is already there.

    Each `iter()` is one epoch. With `shuffle=True` each epoch draws a new permutation from
    `generator` (a seeded `torch.Generator` makes the order reproducible). `len()` is the number
    of batches per epoch; `drop_last=True` drops a final batch smaller than `batch_size`.
    """

    def __init__(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        batch_size: int,
        *,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
        drop_last: bool = False,
        device: torch.device | str | None = None,
    ) -> None:
        for name, t in (("x", x), ("y", y)):
            if not isinstance(t, torch.Tensor):
                raise ValueError(f"{name} must be a torch.Tensor; got {type(t).__name__}")
            if t.ndim == 0:
                raise ValueError(f"{name} must have a leading sample axis (N, ...); got a scalar")
        if len(x) != len(y):
            raise ValueError(
                f"x and y must have the same number of samples; x has {len(x)}, y has {len(y)}"
            )
        if len(x) == 0:
            raise ValueError("x and y are empty; expected at least one sample")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(f"batch_size must be a positive int; got {batch_size!r}")
        if generator is not None and not isinstance(generator, torch.Generator):
            raise ValueError(f"generator must be a torch.Generator or None; got {generator!r}")
        if device is not None:
            x, y = x.to(device), y.to(device)
        self.x, self.y = x, y
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator
        self.drop_last = drop_last

    def __len__(self) -> int:
        n, b = len(self.x), self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        x, y = self.x, self.y
        if self.shuffle:
            gen_device = self.generator.device if self.generator is not None else x.device
            perm = torch.randperm(len(x), generator=self.generator, device=gen_device)
            # one gather per epoch; the batches below are then contiguous views
            x, y = x[perm.to(x.device)], y[perm.to(y.device)]
        stop = len(self) * self.batch_size
        for start in range(0, min(stop, len(x)), self.batch_size):
            yield x[start : start + self.batch_size], y[start : start + self.batch_size]


def _check_epochs(epochs: object) -> int:
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs <= 0:
        raise ValueError(f"epochs must be a positive int; got {epochs!r}")
    return epochs


def _check_not_empty(name: str, loader: Iterable) -> None:
    try:
        n = len(loader)  # type: ignore[arg-type]
    except TypeError:
        return  # an iterable without len(); emptiness is caught after the first pass
    if n == 0:
        raise ValueError(f"{name} is empty; expected at least one (x, y) batch")


def _to(x: object, device: torch.device) -> object:
    if isinstance(x, torch.Tensor):
        return x.to(device, non_blocking=True)
    if isinstance(x, tuple | list):
        return type(x)(_to(t, device) for t in x)
    return x


def _unpack(batch: object, name: str) -> tuple[object, torch.Tensor]:
    if not isinstance(batch, tuple | list) or len(batch) != 2:
        raise ValueError(f"{name} must yield (x, y) pairs; got a {type(batch).__name__}")
    x, y = batch
    if not isinstance(y, torch.Tensor) or y.ndim == 0:
        raise ValueError(f"{name} must yield targets y as tensors of shape (B, ...)")
    return x, y


def _forward(model: nn.Module, x: object) -> torch.Tensor:
    return model(*x) if isinstance(x, tuple | list) else model(x)


def _acc_dtype(device: torch.device) -> torch.dtype:
    # float64 sums are exact for counts up to 2**53; MPS has no float64.
    return torch.float32 if device.type == "mps" else torch.float64


class EpochMeter:
    """Running sums kept on the device and read back once: the one-sync-per-epoch rule.

    `add(name, value, n)` adds a batch mean `value` (a 0-d tensor or a number) computed over
    `n` examples; `add_sum(name, total, n)` adds a sum over `n` items. `read()` returns every
    metric's mean per item with a single device-to-host transfer. `fit` uses one for the loss
    and the accuracy; a GAN or RL loop that is not `fit` uses one for its own metrics.
    """

    def __init__(self, device: torch.device | str | None = None) -> None:
        self.device = torch.device(device) if device is not None else get_device()
        self.dtype = _acc_dtype(self.device)
        self._sums: dict[str, torch.Tensor] = {}
        self.counts: dict[str, int] = {}  # host ints: batch sizes are shapes, no sync needed

    def add_sum(self, name: str, total: torch.Tensor | float, n: int) -> None:
        """Add `total`, a sum over `n` items, to the running sum called `name`."""
        total = torch.as_tensor(total).detach().to(self.device, self.dtype)
        if name in self._sums:
            self._sums[name] += total
        else:
            self._sums[name] = total.clone()
        self.counts[name] = self.counts.get(name, 0) + int(n)

    def add(self, name: str, value: torch.Tensor | float, n: int = 1) -> None:
        """Add a batch mean `value` over `n` examples (so the result is a mean per example)."""
        self.add_sum(name, torch.as_tensor(value).detach().to(self.device, self.dtype) * n, n)

    def read(self) -> dict[str, float]:
        """Return {name: sum / count} with one host sync (NaN for a count of zero)."""
        if not self._sums:
            return {}
        names = list(self._sums)
        totals = torch.stack([self._sums[k] for k in names]).tolist()
        return {
            k: (t / self.counts[k] if self.counts[k] else math.nan)
            for k, t in zip(names, totals, strict=True)
        }

    def reset(self) -> None:
        """Forget every sum, for the next epoch."""
        self._sums.clear()
        self.counts.clear()


class _Sums:
    """The loss and accuracy of one pass, on an `EpochMeter`, with a validity flag."""

    def __init__(self, device: torch.device, accuracy: bool) -> None:
        self.meter = EpochMeter(device)
        self.n = 0  # examples seen
        self.accuracy = accuracy  # cleared on the host when the shapes rule accuracy out

    def add(self, loss: torch.Tensor, out: torch.Tensor, y: torch.Tensor) -> None:
        b = y.shape[0]
        # loss_fn returns the batch mean, so mean * B is the batch sum: the epoch mean is then
        # per example, not per batch (the last batch may be smaller).
        self.meter.add("loss", loss.float(), b)
        self.n += b
        if self.accuracy and not isinstance(out, torch.Tensor):
            self.accuracy = False
        if self.accuracy:
            scored = _correct(out.detach(), y)
            if scored is None:
                self.accuracy = False
            else:
                correct, n_pred, valid = scored
                self.meter.add_sum("acc", correct, n_pred)
                if valid is not None:
                    self.meter.add_sum("invalid", ~valid, 1)

    def read(self) -> tuple[float, float | None]:
        """Return (mean loss, accuracy or None) with one device-to-host transfer."""
        means = self.meter.read()
        if not self.accuracy or "acc" not in means or means.get("invalid", 0.0) > 0:
            return means["loss"], None
        return means["loss"], means["acc"]


def _correct(
    out: torch.Tensor, y: torch.Tensor
) -> tuple[torch.Tensor, int, torch.Tensor | None] | None:
    """Count correct predictions on the device: (count, number scored, valid flag) or None.

    out (B, C, ...) with C > 1 are class scores: the prediction is argmax over dim 1, compared
    with integer labels y (B, ...) or with the argmax of one-hot/probability targets y (B, C, ...).
    out (B,) or (B, 1) are binary logits: the prediction is out > 0 (sigmoid(out) > 1/2),
    compared with 0/1 targets. None: these shapes are not a classification (e.g. regression).
    The flag is False when the targets turn out not to be labels (checked on the device).
    """
    if out.ndim >= 2 and out.shape[1] > 1:
        pred = out.argmax(dim=1)
        if y.shape == pred.shape and not y.is_floating_point() and not y.is_complex():
            return (pred == y).sum(), pred.numel(), None
        if y.shape == out.shape and y.is_floating_point():
            valid = (y >= 0).all() & ((y.sum(dim=1) - 1).abs() < 1e-3).all()
            return (pred == y.argmax(dim=1)).sum(), pred.numel(), valid
        return None
    if out.ndim == 1 or (out.ndim == 2 and out.shape[1] == 1):
        logits, target = out.reshape(-1), y.reshape(-1)
        if target.numel() != logits.numel():
            return None
        valid = ((target == 0) | (target == 1)).all()
        return ((logits > 0) == (target > 0.5)).sum(), logits.numel(), valid
    return None


def _model_device(model: nn.Module) -> torch.device:
    for t in model.parameters():
        return t.device
    for t in model.buffers():
        return t.device
    return get_device()


class Callback:
    """Hooks into `fit`. Override any of them; a hook that returns True stops training.

    - `on_train_begin(model)`: before the first epoch;
    - `on_batch_end(step, model)`: after each optimizer step (`step` counts from 1). It must
      not read device values, or it adds a host sync per step;
    - `on_epoch_end(epoch, history, model)`: after each epoch, with `history` up to date;
    - `on_train_end(model)`: after the last epoch, also when training stopped early.
    """

    def on_train_begin(self, model: nn.Module) -> None:
        return None

    def on_batch_end(self, step: int, model: nn.Module) -> bool | None:
        return None

    def on_epoch_end(self, epoch: int, history: History, model: nn.Module) -> bool | None:
        return None

    def on_train_end(self, model: nn.Module) -> None:
        return None


class TimeLimit(Callback):
    """Stop training after `seconds` of wall-clock time, at the end of a step.

    The epoch that was cut short is still recorded (its loss is the mean over the steps it
    made), so two models can be compared at equal training time.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = check_positive("seconds", seconds)
        self.start = 0.0
        self.steps = 0

    def on_train_begin(self, model: nn.Module) -> None:
        self.start = time.perf_counter()
        self.steps = 0

    def on_batch_end(self, step: int, model: nn.Module) -> bool:
        self.steps = step
        return time.perf_counter() - self.start >= self.seconds

    @property
    def elapsed(self) -> float:
        """Seconds since training began."""
        return time.perf_counter() - self.start


def _check_callbacks(callbacks: object) -> list[Callback]:
    items = list(callbacks) if isinstance(callbacks, list | tuple) else [callbacks]
    for i, cb in enumerate(items):
        if not any(
            callable(getattr(cb, h, None))
            for h in ("on_train_begin", "on_batch_end", "on_epoch_end", "on_train_end")
        ):
            raise ValueError(
                f"callbacks[{i}] must be a dlbook.torch.Callback (or have one of its hooks); "
                f"got {type(cb).__name__}"
            )
    return items


def _hook(callbacks: list, name: str, *args: object) -> bool:
    stop = False
    for cb in callbacks:
        method = getattr(cb, name, None)
        if callable(method):
            stop = bool(method(*args)) or stop
    return stop


def fit(
    model: nn.Module,
    train_loader: Iterable,
    loss_fn: LossFn,
    optimizer: torch.optim.Optimizer,
    *,
    epochs: int,
    device: torch.device | str | None = None,
    val_loader: Iterable | None = None,
    scheduler: object | None = None,
    accuracy: bool = True,
    progress: bool | None = None,
    callbacks: Iterable[Callback] | Callback = (),
    clip_grad_norm: float | None = None,
    scheduler_interval: str = "epoch",
    amp_dtype: object = None,
    channels_last: bool = False,
) -> History:
    """Train for `epochs`; return per-epoch loss/accuracy. Syncs with the device once per epoch.

    `train_loader` yields (x, y) batches, x (B, ...) and y (B, ...), and is iterated once per
    epoch (a `DataLoader`, a list of tuples, or `TensorBatches`). `loss_fn(model(x), y)` must
    return the batch mean (torch's default reduction); the epoch loss is the mean per example.
    The model and every batch move to `device` (default: `get_device()`).

    Accuracy (with `accuracy=True`) is reported for class scores (B, C) with C > 1 (argmax) and
    for binary logits (B,) or (B, 1) (threshold 0) against label targets; otherwise the accuracy
    lists stay empty. `scheduler.step()` runs once per epoch (`ReduceLROnPlateau` gets the
    validation loss, or the training loss without a `val_loader`).

    `progress`: a tqdm bar over epochs. None shows it in a terminal or Jupyter unless the
    environment sets `DLBOOK_QUIET=1`; True/False force it.

    Extension points, so that no chapter copies this loop:

    - `callbacks`: `Callback` objects (`EarlyStopping`, `TimeLimit`, your own); a hook that
      returns True stops training after the current step or epoch;
    - `clip_grad_norm`: rescale the gradients so that their global L2 norm is at most this
      (`torch.nn.utils.clip_grad_norm_`) before each optimizer step;
    - `scheduler_interval`: "epoch" (default) or "batch" (warm-up, one-cycle: one
      `scheduler.step()` per optimizer step);
    - `amp_dtype`: None, "bf16" or "fp16" autocast for the forward pass and the loss
      (`dlbook.torch.perf.autocast`); fp16 also scales the loss with a `GradScaler`;
    - `channels_last`: NHWC memory format for the model and 4-D inputs.

    Raises ValueError for a bad `epochs` or an empty loader, and FloatingPointError naming the
    epoch when the training loss is NaN or infinite.
    """
    epochs = _check_epochs(epochs)
    callbacks = _check_callbacks(callbacks)
    if clip_grad_norm is not None:
        clip_grad_norm = check_positive("clip_grad_norm", clip_grad_norm)
    check_choice("scheduler_interval", scheduler_interval, ("epoch", "batch"))
    amp = _amp_dtype(amp_dtype)
    _check_not_empty("train_loader", train_loader)
    if val_loader is not None:
        _check_not_empty("val_loader", val_loader)
    device = torch.device(device) if device is not None else get_device()
    plateau = isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
    if plateau and scheduler_interval == "batch":
        raise ValueError("ReduceLROnPlateau needs a metric: use scheduler_interval='epoch'")
    was_training = model.training
    model.to(device)
    if channels_last:
        to_channels_last(model)
    scaler = torch.amp.GradScaler(device.type) if amp == torch.float16 else None
    history = History()
    bar = progress_bar(epochs, desc="fit", unit="epoch", progress=progress)
    step, stop = 0, False
    _hook(callbacks, "on_train_begin", model)
    try:
        for epoch in range(1, epochs + 1):
            start = time.perf_counter()
            model.train()
            sums = _Sums(device, accuracy)
            for batch in train_loader:
                x, y = _unpack(batch, "train_loader")
                x, y = _to(x, device), _to(y, device)
                if channels_last:
                    x = to_channels_last(x)
                with autocast(device, amp):
                    out = _forward(model, x)
                    loss = loss_fn(out, y)
                if scaler is not None:
                    scaler.scale(loss).backward()
                    scaler.unscale_(optimizer)
                else:
                    loss.backward()
                if clip_grad_norm is not None:
                    nn.utils.clip_grad_norm_(model.parameters(), clip_grad_norm)
                if scaler is not None:
                    scaler.step(optimizer)
                    scaler.update()
                else:
                    optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                if scheduler is not None and scheduler_interval == "batch":
                    scheduler.step()
                sums.add(loss, out, y)
                step += 1
                if _hook(callbacks, "on_batch_end", step, model):
                    stop = True
                    break
            if sums.n == 0:
                raise ValueError("train_loader is empty; expected at least one (x, y) batch")
            train_loss, train_acc = sums.read()  # the one host sync of the training pass
            if not math.isfinite(train_loss):
                raise FloatingPointError(
                    f"training loss is {train_loss} in epoch {epoch}; lower the learning rate, "
                    "check the inputs for NaN/inf, or use a loss on logits (e.g. "
                    "BCEWithLogitsLoss instead of BCELoss after a sigmoid)"
                )
            history.train_loss.append(train_loss)
            if train_acc is not None:
                history.train_acc.append(train_acc)
            postfix = {"loss": f"{train_loss:.4g}"}
            if train_acc is not None:
                postfix["acc"] = f"{train_acc:.3f}"
            if val_loader is not None:
                val_loss, val_acc = _evaluate(
                    model, val_loader, loss_fn, device, accuracy, "val_loader"
                )
                history.val_loss.append(val_loss)
                postfix["val_loss"] = f"{val_loss:.4g}"
                if val_acc is not None:
                    history.val_acc.append(val_acc)
                    postfix["val_acc"] = f"{val_acc:.3f}"
            if scheduler is not None and scheduler_interval == "epoch":
                if plateau:
                    scheduler.step(history.val_loss[-1] if val_loader is not None else train_loss)
                else:
                    scheduler.step()
            history.epoch_time.append(time.perf_counter() - start)
            bar.set_postfix(postfix, refresh=False)
            bar.update(1)
            if _hook(callbacks, "on_epoch_end", epoch, history, model) or stop:
                break
        _hook(callbacks, "on_train_end", model)
    finally:
        bar.close()
        model.train(was_training)
    return history


def _evaluate(
    model: nn.Module,
    loader: Iterable,
    loss_fn: LossFn,
    device: torch.device,
    accuracy: bool,
    name: str,
) -> tuple[float, float | None]:
    was_training = model.training
    model.eval()
    try:
        sums = _Sums(device, accuracy)
        with torch.no_grad():
            for batch in loader:
                x, y = _unpack(batch, name)
                x, y = _to(x, device), _to(y, device)
                out = _forward(model, x)
                sums.add(loss_fn(out, y), out, y)
        if sums.n == 0:
            raise ValueError(f"{name} is empty; expected at least one (x, y) batch")
        return sums.read()
    finally:
        model.train(was_training)


def evaluate(
    model: nn.Module,
    loader: Iterable,
    loss_fn: LossFn,
    *,
    device: torch.device | str | None = None,
    accuracy: bool = True,
) -> tuple[float, float | None]:
    """Return (mean loss per example, accuracy or None) of `model` over the (x, y) batches.

    Runs in eval mode under `torch.no_grad()` and restores the model's previous mode. `device`
    defaults to the device the model's parameters are on. Accuracy follows the rules of `fit`
    and is None where it is not meaningful. One host sync, at the end.
    """
    _check_not_empty("loader", loader)
    device = torch.device(device) if device is not None else _model_device(model)
    model.to(device)
    return _evaluate(model, loader, loss_fn, device, accuracy, "loader")


def predict(
    model: nn.Module,
    x: torch.Tensor,
    *,
    batch_size: int = 1024,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Return model(x) for x (N, ...) as a CPU tensor (N, ...), in eval mode without gradients.

    `x` may also be a NumPy array or a list; it is converted to the dtype of the model's
    parameters. Runs in chunks of `batch_size` on `device` (default: the model's device) and
    restores the model's previous train/eval mode.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
        raise ValueError(f"batch_size must be a positive int; got {batch_size!r}")
    if not isinstance(x, torch.Tensor):
        params = [p for p in model.parameters() if p.is_floating_point()]
        x = torch.as_tensor(x, dtype=params[0].dtype if params else None)
    if x.ndim == 0 or len(x) == 0:
        raise ValueError(f"x must have shape (N, ...) with N >= 1; got shape {tuple(x.shape)}")
    device = torch.device(device) if device is not None else _model_device(model)
    model.to(device)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            outs = [
                model(x[i : i + batch_size].to(device, non_blocking=True))
                for i in range(0, len(x), batch_size)
            ]
        return torch.cat(outs).cpu()
    finally:
        model.train(was_training)
