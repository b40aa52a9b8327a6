"""Smaller and faster networks: int8 quantization, magnitude pruning and knowledge distillation.

Book: chapter "Efficient, trustworthy and distributed deep learning" ({ref}`ch-efficient`).

Quantization uses PyTorch's eager-mode API, `torch.ao.quantization`. PyTorch has announced that
it moves to the separate `torchao` package; the functions here silence its deprecation
warnings so that a notebook stays readable, and keep working as long as torch ships it.
"""

from __future__ import annotations

import contextlib
import copy
import io
import statistics
import time
import warnings
import zlib
from collections.abc import Iterable, Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import prune

from dlbook.checks import check_fraction, check_int, check_positive

__all__ = [
    "distillation_loss",
    "measure_latency",
    "model_size_bytes",
    "prune_magnitude",
    "quantize_dynamic_int8",
    "quantize_static_int8",
    "remove_pruning",
    "select_quantized_engine",
    "weight_sparsity",
]

_ENGINE_PREFERENCE = ("x86", "fbgemm", "qnnpack", "onednn")


@contextlib.contextmanager
def _quiet_quantization() -> Iterator[None]:
    # torch.ao.quantization warns on every call that it is deprecated in favour of torchao
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*quantize_per_tensor.*")
        warnings.filterwarnings("ignore", message=".*reduce_range.*")
        warnings.filterwarnings("ignore", message=".*TypedStorage.*")
        yield


def _engine_works(engine: str) -> bool:
    previous = torch.backends.quantized.engine
    try:
        torch.backends.quantized.engine = engine
        with _quiet_quantization():
            layer = torch.ao.quantization.quantize_dynamic(
                nn.Sequential(nn.Linear(4, 2)), {nn.Linear}, dtype=torch.qint8
            )
            layer(torch.ones(1, 4))
        return True
    except (RuntimeError, AssertionError):
        return False
    finally:
        torch.backends.quantized.engine = previous


def select_quantized_engine(preferred: Sequence[str] = _ENGINE_PREFERENCE) -> str:
    """Set `torch.backends.quantized.engine` to the first of `preferred` that runs here; return it.

    The engines are the int8 kernel libraries: "x86" (fbgemm and oneDNN, chosen per operator) and
    "fbgemm" on x86 CPUs, "qnnpack" on ARM (phones) and as a portable fallback. An engine counts
    as working when it is in `torch.backends.quantized.supported_engines` and a dynamically
    quantized linear layer runs with it. ValueError when none of `preferred` works.
    """
    supported = set(torch.backends.quantized.supported_engines)
    for engine in preferred:
        if engine in supported and _engine_works(engine):
            torch.backends.quantized.engine = engine
            return engine
    raise ValueError(
        f"none of the quantized engines {list(preferred)} works here; "
        f"torch supports {sorted(supported)}"
    )


def quantize_dynamic_int8(model: nn.Module) -> nn.Module:
    """A copy of `model` whose nn.Linear layers hold int8 weights (post-training, dynamic).

    Weights are quantized once, per tensor, to int8 with a scale and zero point; activations are
    quantized on the fly, batch by batch, from their observed range, so no calibration data is
    needed. Other layers (convolutions included) stay in float32. The copy is in eval mode and
    runs on the CPU with `torch.backends.quantized.engine`. Book: {ref}`sec-efficient-quant`.
    """
    with _quiet_quantization():
        return torch.ao.quantization.quantize_dynamic(
            copy.deepcopy(model).cpu().eval(), {nn.Linear}, dtype=torch.qint8
        )


def _fuse_conv_linear_relu(module: nn.Module) -> None:
    """Fuse every (Conv2d, ReLU) and (Linear, ReLU) pair that follows each other in a Sequential."""
    sequentials = [m for m in module.modules() if isinstance(m, nn.Sequential)]  # before fusing
    for child in sequentials:
        names = list(child._modules)
        pairs = [
            [a, b]
            for a, b in zip(names, names[1:], strict=False)
            if isinstance(child._modules[a], nn.Conv2d | nn.Linear)
            and isinstance(child._modules[b], nn.ReLU)
        ]
        if pairs:
            torch.ao.quantization.fuse_modules(child, pairs, inplace=True)


def quantize_static_int8(
    model: nn.Module, calibration: Iterable[torch.Tensor | tuple[torch.Tensor, ...]]
) -> nn.Module:
    """A copy of `model` with int8 weights AND int8 activations (post-training, static).

    Steps (eager mode): wrap the model between a quantize and a dequantize stub; fuse each
    Conv2d or Linear with the ReLU that follows it inside an nn.Sequential (so the pair becomes
    one int8 kernel); insert observers; run the `calibration` batches (tensors x, or (x, y)
    tuples whose first entry is x) through it to record each activation's range; convert.
    Weights get per-channel scales, activations a per-tensor scale and zero point fixed by
    calibration. Works for models built from Sequentials of Conv2d, Linear, ReLU, MaxPool2d and
    Flatten, such as `dtorch.LeNet`. Input and output stay float32. Book:
    {ref}`sec-efficient-quant`.
    """
    engine = torch.backends.quantized.engine
    with _quiet_quantization():
        wrapped = torch.ao.quantization.QuantWrapper(copy.deepcopy(model).cpu().eval()).eval()
        _fuse_conv_linear_relu(wrapped.module)
        wrapped.qconfig = torch.ao.quantization.get_default_qconfig(engine)
        torch.ao.quantization.prepare(wrapped, inplace=True)
        seen = 0
        with torch.no_grad():
            for batch in calibration:
                x = batch[0] if isinstance(batch, tuple | list) else batch
                wrapped(x.cpu())
                seen += 1
        if seen == 0:
            raise ValueError("calibration is empty; expected at least one batch of inputs")
        torch.ao.quantization.convert(wrapped, inplace=True)
    return wrapped


