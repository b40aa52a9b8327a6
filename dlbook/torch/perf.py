"""Speed settings for training on an accelerator: mixed precision, channels_last, compile.

On CUDA, bf16 autocast runs matrix products and convolutions on tensor cores, and cuDNN's
tensor-core convolutions want the NHWC (`channels_last`) memory format. On the CPU both are
off by default: autocast to bf16 is slow on most CPUs and NHWC gains nothing for small models.
`fit` uses these helpers through its `amp_dtype` and `channels_last` arguments.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn

__all__ = ["autocast", "maybe_compile", "to_channels_last"]

_AMP_DTYPES = {None: None, "bf16": torch.bfloat16, "fp16": torch.float16}


def _amp_dtype(amp_dtype: object) -> torch.dtype | None:
    if isinstance(amp_dtype, torch.dtype):
        if amp_dtype not in (torch.bfloat16, torch.float16):
            raise ValueError(f"amp_dtype must be torch.bfloat16 or torch.float16; got {amp_dtype}")
        return amp_dtype
    if amp_dtype not in _AMP_DTYPES:
        raise ValueError(
            f"amp_dtype must be None, 'bf16', 'fp16', torch.bfloat16 or torch.float16; "
            f"got {amp_dtype!r}"
        )
    return _AMP_DTYPES[amp_dtype]  # type: ignore[index]


@contextlib.contextmanager
def autocast(device: torch.device | str, amp_dtype: object = None) -> Iterator[None]:
    """Autocast to `amp_dtype` ('bf16', 'fp16' or a torch dtype) on `device`; None: off.

    fp16 needs a loss scaler (`torch.amp.GradScaler`) to keep small gradients from underflowing;
    bf16 has float32's exponent range and needs none, which is why it is the default choice.
    """
    dtype = _amp_dtype(amp_dtype)
    device = torch.device(device)
    if dtype is None:
        yield
        return
    with torch.autocast(device.type, dtype=dtype):
        yield


def to_channels_last(x: object) -> object:
    """Return a 4-D tensor or a module in NHWC (`channels_last`) memory format; else unchanged."""
    if isinstance(x, nn.Module):
        return x.to(memory_format=torch.channels_last)
    if isinstance(x, torch.Tensor) and x.ndim == 4:
        return x.contiguous(memory_format=torch.channels_last)
    return x


def maybe_compile(model: nn.Module, enabled: bool | None = None) -> nn.Module:
    """`torch.compile(model)` when enabled (None: on CUDA only); the model itself otherwise.

    Compilation costs tens of seconds up front and pays off only on long GPU runs.
    """
    if enabled is None:
        enabled = any(p.is_cuda for p in model.parameters())
    return torch.compile(model) if enabled else model
