"""dlbook.torch.perf: autocast, channels_last and compile helpers (their CPU paths)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import dlbook.torch as dtorch
from dlbook.torch.perf import autocast, maybe_compile, to_channels_last


def test_autocast_bf16_changes_the_matmul_dtype_and_none_does_not():
    a, b = torch.randn(4, 4), torch.randn(4, 4)
    with autocast("cpu", "bf16"):
        assert (a @ b).dtype == torch.bfloat16
    with autocast("cpu", None):
        assert (a @ b).dtype == torch.float32
    with autocast("cpu", torch.bfloat16):
        assert (a @ b).dtype == torch.bfloat16


@pytest.mark.parametrize("bad", ["int8", torch.float64, 16])
def test_autocast_rejects_other_dtypes(bad):
    with pytest.raises(ValueError, match="amp_dtype"), autocast("cpu", bad):
        pass


def test_channels_last_for_modules_tensors_and_others():
    model = to_channels_last(dtorch.LeNet())
    assert model.features[0].weight.is_contiguous(memory_format=torch.channels_last)
    x = to_channels_last(torch.randn(2, 3, 4, 5))
    assert x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()
    flat = torch.randn(2, 3)
    assert to_channels_last(flat) is flat


def test_maybe_compile_is_off_on_the_cpu():
    model = nn.Linear(2, 2)
    assert maybe_compile(model) is model
    assert maybe_compile(model, enabled=False) is model
