"""Data-parallel training of the MNIST MLP with DistributedDataParallel, on CPUs or GPUs.

Every process (rank) holds a full copy of the model and takes its slice of each global batch;
after `backward()` DDP averages the gradients of all ranks with an all-reduce, so every rank
takes the same optimizer step. With equal slices, the averaged gradient is the gradient of the
mean loss over the global batch: training on W processes computes what one process computes on
the whole batch, up to the order of floating-point additions.

`run_ddp` starts the processes itself (a fresh `file://` rendezvous in a temporary folder);
`train_worker` is what each process runs, also under `torchrun` (see `__main__`). A failure in
any rank ends every process and raises `WorkerFailedError` naming the rank.
Book: {ref}`sec-efficient-ddp`.
"""

from __future__ import annotations

import dataclasses
import datetime
import multiprocessing as mp
import os
import shutil
import tempfile
import time
import traceback
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from dlbook.checks import check_choice, check_int, check_positive

__all__ = ["DDPConfig", "DDPResult", "WorkerFailedError", "run_ddp", "train_worker"]

_GRACE_S = 2.0  # after a failure, how long the other ranks get to stop by themselves


@dataclass(frozen=True)
class DDPConfig:
    """What to train: the MNIST MLP (inputs, `hidden` ReLU units, 10 logits) with plain SGD.

    `batch_size` is the GLOBAL batch, split evenly over `world_size` ranks (it must divide);
    the first `max_examples` training images (None: all) are shuffled each epoch by a generator
    seeded with `seed`, and incomplete last batches are dropped. `dtype` "float64" makes the
    comparison with one process exact to about 1e-15. `backend` "gloo" runs on CPUs, "nccl" on
    GPUs. `timeout_s` bounds every collective. `fail_rank`/`fail_step`/`fail_mode` ("raise" or
    "exit", an abrupt exit like a killed process) inject a failure, for tests and the book.
    """

    world_size: int = 2
    epochs: int = 1
    batch_size: int = 64
    lr: float = 0.1
    hidden: int = 64
    max_examples: int | None = 2048
    seed: int = 0
    dtype: str = "float64"
    backend: str = "gloo"
    timeout_s: float = 30.0
    data_root: str | None = None
    fail_rank: int | None = None
    fail_step: int = 0
    fail_mode: str = "raise"

    def __post_init__(self) -> None:
        check_int("world_size", self.world_size)
        check_int("epochs", self.epochs)
        check_int("batch_size", self.batch_size)
        if self.batch_size % self.world_size:
            raise ValueError(
                f"batch_size ({self.batch_size}) must be a multiple of world_size "
                f"({self.world_size}) so that every rank gets an equal slice"
            )
        check_positive("lr", self.lr)
        check_int("hidden", self.hidden)
        if self.max_examples is not None:
            check_int("max_examples", self.max_examples)
        check_int("seed", self.seed, minimum=0)
        check_choice("dtype", self.dtype, ("float32", "float64"))
        check_choice("backend", self.backend, ("gloo", "nccl"))
        check_positive("timeout_s", self.timeout_s)
        check_choice("fail_mode", self.fail_mode, ("raise", "exit"))
        check_int("fail_step", self.fail_step, minimum=0)


@dataclass(frozen=True)
class DDPResult:
    """What rank 0 reports after training.

    `rank_spread`: the largest difference of any parameter between two ranks; `reference_gap`:
    the largest difference from one process trained on the same global batches from the same
    seed; `ddp_seconds`: the slowest rank's training loop (no start-up); `single_seconds`: the
    one-process loop; `steps`, `examples`, `data_source`: what was trained on.
    """

    world_size: int
    rank_spread: float
    reference_gap: float
    ddp_seconds: float
    single_seconds: float
    steps: int
    examples: int
    data_source: str
    final_loss: float


class WorkerFailedError(RuntimeError):
    """A rank of a DDP run failed; `rank`, `exitcode` and the worker's `details` say how."""

    def __init__(self, rank: int, exitcode: int | None, details: str) -> None:
        self.rank, self.exitcode, self.details = rank, exitcode, details
        first = details.strip().splitlines()[0] if details.strip() else "no details"
        super().__init__(f"rank {rank} failed (exit code {exitcode}): {first}")


def _load_data(cfg: DDPConfig) -> tuple[torch.Tensor, torch.Tensor, str]:
    from dlbook import data

    # download=False: a worker never waits on the network; offline, load_mnist falls back
    mnist = data.load_mnist(cfg.data_root, download=False, verbose=False)
    x = torch.as_tensor(mnist.x_train.reshape(len(mnist.x_train), -1))
    y = torch.as_tensor(mnist.y_train)
    if cfg.max_examples is not None:
        x, y = x[: cfg.max_examples], y[: cfg.max_examples]
    return x.to(getattr(torch, cfg.dtype)), y, mnist.source


