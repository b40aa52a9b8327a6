"""dlbook.torch.robust: FGSM and PGD under an L-infinity budget."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import dlbook.torch as dtorch


@pytest.fixture(scope="module")
def trained():
    """A small ReLU MLP trained for a moment on scikit-learn's 8x8 digits, pixels in [0, 1]."""
    from dlbook import data

    xs, ys = data.load_digits()
    x = torch.as_tensor(xs, dtype=torch.float32).reshape(-1, 64)
    y = torch.as_tensor(ys)
    torch.manual_seed(0)
    model = dtorch.MLP([64, 32, 10])
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(150):
        opt.zero_grad()
        F.cross_entropy(model(x[:1500]), y[:1500]).backward()
        opt.step()
    return model.eval(), x[1500:], y[1500:]


@pytest.mark.parametrize("eps", [0.0, 0.01, 0.05, 0.3])
@pytest.mark.parametrize("attack", ["fgsm", "pgd"])
def test_perturbation_within_budget_and_valid_range(trained, eps, attack):
    model, x, y = trained
    if attack == "fgsm":
        x_adv = dtorch.fgsm(model, x, y, eps)
    else:
        x_adv = dtorch.pgd(model, x, y, eps, steps=5, generator=torch.Generator().manual_seed(0))
    assert (x_adv - x).abs().max() <= eps + 1e-7
    assert x_adv.min() >= 0 and x_adv.max() <= 1
    assert not x_adv.requires_grad


def test_fgsm_is_the_signed_gradient_step(trained):
    model, x, y = trained
    xr = x.clone().requires_grad_(True)
    F.cross_entropy(model(xr), y).backward()
    expected = (x + 0.02 * xr.grad.sign()).clamp(0, 1)
    model.zero_grad(set_to_none=True)
    torch.testing.assert_close(dtorch.fgsm(model, x, y, 0.02), expected)
    assert all(p.grad is None for p in model.parameters())


def test_pgd_loss_at_least_fgsm_loss_on_the_same_batch(trained):
    model, x, y = trained
    for eps in (0.02, 0.05, 0.1, 0.2):
        with torch.no_grad():
            clean = F.cross_entropy(model(x), y)
            loss_fgsm = F.cross_entropy(model(dtorch.fgsm(model, x, y, eps)), y)
            loss_pgd = F.cross_entropy(
                model(
                    dtorch.pgd(
                        model, x, y, eps, steps=20, generator=torch.Generator().manual_seed(0)
                    )
                ),
                y,
            )
        assert clean < loss_fgsm <= loss_pgd


def test_attacks_lower_accuracy_and_eps_zero_is_clean(trained):
    model, x, y = trained
    clean = (model(x).argmax(1) == y).float().mean().item()
    assert dtorch.adversarial_accuracy(model, x, y, 0.0) == pytest.approx(clean)
    acc_fgsm = dtorch.adversarial_accuracy(model, x, y, 0.15, attack="fgsm")
    acc_pgd = dtorch.adversarial_accuracy(model, x, y, 0.15, attack="pgd", steps=10)
    assert acc_pgd <= acc_fgsm < clean


@pytest.mark.parametrize("bad", [-0.1, float("nan"), float("inf")])
def test_negative_or_non_finite_eps_is_rejected(trained, bad):
    model, x, y = trained
    with pytest.raises(ValueError, match="eps"):
        dtorch.fgsm(model, x, y, bad)
    with pytest.raises(ValueError, match="eps"):
        dtorch.pgd(model, x, y, bad)


def test_bad_range_and_attack_name(trained):
    model, x, y = trained
    with pytest.raises(ValueError, match="low < high"):
        dtorch.fgsm(model, x, y, 0.1, low=1.0, high=0.0)
    with pytest.raises(ValueError, match="attack"):
        dtorch.adversarial_accuracy(model, x, y, 0.1, attack="cw")
