"""dlbook.torch.distributed: data-parallel training with DistributedDataParallel.

`run_ddp(DDPConfig(world_size=2))` trains the MNIST MLP on two processes (gloo, CPUs) and
compares the ranks with each other and with one process; `python -m dlbook.torch.distributed
--world-size 2 --epochs 1` does the same from the command line, and runs unchanged under
`torchrun` on several machines. `ring_allreduce` simulates the all-reduce in NumPy.
Book: {ref}`sec-efficient-ddp`.
"""

from dlbook.torch.distributed.ddp import (
    DDPConfig,
    DDPResult,
    WorkerFailedError,
    run_ddp,
    train_worker,
)
from dlbook.torch.distributed.ring import RingAllReduce, ring_allreduce

__all__ = [
    "DDPConfig",
    "DDPResult",
    "RingAllReduce",
    "WorkerFailedError",
    "ring_allreduce",
    "run_ddp",
    "train_worker",
]
