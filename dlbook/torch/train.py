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

from dlbook.progress import progress_bar
from dlbook.torch.device import get_device

__all__ = ["History", "TensorBatches", "evaluate", "fit", "predict"]

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


class _Sums:
    """Running sums on the device: summed loss, correct predictions, and a validity flag."""

    def __init__(self, device: torch.device, accuracy: bool) -> None:
        dtype = _acc_dtype(device)
        self.loss = torch.zeros((), dtype=dtype, device=device)
        self.correct = torch.zeros((), dtype=dtype, device=device)
        self.valid = torch.ones((), dtype=torch.bool, device=device)
        self.n = 0  # examples seen (host int: batch sizes are shapes, no sync needed)
        self.n_pred = 0  # predictions scored (B, or B*T for sequence outputs)
        self.accuracy = accuracy  # cleared on the host when the shapes rule accuracy out

    def add(self, loss: torch.Tensor, out: torch.Tensor, y: torch.Tensor) -> None:
        b = y.shape[0]
        # loss_fn returns the batch mean, so mean * B is the batch sum: the epoch mean is then
        # per example, not per batch (the last batch may be smaller).
        self.loss += loss.detach() * b
        self.n += b
        if self.accuracy and not isinstance(out, torch.Tensor):
            self.accuracy = False
        if self.accuracy:
            scored = _correct(out.detach(), y)
            if scored is None:
                self.accuracy = False
            else:
                correct, n_pred, valid = scored
                self.correct += correct
                self.n_pred += n_pred
                if valid is not None:
                    self.valid &= valid

    def read(self) -> tuple[float, float | None]:
        """Return (mean loss, accuracy or None) with one device-to-host transfer."""
        loss_sum, correct, valid = torch.stack(
            [self.loss, self.correct, self.valid.to(self.loss.dtype)]
        ).tolist()
        mean_loss = loss_sum / self.n
        if not self.accuracy or not valid or self.n_pred == 0:
            return mean_loss, None
        return mean_loss, correct / self.n_pred


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

    Raises ValueError for a bad `epochs` or an empty loader, and FloatingPointError naming the
    epoch when the training loss is NaN or infinite.
    """
    epochs = _check_epochs(epochs)
    _check_not_empty("train_loader", train_loader)
    if val_loader is not None:
        _check_not_empty("val_loader", val_loader)
    device = torch.device(device) if device is not None else get_device()
    was_training = model.training
    model.to(device)
    history = History()
    plateau = isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
    bar = progress_bar(epochs, desc="fit", unit="epoch", progress=progress)
    try:
        for epoch in range(1, epochs + 1):
            start = time.perf_counter()
            model.train()
            sums = _Sums(device, accuracy)
            for batch in train_loader:
                x, y = _unpack(batch, "train_loader")
                x, y = _to(x, device), _to(y, device)
                out = _forward(model, x)
                loss = loss_fn(out, y)
                loss.backward()
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                sums.add(loss, out, y)
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
            if scheduler is not None:
                if plateau:
                    scheduler.step(history.val_loss[-1] if val_loader is not None else train_loss)
                else:
                    scheduler.step()
            history.epoch_time.append(time.perf_counter() - start)
            bar.set_postfix(postfix, refresh=False)
            bar.update(1)
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
