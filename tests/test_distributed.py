"""dlbook.torch.distributed: DDP on gloo agrees with one process; failures end every rank."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import dlbook.torch as dtorch
from dlbook.torch.distributed import DDPConfig, WorkerFailedError, ring_allreduce, run_ddp

ROOT = Path(__file__).resolve().parents[1]
SMALL = {"max_examples": 512, "batch_size": 32}  # a few steps: start-up dominates


def _env() -> dict[str, str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "DLBOOK_QUIET": "1"}
    shared = ROOT.parent / "shared" / "data"
    if "DLBOOK_DATA" not in env and (shared / "mnist").is_dir():
        env["DLBOOK_DATA"] = str(shared)
    return env


def _workers() -> list[int]:
    """Pids of this process's live spawned workers (zombies excluded), read from /proc; the
    resource tracker that multiprocessing keeps for the parent's lifetime is not a worker."""
    me, kids = os.getpid(), []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
        try:
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if "multiprocessing.spawn" not in cmdline:
            continue
        if fields.get("PPid", "").strip() == str(me) and not fields.get("State", "").startswith(
            "Z"
        ):
            kids.append(int(entry.name))
    return kids


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc")
def test_two_process_script_agrees_with_one_process():
    start = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-m", "dlbook.torch.distributed", "--world-size", "2", "--epochs", "1"],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    between = float(re.search(r"between ranks:\s+(\S+)", run.stdout).group(1))
    single = float(re.search(r"from a 1-process run:\s+(\S+)", run.stdout).group(1))
    assert between <= 1e-6 and single <= 1e-6, run.stdout
    assert "2 processes" in run.stdout
    assert time.monotonic() - start < 300


@pytest.mark.parametrize(("mode", "code"), [("raise", None), ("exit", 13)])
def test_a_failing_rank_ends_every_process_and_is_named(mode, code):
    cfg = DDPConfig(world_size=2, fail_rank=1, fail_step=2, fail_mode=mode, **SMALL)
    start = time.monotonic()
    with pytest.raises(WorkerFailedError, match="rank 1 failed") as info:
        run_ddp(cfg, timeout=240)
    assert time.monotonic() - start < 240  # did not hang until the collective's timeout
    assert info.value.rank == 1
    if code is not None:
        assert info.value.exitcode == code
    else:
        assert "injected failure in rank 1" in info.value.details
    assert _workers() == []  # no stray worker


def test_command_line_rejects_bad_world_size():
    run = subprocess.run(
        [sys.executable, "-m", "dlbook.torch.distributed", "--world-size", "0"],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2
    assert "world_size" in run.stderr


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"world_size": 0}, "world_size"),
        ({"world_size": -2}, "world_size"),
        ({"world_size": 3, "batch_size": 64}, "multiple of world_size"),
        ({"dtype": "float16"}, "dtype"),
        ({"fail_mode": "hang"}, "fail_mode"),
    ],
)
def test_config_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DDPConfig(**kwargs)


def test_run_ddp_rejects_a_non_config():
    with pytest.raises(ValueError, match="DDPConfig"):
        run_ddp({"world_size": 2})


@pytest.mark.parametrize(("workers", "n"), [(1, 5), (2, 8), (4, 10), (3, 7)])
def test_ring_allreduce_gives_every_worker_the_sum(workers, n):
    rng = np.random.default_rng(0)
    arrays = [rng.normal(size=n) for _ in range(workers)]
    copies = [a.copy() for a in arrays]
    out = ring_allreduce(arrays)
    for result in out.results:
        np.testing.assert_allclose(result, np.sum(arrays, axis=0), rtol=1e-12)
    assert out.steps == 2 * (workers - 1)
    assert len(out.trace) == out.steps + 1
    assert all(cell == frozenset(range(workers)) for row in out.trace[-1] for cell in row)
    if n % workers == 0:
        assert out.sent == 2 * (workers - 1) * n // workers
    assert all(np.array_equal(a, b) for a, b in zip(arrays, copies, strict=True))  # untouched


def test_ring_allreduce_rejects_unequal_lengths():
    with pytest.raises(ValueError, match="equal lengths"):
        ring_allreduce([np.zeros(3), np.zeros(4)])
    with pytest.raises(ValueError, match="one vector per worker"):
        ring_allreduce([])


def test_names_are_reexported():
    assert dtorch.run_ddp is run_ddp and dtorch.ring_allreduce is ring_allreduce
