"""Throughput of `dlbook.torch.fit` + `TensorBatches` against a d2l-style training loop.

Both loops train the same MLP (same initial weights, same optimizer, same synthetic data, same
batch size) on whatever `get_device()` returns, in one run. They differ only where the book says
they should:

- dlbook: data already on the device, sliced by `TensorBatches`; loss and correct counts summed
  in device tensors and read back once per epoch.
- d2l-style: `DataLoader(TensorDataset(...), shuffle=True)` over CPU tensors, each batch copied to
  the device, and the loss and the correct count read with `.item()` after every step (as d2l's
  `Accumulator` does with `float(...)`).

On a CPU the `.item()` calls cost little (there is no device to wait for), so the gap there is
mostly the DataLoader's per-sample indexing and collation; on a GPU every `.item()` also stalls
the queue of kernels.

Run from the repository root: `python benchmarks/fit_loop.py [--examples N] [--epochs E] ...`.
Prints examples/second for each loop and their ratio.
"""

from __future__ import annotations

import argparse
import copy
import time

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

import dlbook.torch as dtorch


def make_data(n: int, d: int, k: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """x (n, d) float32 and y (n,) int64: labels of a random linear teacher, k classes."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g)
    teacher = torch.randn(d, k, generator=g)
    return x, (x @ teacher).argmax(dim=1)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()
    elif device.type == "mps":
        torch.mps.synchronize()


def run_dlbook(model, x, y, args, device) -> tuple[float, float]:
    """Return (seconds, last epoch's mean loss) for `dtorch.fit` over `TensorBatches`."""
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    batches = dtorch.TensorBatches(
        x,
        y,
        args.batch_size,
        shuffle=True,
        generator=torch.Generator(device=device).manual_seed(args.seed),
        device=device,
    )
    sync(device)
    start = time.perf_counter()
    history = dtorch.fit(
        model, batches, F.cross_entropy, opt, epochs=args.epochs, device=device, progress=False
    )
    sync(device)
    return time.perf_counter() - start, history.train_loss[-1]


def run_d2l_style(model, x, y, args, device) -> tuple[float, float]:
    """Return (seconds, last epoch's mean loss) for a DataLoader loop with per-step `.item()`."""
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    loader = DataLoader(
        TensorDataset(x, y),
        batch_size=args.batch_size,
        shuffle=True,
        generator=torch.Generator().manual_seed(args.seed),
    )
    model.to(device)
    sync(device)
    start = time.perf_counter()
    for _ in range(args.epochs):
        model.train()
        loss_sum, correct, n = 0.0, 0.0, 0
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
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


def race(model, x, y, args, device, run_dlbook, run_d2l_style, *, total: int) -> float:
    """Warm both loops up, time them interleaved (best of args.repeats), print examples/s for
    each and their ratio, and return the ratio dlbook / d2l-style. Shared by train_mnist.py."""
    # warm-up (allocator, kernels, cuDNN autotuning, lazy init) on throwaway copies, one epoch
    warm = argparse.Namespace(**{**vars(args), "epochs": 1})
    n_warm = min(len(x), 10 * args.batch_size)
    run_dlbook(copy.deepcopy(model), x[:n_warm], y[:n_warm], warm, device)
    run_d2l_style(copy.deepcopy(model), x[:n_warm], y[:n_warm], warm, device)

    runs = {"dlbook fit + TensorBatches": run_dlbook, "d2l-style loop": run_d2l_style}
    best: dict[str, tuple[float, float]] = {}
    for _ in range(args.repeats):  # interleaved, best of `repeats`: less noise from the machine
        for name, run in runs.items():
            seconds, loss = run(copy.deepcopy(model), x, y, args, device)
            if name not in best or seconds < best[name][0]:
                best[name] = (seconds, loss)
    results = {}
    for name, (seconds, loss) in best.items():
        results[name] = total / seconds
        print(
            f"{name:28s} {total / seconds:12,.0f} examples/s  ({seconds:6.2f} s, loss {loss:.4f})"
        )
    ratio = results["dlbook fit + TensorBatches"] / results["d2l-style loop"]
    print(f"{'ratio (dlbook / d2l-style)':28s} {ratio:12.2f}x")
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=20_000)
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3, help="best of this many timed runs")
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default=None, help="default: dtorch.get_device()")
    args = parser.parse_args()

    device = torch.device(args.device) if args.device else dtorch.get_device()
    dtorch.seed_everything(args.seed)
    x, y = make_data(args.examples, args.features, args.classes, args.seed)
    model = dtorch.MLP([args.features, args.hidden, args.hidden, args.classes])
    steps = -(-args.examples // args.batch_size)
    print(
        f"device={device} torch={torch.__version__} examples={args.examples} "
        f"batch_size={args.batch_size} steps/epoch={steps} epochs={args.epochs} "
        f"MLP={model.sizes} threads={torch.get_num_threads()} repeats={args.repeats}"
    )

    race(model, x, y, args, device, run_dlbook, run_d2l_style, total=args.examples * args.epochs)


if __name__ == "__main__":
    main()
