"""Shared fixtures. Tests never touch the network and never write outside tmp_path."""

from __future__ import annotations

import os

if os.environ.get("PYTEST_XDIST_WORKER"):
    # `pytest -n 2` runs one worker per core. Each would otherwise start a thread per core in
    # torch and in BLAS, and threads fighting over shared cores run many times slower. The
    # notebook kernels that nbval starts inherit these variables.
    for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[_var] = "1"

import contextlib
import io
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from IPython.core.inputtransformer2 import TransformerManager

matplotlib.use("Agg")

if os.environ.get("PYTEST_XDIST_WORKER"):
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    threadpool_limits(limits=1)

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "chapters"
#: where the book build (myst-nb, with dlbook.bookexec) stores its runs of the chapters
EXECUTION_CACHE = ROOT / "_build" / ".jupyter_cache"


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


_SETUPS: dict[str, dict] = {}


def run_exercise(setup: str, solution: str, check: str) -> str:
    """Run the chapter's setup cell, then the solution and check cells, in one namespace.

    Exercise cells may use only what the setup cell defines, so they work in the student
    version whatever else the learner has run.
    """
    if setup not in _SETUPS:
        namespace: dict = {}
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(TransformerManager().transform_cell(setup), "<setup>", "exec"), namespace)
        _SETUPS[setup] = namespace
    namespace = dict(_SETUPS[setup])
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(solution, "<solution>", "exec"), namespace)
        exec(compile(check, "<check>", "exec"), namespace)
    return out.getvalue()


def exercise_pairs(nb) -> list[tuple[str, str, str, str]]:
    """(grade_id, setup source, solution source, check source) for each exercise of `nb`."""
    setup = next(c.source for c in nb.cells if c.cell_type == "code")
    pairs = []
    for i, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            pairs.append((meta["grade_id"], setup, cell.source, nb.cells[i + 1].source))
    return pairs