def _model(cfg: DDPConfig, n_inputs: int) -> nn.Module:
    from dlbook.torch.models import MLP

    torch.manual_seed(cfg.seed)  # the same initial weights in every process
    return MLP([n_inputs, cfg.hidden, 10]).to(getattr(torch, cfg.dtype))


def _global_batches(cfg: DDPConfig, n: int, epoch: int) -> list[torch.Tensor]:
    """Index tensors of the global batches of one epoch; identical in every process."""
    g = torch.Generator().manual_seed(cfg.seed * 1000 + epoch)
    perm = torch.randperm(n, generator=g)
    return list(perm[: n - n % cfg.batch_size].split(cfg.batch_size))


def _train(
    cfg: DDPConfig,
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    rank: int = 0,
    world_size: int = 1,
    parent: int | None = None,
) -> tuple[float, int, float]:
    """Plain SGD over the global batches; this rank uses slice `rank` of `world_size` of each."""
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr)
    local = cfg.batch_size // world_size
    step, loss = 0, torch.zeros(())
    start = time.perf_counter()
    for epoch in range(cfg.epochs):
        for idx in _global_batches(cfg, len(x), epoch):
            if parent is not None and os.getppid() != parent:
                os._exit(1)  # the launcher is gone: do not linger as an orphan
            if rank == cfg.fail_rank and step == cfg.fail_step:
                if cfg.fail_mode == "exit":
                    os._exit(13)  # abrupt, like a killed process: no message, no cleanup
                raise RuntimeError(f"injected failure in rank {rank} at step {step}")
            mine = idx[rank * local : (rank + 1) * local]
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x[mine]), y[mine])
            loss.backward()  # under DDP: gradients all-reduced (averaged) over the ranks here
            opt.step()
            step += 1
    return time.perf_counter() - start, step, float(loss.detach())


