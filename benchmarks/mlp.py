"""Training time per epoch of the NumPy MLP (`dlbook.numpy.mlp`) against the same MLP in torch.

All runs train the same network (784-128-10 on MNIST, ReLU, He-normal weights, zero biases)
with plain mini-batch SGD on softmax cross-entropy, with the same batch size, learning rate and
number of epochs, on the CPU, in one process. The NumPy reference computes in float64 (as the
layers do), so the like-for-like peer is torch in float64; torch in float32, what one would
normally run, is printed too. Each line gives the median time per epoch (the best of
`--repeats` interleaved runs), its ratios to torch in float64 and float32, and the test accuracy
after training.

The data come from `dlbook.data.load_mnist(download=False)`: set DLBOOK_DATA to a folder with
MNIST (CI's ../shared/data has the 10,000 test images, split 6,000/2,000/2,000); without it the
8x8 digits stand in. The loader's note is printed first.

Run from the repository root: `python benchmarks/mlp.py [--epochs E] [--hidden H] ...`.
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np
import torch
import torch.nn.functional as F

import dlbook.numpy as dnp
import dlbook.torch as dtorch
from dlbook import data


def numpy_run(x, y, x_test, y_test, args) -> tuple[float, float]:
    """Return (median seconds per epoch, test accuracy) of `dnp.mlp_train`."""
    rng = np.random.default_rng(args.seed)
    params = dnp.mlp_init([x.shape[1], args.hidden, 10], rng=rng, init="he")
    fit = dnp.mlp_train(
        params,
        x,
        y,
        epochs=args.epochs,
        lr=args.lr,
        batch_size=args.batch_size,
        rng=rng,
        progress=False,
    )
    _, acc = dnp.mlp_evaluate(fit.params, x_test, y_test)
    return statistics.median(fit.history["epoch_time"]), acc


def torch_run(x, y, x_test, y_test, args, dtype: torch.dtype) -> tuple[float, float]:
    """Return (median seconds per epoch, test accuracy) of `dtorch.fit` on the CPU."""
    dtorch.seed_everything(args.seed)
    model = dtorch.MLP([x.shape[1], args.hidden, 10], "relu").to(dtype)
    for layer in model:
        if isinstance(layer, torch.nn.Linear):  # the init of dnp.mlp_init(init="he")
            torch.nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
            torch.nn.init.zeros_(layer.bias)
    xt, yt = torch.tensor(x, dtype=dtype), torch.tensor(y)
    batches = dtorch.TensorBatches(
        xt, yt, args.batch_size, shuffle=True, generator=torch.Generator().manual_seed(args.seed)
    )
    opt = torch.optim.SGD(model.parameters(), lr=args.lr)
    history = dtorch.fit(
        model, batches, F.cross_entropy, opt, epochs=args.epochs, device="cpu", progress=False
    )
    pred = dtorch.predict(model, torch.tensor(x_test, dtype=dtype)).argmax(dim=1).numpy()
    return statistics.median(history.epoch_time), float(np.mean(pred == y_test))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    mnist = data.load_mnist(download=False)
    x = mnist.x_train.reshape(len(mnist.x_train), -1).astype(np.float64)
    x_test = mnist.x_test.reshape(len(mnist.x_test), -1).astype(np.float64)
    y, y_test = mnist.y_train, mnist.y_test
    print(
        f"{len(x):,} training examples, {x.shape[1]}-{args.hidden}-10 ReLU MLP, batch "
        f"{args.batch_size}, SGD lr {args.lr}, {args.epochs} epochs; CPU, torch "
        f"{torch.__version__} on {torch.get_num_threads()} threads, numpy {np.__version__} "
        "(mlp_train runs BLAS on 1 thread)"
    )
    runs = {
        "dlbook.numpy (float64)": lambda: numpy_run(x, y, x_test, y_test, args),
        "torch (float64)": lambda: torch_run(x, y, x_test, y_test, args, torch.float64),
        "torch (float32)": lambda: torch_run(x, y, x_test, y_test, args, torch.float32),
    }
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in runs}
    for _ in range(args.repeats):  # interleaved, so that a busy spell hits all of them
        for name, run in runs.items():
            results[name].append(run())
    # the fastest repeat is the least disturbed one; accuracy is the same in every repeat
    best = {name: (min(t for t, _ in r), r[0][1]) for name, r in results.items()}
    f64, f32 = best["torch (float64)"][0], best["torch (float32)"][0]
    print(
        f"{'implementation':<24} {'s/epoch':>8} {'vs torch f64':>13} {'vs torch f32':>13} "
        f"{'test acc':>9}"
    )
    for name, (seconds, acc) in best.items():
        print(
            f"{name:<24} {seconds:>8.3f} {seconds / f64:>12.2f}x {seconds / f32:>12.2f}x "
            f"{acc:>9.4f}"
        )
    ours, ours_acc = best["dlbook.numpy (float64)"]
    print(
        f"NumPy/torch time per epoch: {ours / f64:.2f} (torch float64), {ours / f32:.2f} (torch "
        f"float32); NumPy minus torch (float32) test accuracy: "
        f"{100 * (ours_acc - best['torch (float32)'][1]):+.2f} points"
    )


if __name__ == "__main__":
    main()
