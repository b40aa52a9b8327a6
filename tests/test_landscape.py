"""dlbook.torch.landscape: loss slices along filter-normalized and interpolation directions."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch import nn

import dlbook.torch as dtorch

LOSS = nn.CrossEntropyLoss()


def small_net(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 3)).double()


def batch(seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(20, 5, generator=g, dtype=torch.float64), torch.randint(0, 3, (20,))


def test_slice_at_zero_is_the_models_loss_and_weights_stay():
    net, (x, y) = small_net(), batch()
    before = [p.detach().clone() for p in net.parameters()]
    d = dtorch.filter_normalized_direction(net, generator=torch.Generator().manual_seed(0))
    losses = dtorch.loss_along(net, LOSS, x, y, d, [-1.0, 0.0, 0.5])
    with torch.no_grad():
        assert losses[1] == pytest.approx(LOSS(net(x), y).item(), rel=1e-12)
    assert losses.shape == (3,) and losses.dtype == np.float64
    assert not np.allclose(losses[0], losses[1])
    for p, q in zip(net.parameters(), before, strict=True):
        assert torch.equal(p, q)


def test_slice_point_equals_a_model_with_moved_weights():
    net, (x, y) = small_net(), batch()
    d = dtorch.filter_normalized_direction(net, generator=torch.Generator().manual_seed(3))
    moved = copy.deepcopy(net)
    with torch.no_grad():
        for p, di in zip(moved.parameters(), d, strict=True):
            p += 0.7 * di
        want = LOSS(moved(x), y).item()
    assert dtorch.loss_along(net, LOSS, x, y, d, [0.7])[0] == pytest.approx(want, rel=1e-12)


def test_filter_normalized_directions_have_the_filter_norms_of_the_weights():
    net = small_net()
    d = dtorch.filter_normalized_direction(net, generator=torch.Generator().manual_seed(0))
    for p, di in zip(net.parameters(), d, strict=True):
        assert di.shape == p.shape
        if p.dim() == 1:
            assert torch.count_nonzero(di) == 0  # biases stay fixed
        else:
            torch.testing.assert_close(di.norm(dim=1), p.detach().norm(dim=1))
            assert not torch.allclose(di, p)  # a random direction, not the weights themselves
    kept = dtorch.filter_normalized_direction(net, ignore_biases=False)
    torch.testing.assert_close(kept[1], net[0].bias.detach())


def test_conv_filters_are_normalized_per_output_channel():
    conv = nn.Conv2d(2, 4, 3).double()
    d = dtorch.filter_normalized_direction(conv, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(
        d[0].flatten(1).norm(dim=1), conv.weight.detach().flatten(1).norm(dim=1)
    )


def test_the_direction_depends_on_the_generator_only():
    net = small_net()
    a = dtorch.filter_normalized_direction(net, generator=torch.Generator().manual_seed(5))
    b = dtorch.filter_normalized_direction(net, generator=torch.Generator().manual_seed(5))
    c = dtorch.filter_normalized_direction(net, generator=torch.Generator().manual_seed(6))
    assert torch.equal(a[0], b[0]) and not torch.equal(a[0], c[0])


def test_interpolation_reaches_both_ends():
    start, end, (x, y) = small_net(0), small_net(1), batch()
    d = dtorch.direction_between(start, end)
    losses = dtorch.loss_along(start, LOSS, x, y, d, [0.0, 1.0])
    with torch.no_grad():
        assert losses[0] == pytest.approx(LOSS(start(x), y).item(), rel=1e-12)
        assert losses[1] == pytest.approx(LOSS(end(x), y).item(), rel=1e-10)
    with pytest.raises(ValueError, match="same shapes"):
        dtorch.direction_between(start, nn.Linear(5, 3))


def test_plane_layout_and_its_axes():
    net, (x, y) = small_net(), batch()
    g = torch.Generator().manual_seed(0)
    d1 = dtorch.filter_normalized_direction(net, generator=g)
    d2 = dtorch.filter_normalized_direction(net, generator=g)
    alphas, betas = np.array([-0.5, 0.0, 0.5]), np.array([0.0, 0.25])
    plane = dtorch.loss_plane(net, LOSS, x, y, d1, d2, alphas, betas)
    assert plane.shape == (2, 3)
    np.testing.assert_allclose(plane[0], dtorch.loss_along(net, LOSS, x, y, d1, alphas), rtol=1e-12)
    col = dtorch.loss_along(net, LOSS, x, y, d2, betas)
    np.testing.assert_allclose(plane[:, 1], col, rtol=1e-12)


def test_eval_mode_during_the_slice_and_mode_restored():
    net = nn.Sequential(nn.Linear(5, 7), nn.Dropout(0.5), nn.Linear(7, 3)).double()
    x, y = batch()
    d = dtorch.filter_normalized_direction(net)
    net.train()
    a = dtorch.loss_along(net, LOSS, x, y, d, [0.0, 0.0])
    assert a[0] == a[1]  # no dropout noise
    assert net.training


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda d: d[:-1], "direction must be a list of 4"),
        (lambda d: [d[0][:, :2], *d[1:]], r"direction\[0\] must be a tensor of shape \(7, 5\)"),
        (lambda d: [np.zeros((7, 5)), *d[1:]], r"direction\[0\]"),
    ],
)
def test_bad_directions_raise(make, match):
    net, (x, y) = small_net(), batch()
    d = dtorch.filter_normalized_direction(net)
    with pytest.raises(ValueError, match=match):
        dtorch.loss_along(net, LOSS, x, y, make(d), [0.0])


def test_bad_coefficients_raise():
    net, (x, y) = small_net(), batch()
    d = dtorch.filter_normalized_direction(net)
    with pytest.raises(ValueError, match="alphas"):
        dtorch.loss_along(net, LOSS, x, y, d, [[0.0, 1.0]])
    with pytest.raises(ValueError, match="betas"):
        dtorch.loss_plane(net, LOSS, x, y, d, d, [0.0], [np.nan])
    with pytest.raises(ValueError, match="direction2"):
        dtorch.loss_plane(net, LOSS, x, y, d, d[:-1], [0.0], [0.0])


def test_loss_hessian_matches_torch_autograd_functional():
    net, (x, y) = small_net(), batch()
    H = dtorch.loss_hessian(net, LOSS, x, y)
    params = list(net.parameters())
    P = sum(p.numel() for p in params)
    assert H.shape == (P, P)
    names = [n for n, _ in net.named_parameters()]

    def loss_of(*ps):
        return LOSS(torch.func.functional_call(net, dict(zip(names, ps, strict=True)), (x,)), y)

    blocks = torch.autograd.functional.hessian(loss_of, tuple(p.detach() for p in params))
    want = torch.cat(
        [
            torch.cat(
                [b.reshape(pi.numel(), pj.numel()) for b, pj in zip(row, params, strict=True)], 1
            )
            for row, pi in zip(blocks, params, strict=True)
        ]
    )
    torch.testing.assert_close(H, want, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(H, H.T, rtol=0, atol=1e-12)


def test_loss_hessian_of_a_quadratic_is_its_matrix():
    lin = nn.Linear(3, 1, bias=False).double()
    x = torch.randn(50, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    H = dtorch.loss_hessian(lin, nn.MSELoss(), x, torch.zeros(50, 1, dtype=torch.float64))
    torch.testing.assert_close(H, 2 * x.T @ x / 50)  # mean((x w)^2) has Hessian 2 X^T X / N
