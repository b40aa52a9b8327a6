"""Training throughput of LeNet on MNIST: `dlbook.torch.fit` against a d2l-style loop.

Both loops train the same `dlbook.torch.LeNet` (same initial weights, Adam, same batch size)
on the MNIST that `dlbook.data.load_mnist` finds, on `get_device()` (or `--device`), in one run:

- dlbook: the whole training set moved to the device once and sliced by `TensorBatches`; the
  loss and correct counts summed in device tensors and read back once per epoch by `fit`.
- d2l-style: `DataLoader(TensorDataset(...), shuffle=True)` over CPU tensors (in pinned memory
  on CUDA, so that the copies can be asynchronous), each batch copied to the device, and the
  loss and correct count read with `.item()` after every step.

On CUDA both run the model under bf16 autocast and in `channels_last` memory format (turn them
off with `--no-amp` / `--no-channels-last`): cuDNN's tensor-core convolutions want NHWC, and
bf16 halves the memory traffic without the loss scaling that fp16 needs. On the CPU both stay
in float32 NCHW. Prints examples/second for each loop (best of `--repeats` interleaved runs)
and their ratio.

With `--target-acc A` (default 0.99 when the full MNIST is present, else off), it then trains a
fresh LeNet with `fit`, one epoch at a time, and prints the wall-clock time until the test
accuracy first reaches A (evaluation included), or that it did not within `--max-epochs`.

Run from the repository root: `python benchmarks/train_mnist.py [--epochs E] [--device cuda]`.
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F
from fit_loop import race, sync  # the shared timing harness (benchmarks/ is on sys.path)
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import dlbook.torch as dtorch
from dlbook import data
from dlbook.torch.perf import autocast, to_channels_last

MEAN, STD = 0.1307, 0.3081  # MNIST's training-set pixel mean and standard deviation


def load() -> tuple:
    """(x_train, y_train, x_test, y_test, source): normalised CPU tensors x (N, 1, 28, 28)."""
    mnist = data.load_mnist()
    if mnist.source == "digits":  # 8x8 digits: upsample so that the same LeNet applies
        resize = nn.Upsample(size=(28, 28), mode="bilinear", align_corners=False)
    else:
        resize = nn.Identity()

    def prep(x):
        return (resize(torch.from_numpy(x).unsqueeze(1)) - MEAN) / STD

    return (
        prep(mnist.x_train),
        torch.from_numpy(mnist.y_train),
        prep(mnist.x_test),
        torch.from_numpy(mnist.y_test),
        mnist.source,
    )


def run_dlbook(model, x, y, args, device) -> tuple[float, float]:
    """Return (seconds, last epoch's mean loss) for `dtorch.fit` over `TensorBatches`."""
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    batches = dtorch.TensorBatches(
        x,
        y,
        args.batch_size,
        shuffle=True,
        generator=torch.Generator(device=device).manual_seed(args.seed),
        device=device,  # the whole set moves to the device once
    )
    sync(device)
    start = time.perf_counter()
    history = dtorch.fit(
        model,
        batches,
        F.cross_entropy,
        opt,
        epochs=args.epochs,
        device=device,
        progress=False,
        amp_dtype="bf16" if args.amp else None,
        channels_last=args.channels_last,
    )
    sync(device)
    return time.perf_counter() - start, history.train_loss[-1]


def run_d2l_style(model, x, y, args, device) -> tuple[float, float]:
    """Return (seconds, last epoch's mean loss) for a DataLoader loop with per-step `.item()`."""
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    cuda = device.type == "cuda"
    loader = DataLoader(
        TensorDataset(x, y),
        batch_size=args.batch_size,
        shuffle=True,
        generator=torch.Generator().manual_seed(args.seed),
        pin_memory=cuda,
    )
    model.to(device)
    if args.channels_last:
        to_channels_last(model)
    sync(device)
    start = time.perf_counter()
    for _ in range(args.epochs):
        model.train()
        loss_sum, correct, n = 0.0, 0.0, 0
        for xb, yb in loader:
            xb, yb = xb.to(device, non_blocking=cuda), yb.to(device, non_blocking=cuda)
            if args.channels_last:
                xb = to_channels_last(xb)
            with autocast(device, "bf16" if args.amp else None):
                out = model(xb)
                loss = F.cross_entropy(out, yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss_sum += loss.item() * len(yb)  # a host sync every step
            correct += (out.argmax(dim=1) == yb).sum().item()  # and another
            n += len(yb)
    sync(device)
    return time.perf_counter() - start, loss_sum / n


class StopAtAccuracy(dtorch.Callback):
    """After each epoch: evaluate on the test batches, print, and stop at the target accuracy."""

    def __init__(self, test, target: float, device: torch.device) -> None:
        self.test, self.target, self.device = test, target, device
        self.start = time.perf_counter()
        self.reached: float | None = None

    def on_epoch_end(self, epoch, history, model) -> bool:
        _, acc = dtorch.evaluate(model, self.test, F.cross_entropy, device=self.device)
        elapsed = time.perf_counter() - self.start
        print(f"  epoch {epoch:2d}: test accuracy {acc:.4f} after {elapsed:6.1f} s")
        if acc >= self.target:
            self.reached = elapsed
            print(f"reached {self.target:.2%} test accuracy in {elapsed:.1f} s ({epoch} epochs)")
        return acc >= self.target


def time_to_accuracy(model, x, y, x_test, y_test, args, device) -> None:
    """Train with `fit` and a cosine schedule; print when the test accuracy first reaches target."""
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.max_epochs)
    gen = torch.Generator(device=device).manual_seed(args.seed)
    batches = dtorch.TensorBatches(
        x, y, args.batch_size, shuffle=True, generator=gen, device=device
    )
    test = dtorch.TensorBatches(x_test, y_test, 2000, device=device)
    sync(device)
    stop = StopAtAccuracy(test, args.target_acc, device)
    dtorch.fit(
        model,
        batches,
        F.cross_entropy,
        opt,
        epochs=args.max_epochs,
        device=device,
        scheduler=sched,
        callbacks=[stop],
        progress=False,
        amp_dtype="bf16" if args.amp else None,
        channels_last=args.channels_last,
    )
    if stop.reached is None:
        print(f"did not reach {args.target_acc:.2%} test accuracy in {args.max_epochs} epochs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--repeats", type=int, default=3, help="best of this many timed runs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default=None, help="default: dtorch.get_device()")
    parser.add_argument("--no-amp", action="store_true", help="no bf16 autocast on CUDA")
    parser.add_argument("--no-channels-last", action="store_true", help="NCHW on CUDA")
    parser.add_argument("--target-acc", type=float, default=None)
    parser.add_argument("--max-epochs", type=int, default=20)
    args = parser.parse_args()

    device = torch.device(args.device) if args.device else dtorch.get_device()
    x, y, x_test, y_test, source = load()
    cuda = device.type == "cuda"
    amp = args.amp = cuda and not args.no_amp
    channels_last = args.channels_last = cuda and not args.no_channels_last
    if cuda:
        torch.backends.cudnn.benchmark = True  # fixed shapes: let cuDNN pick its fastest kernels
    dtorch.seed_everything(args.seed)
    model = dtorch.LeNet()
    print(
        f"device={device} torch={torch.__version__} data={source} train={len(x)} "
        f"batch_size={args.batch_size} epochs={args.epochs} bf16_autocast={amp} "
        f"channels_last={channels_last} threads={torch.get_num_threads()} repeats={args.repeats}"
    )

    race(model, x, y, args, device, run_dlbook, run_d2l_style, total=len(x) * args.epochs)

    target = args.target_acc
    if target is None and source == "mnist":
        target = 0.99
    if target is None:
        print(f"time to accuracy: skipped (data={source}; pass --target-acc to run it)")
        return
    args.target_acc = target
    dtorch.seed_everything(args.seed)
    fresh = dtorch.LeNet()
    time_to_accuracy(fresh, x, y, x_test, y_test, args, device)


if __name__ == "__main__":
    main()
