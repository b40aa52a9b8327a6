"""Equal wall-clock race of a character-level LSTM and a small Transformer, at several budgets.

This is the race of the attention chapter (`chapters/attention.ipynb`, section
"Transformer against LSTM, at equal wall-clock time") as a script, so that it can run on a GPU
and for longer budgets than a chapter can afford. Both models train on `data.load_corpus()`
(the first nine tenths of the text; windows of 64 characters, the targets shifted by one) with
the chapter's settings:

- LSTM: `dtorch.CharRNN(V, 32, 128, cell="lstm")`, learning rate 5e-3;
- Transformer: `dtorch.DecoderLM(V, d_model=64, num_heads=4, num_layers=2, max_len=64)`,
  learning rate 3e-3;
- the same shuffled batches for both (`TensorBatches` with one seeded generator), AdamW with
  betas (0.9, 0.99) and no weight decay, a 20-step linear warm-up, gradient clipping at 1.0,
  and `dtorch.TimeLimit(budget)` to stop `fit` when the budget is spent.

Each budget starts from freshly initialised models (the same seed as the chapter), and both are
scored by `dtorch.windowed_bits_per_char` on the first 10,000 validation characters, in windows
of 64 (lower is better; a uniform guess scores log2 V). The evaluation is not timed. Before the
timed runs each model trains a few steps on a throwaway copy, so that neither pays for CUDA's
lazy start-up (context, cuDNN and cuBLAS handles, kernel loading) inside its budget; the chapter
has no such warm-up, so its first model pays it there.

On a CPU the LSTM wins these budgets; the Transformer's advantage, all 64 positions of a window
computed at once, needs parallel hardware, and the question here is whether and at which budget
the curves cross on a GPU. A batch of 16 windows leaves a GPU mostly idle, so `--batch 128`
asks the same question at a size the card can use (the learning rates stay the chapter's).

Run from the repository root:
`python benchmarks/lm_race.py [--device cuda] [--budgets 5 15 45] [--batch 16] [--threads T]`.
On the CPU it uses one thread unless `--threads` says otherwise. Prints one row per budget
(steps made and validation bits/char of each model, and which is ahead) as soon as it is done.
The numbers depend on the machine and its load, because the budgets are in seconds.
"""

from __future__ import annotations

import argparse
import math
import time

import torch
import torch.nn.functional as F
from fit_loop import sync  # the shared helper (benchmarks/ is on sys.path)

import dlbook.torch as dtorch
from dlbook import data

SEED = 0
SEQ_LEN = 64
VAL_CHARS = 10_000
WARMUP_STEPS = 20  # the learning-rate warm-up of the chapter
LEARNING_RATES = {"LSTM": 5e-3, "Transformer": 3e-3}


def load_windows(seq_len: int) -> tuple:
    """(corpus, x_windows, y_windows, val_ids): the chapter's split, as int64 CPU tensors."""
    corpus = data.load_corpus()
    train_ids = torch.as_tensor(corpus.train)
    n_windows = (len(train_ids) - 1) // seq_len
    x = train_ids[: n_windows * seq_len].view(n_windows, seq_len)
    y = train_ids[1 : n_windows * seq_len + 1].view(n_windows, seq_len)  # the next characters
    return corpus, x, y, corpus.val[:VAL_CHARS]


def make_model(name: str, vocab_size: int) -> torch.nn.Module:
    """A freshly initialised model, seeded as the chapter seeds it."""
    dtorch.seed_everything(SEED)
    if name == "LSTM":
        return dtorch.CharRNN(vocab_size, 32, 128, cell="lstm")
    return dtorch.DecoderLM(vocab_size, d_model=64, num_heads=4, num_layers=2, max_len=SEQ_LEN)


def lm_loss(out, y):
    logits = out[0] if isinstance(out, tuple) else out  # CharRNN returns (logits, state)
    return F.cross_entropy(logits.flatten(0, 1), y.flatten())


class StopAfter(dtorch.Callback):
    """Stop `fit` after a number of optimizer steps (for the untimed warm-up)."""

    def __init__(self, steps: int) -> None:
        self.steps = steps

    def on_batch_end(self, step: int, model: torch.nn.Module) -> bool:
        return step >= self.steps


