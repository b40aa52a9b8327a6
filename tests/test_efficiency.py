"""dlbook.torch.efficiency: quantization, pruning, distillation."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import dlbook.torch as dtorch


@pytest.fixture(scope="module")
def lenet() -> nn.Module:
    torch.manual_seed(0)
    return dtorch.LeNet().eval()


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    return torch.rand(32, 1, 28, 28, generator=torch.Generator().manual_seed(1))


def _hand_distillation(s, t, y, temp, alpha):
    """The loss of Hinton et al. written out with explicit sums, in float64."""
    n, k = len(s), len(s[0])
    soft = 0.0
    hard = 0.0
    for i in range(n):
        zs = [s[i][j] / temp for j in range(k)]
        zt = [t[i][j] / temp for j in range(k)]
        ls = math.log(sum(math.exp(v) for v in zs))
        lt = math.log(sum(math.exp(v) for v in zt))
        q_student = [math.exp(v - ls) for v in zs]
        q_teacher = [math.exp(v - lt) for v in zt]
        soft += sum(q_teacher[j] * math.log(q_teacher[j] / q_student[j]) for j in range(k))
        l_all = math.log(sum(math.exp(s[i][j]) for j in range(k)))
        hard += l_all - s[i][y[i]]
    return alpha * temp**2 * soft / n + (1 - alpha) * hard / n


@pytest.mark.parametrize(("temp", "alpha"), [(1.0, 0.5), (4.0, 0.9), (20.0, 0.0), (0.5, 1.0)])
def test_distillation_loss_matches_hand_computation(temp, alpha):
    g = torch.Generator().manual_seed(0)
    s, t = (
        torch.randn(5, 4, generator=g, dtype=torch.float64),
        torch.randn(5, 4, generator=g, dtype=torch.float64) * 3,
    )
    y = torch.tensor([0, 3, 1, 2, 3])
    got = dtorch.distillation_loss(s, t, y, temp, alpha)
    want = _hand_distillation(s.tolist(), t.tolist(), y.tolist(), temp, alpha)
    assert got.item() == pytest.approx(want, rel=1e-12)


def test_distillation_gradient_at_large_temperature_matches_logit_matching():
    # Hinton et al. (eq. 3-4): for T >> |z| and zero-mean logits the soft term's gradient is
    # (z_s - z_t) / (N K), independent of T thanks to the T^2 factor.
    g = torch.Generator().manual_seed(0)
    n, k = 6, 10
    s = torch.randn(n, k, generator=g, dtype=torch.float64)
    t = torch.randn(n, k, generator=g, dtype=torch.float64)
    s, t = s - s.mean(1, keepdim=True), t - t.mean(1, keepdim=True)
    y = torch.zeros(n, dtype=torch.long)
    grads = []
    for temp in (100.0, 1000.0):
        z = s.clone().requires_grad_(True)
        dtorch.distillation_loss(z, t, y, temp, 1.0).backward()
        grads.append(z.grad)
    expected = (s - t) / (n * k)
    errors = [float((g - expected).abs().max() / expected.abs().max()) for g in grads]
    assert errors[0] < 2e-2
    assert errors[1] < errors[0] / 5  # the gap shrinks like 1/T
    assert float((grads[0] - grads[1]).abs().max()) < 0.02 * float(expected.abs().max())
    # and the teacher receives no gradient
    teacher = t.clone().requires_grad_(True)
    dtorch.distillation_loss(s.clone().requires_grad_(True), teacher, y, 10.0, 0.5).backward()
    assert teacher.grad is None


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"temperature": 0.0}, "temperature"),
        ({"temperature": -1.0}, "temperature"),
        ({"alpha": 1.5}, "alpha"),
    ],
)
def test_distillation_rejects_bad_hyperparameters(kwargs, match):
    args = {"temperature": 2.0, "alpha": 0.5, **kwargs}
    with pytest.raises(ValueError, match=match):
        dtorch.distillation_loss(
            torch.zeros(2, 3), torch.zeros(2, 3), torch.zeros(2, dtype=torch.long), **args
        )


def test_quantized_engine_is_supported():
    engine = dtorch.select_quantized_engine()
    assert engine in torch.backends.quantized.supported_engines
    assert torch.backends.quantized.engine == engine


def test_dynamic_int8_output_close_to_float(lenet, images):
    dtorch.select_quantized_engine()
    q = dtorch.quantize_dynamic_int8(lenet)
    ref, out = lenet(images), q(images)
    assert (out - ref).abs().max() < 0.05 * ref.abs().max()
    assert (out.argmax(1) == ref.argmax(1)).float().mean() >= 0.9
    assert any(
        "Quantized" in type(m).__name__ or "quantized" in type(m).__module__ for m in q.modules()
    )
    assert dtorch.model_size_bytes(q) < 0.5 * dtorch.model_size_bytes(lenet)


def test_static_int8_output_close_to_float(lenet, images):
    dtorch.select_quantized_engine()
    q = dtorch.quantize_static_int8(lenet, [images[:16], (images[16:], None)])
    ref, out = lenet(images), q(images)
    assert out.dtype == torch.float32
    assert (out - ref).abs().max() < 0.1 * ref.abs().max()
    assert dtorch.model_size_bytes(q) < 0.5 * dtorch.model_size_bytes(lenet)
    with pytest.raises(ValueError, match="calibration"):
        dtorch.quantize_static_int8(lenet, [])


@pytest.mark.parametrize("sparsity", [0.0, 0.3, 0.5, 0.9])
def test_unstructured_pruning_reaches_exactly_the_asked_sparsity(sparsity):
    torch.manual_seed(0)
    model = dtorch.LeNet()
    total = sum(m.weight.numel() for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear))
    dtorch.prune_magnitude(model, sparsity)
    assert dtorch.weight_sparsity(model) == round(sparsity * total) / total
    # the weights that were zeroed are the smallest in magnitude
    kept = torch.cat(
        [
            m.weight_orig[m.weight_mask.bool()].abs()
            for m in model.modules()
            if hasattr(m, "weight_mask")
        ]
    )
    dropped = torch.cat(
        [
            m.weight_orig[~m.weight_mask.bool()].abs()
            for m in model.modules()
            if hasattr(m, "weight_mask")
        ]
    )
    if len(dropped):
        assert dropped.max() <= kept.min()


def test_structured_pruning_zeroes_whole_channels_and_keeps_the_output_layer():
    torch.manual_seed(0)
    model = dtorch.LeNet()
    dtorch.prune_magnitude(model, 0.5, structured=True)
    conv1 = model.features[0]
    zero_filters = (conv1.weight.flatten(1) == 0).all(1)
    assert int(zero_filters.sum()) == round(0.5 * 6)
    fc1 = model.classifier[1]
    assert int((fc1.weight == 0).all(1).sum()) == 60
    assert (model.classifier[-1].weight != 0).all()


def test_pruned_weights_stay_zero_while_fine_tuning_and_after_removal():
    torch.manual_seed(0)
    model = dtorch.MLP([8, 16, 3])
    dtorch.prune_magnitude(model, 0.75)
    before = dtorch.weight_sparsity(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    x, y = torch.randn(64, 8), torch.randint(0, 3, (64,))
    for _ in range(5):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    assert (
        dtorch.weight_sparsity(model)
        == before
        == round(0.75 * (8 * 16 + 16 * 3)) / (8 * 16 + 16 * 3)
    )
    dtorch.remove_pruning(model)
    assert not any(hasattr(m, "weight_mask") for m in model.modules())
    assert dtorch.weight_sparsity(model) == before


@pytest.mark.parametrize("sparsity", [-0.1, 1.0, 1.5, float("nan")])
def test_pruning_rejects_sparsity_outside_0_1(sparsity):
    with pytest.raises(ValueError, match="sparsity"):
        dtorch.prune_magnitude(dtorch.MLP([2, 3]), sparsity)


def test_model_size_and_compression_see_the_zeros():
    torch.manual_seed(0)
    dense = dtorch.LeNet()
    pruned = dtorch.prune_magnitude(dtorch.LeNet(), 0.9)
    plain = dtorch.model_size_bytes(dense)
    assert plain > 4 * 61_706  # float32 weights plus the file's overhead
    assert dtorch.model_size_bytes(pruned) < plain * 1.01  # zeros stored densely cost the same
    assert dtorch.model_size_bytes(pruned, compress=True) < 0.5 * dtorch.model_size_bytes(
        dense, compress=True
    )


def test_measure_latency_returns_positive_seconds_and_restores_mode(lenet, images):
    lenet.train()
    t = dtorch.measure_latency(lenet, images, repeats=3, warmup=1)
    assert 0 < t < 10
    assert lenet.training
    lenet.eval()
    with pytest.raises(ValueError, match="repeats"):
        dtorch.measure_latency(lenet, images, repeats=0)
