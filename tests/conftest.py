"""Shared fixtures. Tests never touch the network and never write outside tmp_path."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "chapters"


def shared_data_dir() -> Path | None:
    """The read-only real data beside the checkout (../shared/data), or DLBOOK_DATA."""
    for candidate in (os.environ.get("DLBOOK_DATA"), ROOT.parent / "shared" / "data"):
        if candidate and (Path(candidate) / "mnist").is_dir():
            return Path(candidate)
    return None


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")