def _prunable(model: nn.Module, structured: bool) -> list[nn.Module]:
    layers = [m for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    if structured:
        # removing output units of the last layer would remove classes: keep it whole
        layers = layers[:-1]
    if not layers:
        raise ValueError("model has no Conv2d or Linear layer to prune")
    return layers


def prune_magnitude(model: nn.Module, sparsity: float, *, structured: bool = False) -> nn.Module:
    """Zero the smallest-magnitude weights of `model` in place (torch.nn.utils.prune); return it.

    Unstructured (default): one global threshold over the weights of every Conv2d and Linear
    layer, so exactly round(sparsity * total) weights become 0; layers with many small weights
    lose more. Structured (`structured=True`): in each Conv2d and Linear except the last,
    round(sparsity * rows) whole output channels or units with the smallest L1 norm become 0,
    which a dense kernel can skip once they are removed. Biases are kept.

    The zeros are kept by a mask (`weight = weight_orig * weight_mask`), so fine-tuning after
    pruning leaves them at 0; `remove_pruning` makes them permanent. Pruning an already pruned
    model combines the masks. `sparsity` must lie in [0, 1). Book: {ref}`sec-efficient-prune`.
    """
    sparsity = check_fraction("sparsity", sparsity)
    structured = bool(structured)
    layers = _prunable(model, structured)
    if structured:
        for layer in layers:
            prune.ln_structured(layer, "weight", amount=sparsity, n=1, dim=0)
    else:
        prune.global_unstructured(
            [(layer, "weight") for layer in layers],
            pruning_method=prune.L1Unstructured,
            amount=sparsity,
        )
    return model


def remove_pruning(model: nn.Module) -> nn.Module:
    """Make pruning permanent in place: fold each mask into `weight` and drop the hooks."""
    for m in model.modules():
        if prune.is_pruned(m) and hasattr(m, "weight_mask"):
            prune.remove(m, "weight")
    return model


def weight_sparsity(model: nn.Module) -> float:
    """Fraction of exactly-zero entries in the weights of the model's Conv2d and Linear layers."""
    weights = [m.weight for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    if not weights:
        raise ValueError("model has no Conv2d or Linear layer")
    zeros = sum(int((w == 0).sum()) for w in weights)
    return zeros / sum(w.numel() for w in weights)


def model_size_bytes(model: nn.Module, *, compress: bool = False) -> int:
    """Bytes of `torch.save(model.state_dict())`: the size of the model file on disk.

    With `compress=True`, the size after zlib compression (level 9), which is what a model
    saved with many zeros (pruning) or few distinct values (quantization) can shrink to.
    """
    buffer = io.BytesIO()
    state = dict(model.state_dict())
    for key in [k for k in state if k.endswith("_orig")]:  # a pruned weight: save orig * mask
        name = key.removesuffix("_orig")
        state[name] = state.pop(key) * state.pop(name + "_mask")
    with _quiet_quantization():
        torch.save(state, buffer)
    payload = buffer.getvalue()
    return len(zlib.compress(payload, 9)) if compress else len(payload)


def measure_latency(
    model: nn.Module, x: torch.Tensor, *, repeats: int = 20, warmup: int = 3
) -> float:
    """Median wall-clock seconds of one forward pass of `model` on the batch `x`, no gradients.

    The median of `repeats` timed runs after `warmup` untimed ones is robust to the other
    programs that share a CPU. Runs in eval mode and restores the previous mode.
    """
    repeats = check_int("repeats", repeats)
    warmup = check_int("warmup", warmup, minimum=0)
    was_training = model.training
    model.eval()
    times = []
    try:
        with torch.no_grad():
            for i in range(warmup + repeats):
                start = time.perf_counter()
                model(x)
                if i >= warmup:
                    times.append(time.perf_counter() - start)
    finally:
        model.train(was_training)
    return statistics.median(times)


def distillation_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    targets: torch.Tensor,
    temperature: float,
    alpha: float,
) -> torch.Tensor:
    """Knowledge distillation (Hinton, Vinyals & Dean, 2015), averaged over the batch.

    loss = alpha * T^2 * KL(softmax(t / T) || softmax(s / T)) + (1 - alpha) * CE(s, y)

    for student logits s (N, K), teacher logits t (N, K) and integer targets y (N,). The soft
    term is the cross-entropy between the softened distributions minus the teacher's entropy,
    a constant, so it has the same gradient as Hinton et al.'s soft-target cross-entropy. Its
    gradient with respect to s scales as 1/T, which the factor T^2 undoes: the soft and hard
    terms keep their relative weight whatever the temperature. No gradient flows into the
    teacher. `temperature` > 0; `alpha` in [0, 1]. Book: {ref}`sec-efficient-distill`.
    """
    temperature = check_positive("temperature", temperature)
    alpha = check_fraction("alpha", alpha, high_open=False)
    if student_logits.ndim != 2 or student_logits.shape != teacher_logits.shape:
        raise ValueError(
            "student_logits and teacher_logits must both have shape (N, K); got "
            f"{tuple(student_logits.shape)} and {tuple(teacher_logits.shape)}"
        )
    log_p_student = F.log_softmax(student_logits / temperature, dim=1)
    log_p_teacher = F.log_softmax(teacher_logits.detach() / temperature, dim=1)
    soft = F.kl_div(log_p_student, log_p_teacher, reduction="batchmean", log_target=True)
    hard = F.cross_entropy(student_logits, targets)
    return alpha * temperature**2 * soft + (1 - alpha) * hard
