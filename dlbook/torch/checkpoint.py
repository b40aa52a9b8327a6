"""Checkpoints written atomically, and early stopping that keeps the best one.

Book: chapter "Generalization, regularization and evaluation" ({ref}`sec-reg-early-stopping`).

`save_checkpoint` writes with `torch.save` into a temporary file in the target's folder and
then renames it over the target with `os.replace`, which is atomic on POSIX and Windows: a
crash mid-write leaves the previous checkpoint intact, never a truncated one. `load_checkpoint`
reads with `torch.load(weights_only=True)`, which unpickles only tensors, numbers, strings and
containers of them, so a checkpoint from elsewhere cannot run code on load.
"""

from __future__ import annotations

import copy
import math
import os
import tempfile
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path

import torch
from torch import nn

from dlbook.checks import check_bool
from dlbook.torch.train import Callback, History

__all__ = ["EarlyStopping", "load_checkpoint", "save_checkpoint"]


def _check_path(path: object) -> Path:
    if not isinstance(path, str | os.PathLike):
        raise ValueError(f"path must be a str or os.PathLike; got {type(path).__name__}")
    return Path(path)


def save_checkpoint(path: str | os.PathLike[str], state: Mapping[str, object]) -> Path:
    """Write `state` (e.g. {"model": model.state_dict(), "epoch": 3}) to `path` atomically.

    The parent folder must exist. Returns the path. Only what `torch.load(weights_only=True)`
    accepts can be read back: tensors, numbers, strings, None, and dicts, lists and tuples of
    them (a model's and an optimizer's `state_dict()` qualify).
    """
    path = _check_path(path)
    if not isinstance(state, Mapping):
        raise ValueError(f"state must be a dict; got {type(state).__name__}")
    if not path.parent.is_dir():
        raise ValueError(f"the folder of path does not exist: {path.parent}")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(dict(state), f)
            f.flush()
            os.fsync(f.fileno())  # the bytes are on disk before the rename makes them visible
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(
    path: str | os.PathLike[str], *, map_location: str | torch.device | None = None
) -> dict:
    """Read a checkpoint written by `save_checkpoint` with `torch.load(weights_only=True)`.

    `map_location` moves the tensors (e.g. "cpu" for a checkpoint saved on a GPU). A file that
    holds arbitrary Python objects is refused with `pickle.UnpicklingError`.
    """
    path = _check_path(path)
    if not path.is_file():
        raise ValueError(f"no checkpoint at {path}")
    return torch.load(path, map_location=map_location, weights_only=True)


class EarlyStopping(Callback):
    """Stop training when a validation metric has not improved for `patience` epochs.

    As a `fit` callback (`fit(..., callbacks=[EarlyStopping(5)])`) it reads
    `history.<monitor>` (default "val_loss") after each epoch, stops `fit` when patience runs
    out and, with `restore_best=True`, loads the best weights when training ends.

    Call `step(value, model)` once per epoch with the validation metric. An improvement means
    value < best - min_delta (`mode="min"`, for a loss) or value > best + min_delta
    (`mode="max"`, for an accuracy). On an improvement the model's `state_dict()` is saved: to
    `path` with `save_checkpoint` when given, else as an in-memory copy. `step` returns True
    once `patience` epochs in a row brought no improvement; `restore(model)` then loads the
    best weights. A NaN value never counts as an improvement. Prechelt (1998) discusses when
    to stop; this is his simplest criterion, with the best model kept.

    Attributes: `best` (the best value so far), `best_epoch` (1-based, the epoch of `best`),
    `epoch` (epochs seen), `bad_epochs` (epochs since the last improvement), `stopped`.
    """

    def __init__(
        self,
        patience: int,
        *,
        min_delta: float = 0.0,
        mode: str = "min",
        path: str | os.PathLike[str] | None = None,
        monitor: str = "val_loss",
        restore_best: bool = True,
    ) -> None:
        if monitor not in {f.name for f in fields(History)}:
            raise ValueError(
                f"monitor must name a History list such as 'val_loss'; got {monitor!r}"
            )
        self.monitor = monitor
        self.restore_best = check_bool("restore_best", restore_best)
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise ValueError(f"patience must be an int >= 1; got {patience!r}")
        if isinstance(min_delta, bool) or not isinstance(min_delta, int | float):
            raise ValueError(f"min_delta must be a number >= 0; got {min_delta!r}")
        if not math.isfinite(min_delta) or min_delta < 0:
            raise ValueError(f"min_delta must be a number >= 0; got {min_delta!r}")
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max'; got {mode!r}")
        self.patience = patience
        self.min_delta = float(min_delta)
        self.mode = mode
        self.path = None if path is None else _check_path(path)
        self.best = math.inf if mode == "min" else -math.inf
        self.best_epoch = 0
        self.epoch = 0
        self.bad_epochs = 0
        self.stopped = False
        self._state: dict | None = None  # the in-memory copy when there is no path
        self._saved = False  # whether this run has saved a checkpoint

    def _improved(self, value: float) -> bool:
        if math.isnan(value):
            return False
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def step(self, value: float, model: nn.Module | None = None) -> bool:
        """Record one epoch's metric; save the model when it improved. True: time to stop."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"value must be a number; got {value!r}")
        self.epoch += 1
        if self._improved(float(value)):
            self.best, self.best_epoch, self.bad_epochs = float(value), self.epoch, 0
            if model is not None:
                state = model.state_dict()
                if self.path is not None:
                    save_checkpoint(
                        self.path, {"model": state, "epoch": self.epoch, "value": self.best}
                    )
                else:
                    self._state = copy.deepcopy(state)
                self._saved = True
        else:
            self.bad_epochs += 1
        self.stopped = self.bad_epochs >= self.patience
        return self.stopped

    def on_epoch_end(self, epoch: int, history: History, model: nn.Module) -> bool:
        values = getattr(history, self.monitor)
        if not values:
            raise ValueError(
                f"EarlyStopping monitors history.{self.monitor}, which is empty "
                "(pass a val_loader to fit, or monitor 'train_loss')"
            )
        return self.step(values[-1], model)

    def on_train_end(self, model: nn.Module) -> None:
        if self.restore_best and self._saved:
            self.restore(model)

    def restore(self, model: nn.Module) -> nn.Module:
        """Load the best weights saved so far into `model` (in place) and return it."""
        if not self._saved:
            raise ValueError("no checkpoint saved yet: call step(value, model) first")
        if self.path is not None:
            state = load_checkpoint(self.path, map_location="cpu")["model"]
        else:
            state = self._state
        model.load_state_dict(state)
        return model