def _flat_parameters(model: nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


def train_worker(
    rank: int, world_size: int, cfg: DDPConfig, *, parent: int | None = None
) -> DDPResult | None:
    """Train in one process of an initialised process group; rank 0 returns the DDPResult.

    The caller has called `dist.init_process_group` (`run_ddp` does, and so does the command
    line under torchrun). After training, the ranks compare their parameters with two
    all-reduces (elementwise max and min), and rank 0 trains the one-process reference.
    """
    torch.set_num_threads(1)
    x, y, source = _load_data(cfg)
    device = None
    if cfg.backend == "nccl":  # one GPU per process; torchrun sets LOCAL_RANK on each machine
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", rank)))
    model = _model(cfg, x.shape[1])
    if device is not None:
        model, x, y = model.to(device), x.to(device), y.to(device)
    ddp = nn.parallel.DistributedDataParallel(model, device_ids=[device] if device else None)
    seconds, steps, final_loss = _train(cfg, ddp, x, y, rank, world_size, parent)

    flat = _flat_parameters(model)
    high, low = flat.clone(), flat.clone()
    dist.all_reduce(high, op=dist.ReduceOp.MAX)
    dist.all_reduce(low, op=dist.ReduceOp.MIN)
    slowest = torch.tensor([seconds], dtype=torch.float64, device=flat.device)
    dist.all_reduce(slowest, op=dist.ReduceOp.MAX)
    if rank != 0:
        return None
    reference = _model(cfg, x.shape[1]).to(flat.device)
    single_seconds, _, _ = _train(cfg, reference, x, y)
    return DDPResult(
        world_size=world_size,
        rank_spread=float((high - low).max()),
        reference_gap=float((flat - _flat_parameters(reference)).abs().max()),
        ddp_seconds=float(slowest),
        single_seconds=single_seconds,
        steps=steps,
        examples=len(x),
        data_source=source,
        final_loss=final_loss,
    )


def _spawned_worker(
    rank: int, world_size: int, cfg: DDPConfig, init_method: str, conn: Connection, parent: int
) -> None:
    """Entry point of a process started by `run_ddp`: report ("ok", result) or ("error", ...)."""
    try:
        dist.init_process_group(
            cfg.backend,
            init_method=init_method,
            rank=rank,
            world_size=world_size,
            timeout=datetime.timedelta(seconds=cfg.timeout_s),
        )
        result = train_worker(rank, world_size, cfg, parent=parent)
        conn.send(("ok", time.time(), dataclasses.asdict(result) if result else None))
    except BaseException as err:  # noqa: BLE001 - reported to the launcher, then re-raised
        conn.send(("error", time.time(), f"{type(err).__name__}: {err}\n{traceback.format_exc()}"))
        raise SystemExit(1) from None
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
        conn.close()


def _stop(procs: dict[int, mp.process.BaseProcess]) -> None:
    """Terminate, then kill, every process still running; join them all."""
    for p in procs.values():
        if p.is_alive():
            p.terminate()
    for p in procs.values():
        p.join(2.0)
        if p.is_alive():
            p.kill()
            p.join()


def _root_cause(
    exitcodes: dict[int, int | None], messages: dict[int, tuple[str, float, object]]
) -> tuple[int, str]:
    """The rank whose failure came first, among those that ended by themselves (`exitcodes`):
    one that died without a word (killed, hard exit), else the earliest error report. The
    others usually fail only because their peer vanished."""
    failed = {r for r, code in exitcodes.items() if code != 0}
    failed |= {r for r, m in messages.items() if m[0] == "error"}
    silent = sorted(r for r in failed if r not in messages)
    if silent:
        rank = silent[0]
        return rank, f"process exited with code {exitcodes[rank]} without reporting an error"
    rank = min((r for r in failed if messages[r][0] == "error"), key=lambda r: messages[r][1])
    return rank, str(messages[rank][2]).strip()


def run_ddp(cfg: DDPConfig, *, timeout: float = 300.0) -> DDPResult:
    """Start `cfg.world_size` processes, train with DDP, and return rank 0's DDPResult.

    Rendezvous through a fresh file store in a temporary folder (removed afterwards). If any
    rank fails, the others get `_GRACE_S` seconds to stop, then are terminated, and
    WorkerFailedError names the rank that failed first; if the run takes longer than `timeout`
    seconds, every process is stopped and TimeoutError is raised. No process outlives the call.
    """
    if not isinstance(cfg, DDPConfig):
        raise ValueError(f"cfg must be a DDPConfig; got {type(cfg).__name__}")
    timeout = check_positive("timeout", timeout)
    ctx = mp.get_context("spawn")  # a fresh interpreter per rank: no forked threads or locks
    folder = tempfile.mkdtemp(prefix="dlbook-ddp-")
    init_method = "file://" + os.path.join(folder, "store")
    procs: dict[int, mp.process.BaseProcess] = {}
    conns: dict[int, Connection] = {}
    messages: dict[int, tuple[str, float, object]] = {}
    exitcodes: dict[int, int | None] = {}
    try:
        for rank in range(cfg.world_size):
            receiver, sender = ctx.Pipe(duplex=False)
            p = ctx.Process(
                target=_spawned_worker,
                args=(rank, cfg.world_size, cfg, init_method, sender, os.getpid()),
                daemon=True,
                name=f"dlbook-ddp-rank{rank}",
            )
            p.start()
            sender.close()  # the child holds the only writer: EOF when it exits
            procs[rank], conns[rank] = p, receiver
        deadline = time.monotonic() + timeout
        failed_at = None
        while len(exitcodes) < len(procs):
            now = time.monotonic()
            if now > deadline:
                running = sorted(set(procs) - set(exitcodes))
                raise TimeoutError(f"DDP run exceeded {timeout:.0f} s; ranks {running} still ran")
            if failed_at is not None and now > failed_at + _GRACE_S:
                break
            waitables = [c for c in conns.values() if not c.closed]
            waitables += [p.sentinel for r, p in procs.items() if r not in exitcodes]
            for ready in wait(waitables, timeout=0.2):
                for rank, c in conns.items():
                    if c is ready:
                        try:
                            messages[rank] = c.recv()
                        except EOFError:
                            c.close()
            for rank, p in procs.items():
                if rank not in exitcodes and not p.is_alive():
                    p.join()
                    exitcodes[rank] = p.exitcode
            bad = any(code != 0 for code in exitcodes.values()) or any(
                m[0] == "error" for m in messages.values()
            )
            if bad and failed_at is None:
                failed_at = time.monotonic()
        for rank, c in conns.items():  # messages sent just before exiting
            while not c.closed and c.poll():
                try:
                    messages[rank] = c.recv()
                except EOFError:
                    c.close()
        if failed_at is not None:
            rank, details = _root_cause(exitcodes, messages)  # before we stop the others
            _stop(procs)
            raise WorkerFailedError(rank, procs[rank].exitcode, details)
        if 0 not in messages or messages[0][0] != "ok" or messages[0][2] is None:
            raise WorkerFailedError(0, exitcodes.get(0), "rank 0 sent no result")
        return DDPResult(**messages[0][2])
    finally:
        _stop(procs)
        for c in conns.values():
            c.close()
        shutil.rmtree(folder, ignore_errors=True)
