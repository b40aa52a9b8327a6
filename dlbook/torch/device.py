"""Choosing the device and seeding every random number generator.

Book: the setup cell of every chapter calls both functions.
"""

from __future__ import annotations

import os
import random

import numpy as np
import torch

__all__ = ["get_device", "seed_everything"]

_MAX_SEED = 2**32 - 1  # numpy's legacy global RNG takes seeds in [0, 2**32 - 1]


def get_device() -> torch.device:
    """Return the fastest available device: CUDA, then Apple's MPS, then the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int, *, deterministic: bool = False) -> None:
    """Seed Python's `random`, numpy's global RNG and torch (CPU and every CUDA device).

    `seed` is an int in [0, 2**32 - 1]. `PYTHONHASHSEED` is set too; it changes string hashing
    only in processes started afterwards (e.g. DataLoader workers), not in this one.

    With `deterministic=True`, torch also picks deterministic kernels where they exist (and warns
    where they do not) and cuDNN stops auto-tuning, so two GPU runs give the same numbers at some
    cost in speed. CPU runs are reproducible without it.
    """
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise ValueError(f"seed must be an integer in [0, 2**32 - 1]; got {seed!r}")
    seed = int(seed)
    if not 0 <= seed <= _MAX_SEED:
        raise ValueError(f"seed must be an integer in [0, 2**32 - 1]; got {seed}")
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 (legacy global RNG on purpose: third-party code uses it)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)  # lazy: a no-op without CUDA
    if deterministic:
        # cuBLAS needs a fixed workspace to be deterministic (CUDA >= 10.2).
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
