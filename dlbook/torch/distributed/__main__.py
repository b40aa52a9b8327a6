"""Command line: train the MNIST MLP with DDP and check that the ranks agree.

  python -m dlbook.torch.distributed --world-size 2 --epochs 1

starts 2 processes on this machine (gloo rendezvous through a temporary file). Under torchrun,
which starts the processes itself and sets RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT, the
same module joins the group torchrun describes instead, e.g. on each of two machines:

  torchrun --nnodes 2 --nproc-per-node 4 --rdzv-backend c10d --rdzv-endpoint HOST:29500 \
      -m dlbook.torch.distributed --backend nccl

Exit status: 0 when both differences are at most --tolerance, 1 when they are not or a rank
failed (the message names it), 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
from collections.abc import Sequence

from dlbook.torch.distributed.ddp import DDPConfig, DDPResult, WorkerFailedError, run_ddp


def _report(result: DDPResult, cfg: DDPConfig, tolerance: float) -> int:
    print(
        f"DDP on {cfg.backend}: {result.world_size} processes, {cfg.epochs} epoch(s), "
        f"{result.steps} steps of a global batch of {cfg.batch_size} "
        f"({result.examples:,} {result.data_source} images), {cfg.dtype}"
    )
    print(f"largest parameter difference between ranks:             {result.rank_spread:.3e}")
    print(f"largest parameter difference from a 1-process run:      {result.reference_gap:.3e}")
    print(
        f"training time: {result.ddp_seconds:.3f} s with {result.world_size} processes, "
        f"{result.single_seconds:.3f} s in 1 process; final batch loss {result.final_loss:.4f}"
    )
    ok = max(result.rank_spread, result.reference_gap) <= tolerance
    print(f"{'OK' if ok else 'FAILED'}: both differences {'<=' if ok else 'not <='} {tolerance:g}")
    return 0 if ok else 1


def _under_torchrun() -> bool:
    return all(k in os.environ for k in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"))


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments, train, print the two differences; return the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m dlbook.torch.distributed", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--world-size", type=int, default=2, help="processes (default 2)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=64, help="global batch (default 64)")
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--max-examples", type=int, default=2048, help="0 for all (default 2048)")
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float64")
    parser.add_argument("--backend", choices=("gloo", "nccl"), default="gloo")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=120.0, help="whole run, seconds")
    parser.add_argument("--tolerance", type=float, default=1e-6)
    parser.add_argument("--fail-rank", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument(
        "--fail-mode", choices=("raise", "exit"), default="raise", help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    torchrun = _under_torchrun()
    try:
        cfg = DDPConfig(
            world_size=int(os.environ["WORLD_SIZE"]) if torchrun else args.world_size,
            epochs=args.epochs,
            batch_size=args.batch_size,
            lr=args.lr,
            max_examples=args.max_examples or None,
            seed=args.seed,
            dtype=args.dtype,
            backend=args.backend,
            fail_rank=args.fail_rank,
            fail_mode=args.fail_mode,
        )
    except ValueError as err:
        print(f"{parser.prog}: {err}", file=sys.stderr)
        return 2
    if torchrun:
        return _torchrun_main(cfg, args.tolerance)
    try:
        result = run_ddp(cfg, timeout=args.timeout)
    except (WorkerFailedError, TimeoutError) as err:
        print(f"{parser.prog}: {err}", file=sys.stderr)
        return 1
    return _report(result, cfg, args.tolerance)


def _torchrun_main(cfg: DDPConfig, tolerance: float) -> int:
    import torch.distributed as dist

    from dlbook.torch.distributed.ddp import train_worker

    rank = int(os.environ["RANK"])
    dist.init_process_group(cfg.backend, timeout=datetime.timedelta(seconds=cfg.timeout_s))
    try:
        result = train_worker(rank, cfg.world_size, cfg)
    finally:
        dist.destroy_process_group()
    return _report(result, cfg, tolerance) if result is not None else 0


if __name__ == "__main__":
    sys.exit(main())