def train(model, lr, stopper, x, y, batch, device) -> None:
    """The chapter's training recipe; `stopper` is the callback that ends it."""
    batches = dtorch.TensorBatches(
        x,
        y,
        batch,
        shuffle=True,
        device=device,
        generator=torch.Generator(device=device).manual_seed(SEED),
    )
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.99), weight_decay=0.0)
    warmup = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda step: min(1.0, (step + 1) / WARMUP_STEPS)
    )
    dtorch.fit(
        model,
        batches,
        lm_loss,
        opt,
        epochs=1000,
        device=device,
        accuracy=False,
        callbacks=[stopper],
        clip_grad_norm=1.0,
        scheduler=warmup,
        scheduler_interval="batch",
        progress=False,
    )


def race(name, seconds, vocab_size, x, y, val_ids, batch, device) -> tuple[int, float, float]:
    """Train a fresh model for `seconds`; return (steps, seconds used, validation bits/char)."""
    model = make_model(name, vocab_size)
    limit = dtorch.TimeLimit(seconds)
    train(model, LEARNING_RATES[name], limit, x, y, batch, device)
    sync(device)
    used = limit.elapsed  # includes the GPU work still queued when the limit was reached
    bpc = dtorch.windowed_bits_per_char(model, val_ids, context=SEQ_LEN)
    return limit.steps, used, bpc


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line: --budgets, --batch, --device, --threads, --warmup-steps."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--budgets", type=float, nargs="+", default=[5.0, 15.0, 45.0], help="seconds per model"
    )
    parser.add_argument("--batch", type=int, default=16, help="windows of 64 characters")
    parser.add_argument("--device", default=None, help="default: dtorch.get_device()")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (CPU: 1)")
    parser.add_argument(
        "--warmup-steps", type=int, default=10, help="untimed steps per model first (0: none)"
    )
    args = parser.parse_args(argv)
    if args.batch < 1 or args.warmup_steps < 0 or min(args.budgets) <= 0:
        parser.error("--batch and the budgets must be positive, --warmup-steps >= 0")
    if args.threads is not None and args.threads < 1:
        parser.error("--threads must be positive")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    device = torch.device(args.device) if args.device else dtorch.get_device()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    elif device.type == "cpu":
        torch.set_num_threads(1)  # small models: threads that wait for each other cost more
    corpus, x, y, val_ids = load_windows(SEQ_LEN)
    vocab_size = len(corpus.vocab)
    names = list(LEARNING_RATES)

    where = str(device)
    if device.type == "cuda":
        where += f" ({torch.cuda.get_device_name(device)})"
    print(f"device: {where}, torch {torch.__version__}, torch threads: {torch.get_num_threads()}")
    print(
        f"corpus: {corpus.source}, {vocab_size} symbols, {len(x):,} training windows of "
        f"{SEQ_LEN}; batch {args.batch}; validation on the first {len(val_ids):,} validation "
        "characters"
    )
    for name in names:
        n_params = sum(p.numel() for p in make_model(name, vocab_size).parameters())
        print(f"{name}: {n_params:,} parameters, learning rate {LEARNING_RATES[name]:g}")
    if args.warmup_steps:
        start = time.perf_counter()
        for name in names:  # untimed: CUDA's lazy start-up, on throwaway models
            model = make_model(name, vocab_size)
            train(
                model, LEARNING_RATES[name], StopAfter(args.warmup_steps), x, y, args.batch, device
            )
            dtorch.windowed_bits_per_char(model, val_ids[: 4 * SEQ_LEN], context=SEQ_LEN)
        sync(device)
        print(f"warm-up: {args.warmup_steps} steps per model, {time.perf_counter() - start:.1f} s")

    header = f"{'budget (s)':>10s}"
    for name in names:
        header += f" {name + ' steps':>18s} {'bits/char':>9s}"
    print(f"\n{header} {'ahead':>12s}")
    rates: dict[str, float] = {}
    for seconds in args.budgets:
        row = f"{seconds:10g}"
        bpcs = {}
        for name in names:
            steps, used, bpcs[name] = race(
                name, seconds, vocab_size, x, y, val_ids, args.batch, device
            )
            rates[name] = steps / used
            row += f" {steps:18,d} {bpcs[name]:9.3f}"
        ahead = min(bpcs, key=bpcs.get)
        print(f"{row} {ahead:>12s}", flush=True)
    print(f"(a uniform guess scores log2 {vocab_size} = {math.log2(vocab_size):.3f} bits/char)")
    print(
        f"steps per second in the last budget on {where}: "
        + ", ".join(f"{name} {rate:,.1f}" for name, rate in rates.items())
    )


if __name__ == "__main__":
    main()
