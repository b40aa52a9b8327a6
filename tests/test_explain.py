"""dlbook.torch.explain: gradient saliency, integrated gradients, Grad-CAM, sanity checks."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import dlbook.torch as dtorch


@pytest.fixture(scope="module")
def cnn() -> nn.Module:
    torch.manual_seed(0)
    return dtorch.LeNet().double().eval()


@pytest.fixture(scope="module")
def x() -> torch.Tensor:
    return torch.rand(4, 1, 28, 28, generator=torch.Generator().manual_seed(0), dtype=torch.float64)


def test_saliency_is_the_gradient_of_the_class_logit(cnn, x):
    sal = dtorch.gradient_saliency(cnn, x, target=3, absolute=False)
    xi = x[:1].clone().requires_grad_(True)
    cnn(xi)[0, 3].backward()
    torch.testing.assert_close(sal[:1], xi.grad)
    assert (dtorch.gradient_saliency(cnn, x, target=3) == sal.abs()).all()


def test_saliency_defaults_to_the_predicted_class(cnn, x):
    pred = cnn(x).argmax(1)
    torch.testing.assert_close(
        dtorch.gradient_saliency(cnn, x), dtorch.gradient_saliency(cnn, x, pred)
    )


def _homogeneous_lenet() -> nn.Module:
    """LeNet with He-initialised weights and zero biases: f(a x) = a f(x) for a > 0."""
    torch.manual_seed(0)
    model = dtorch.LeNet()
    for m in model.modules():
        if isinstance(m, nn.Conv2d | nn.Linear):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            nn.init.zeros_(m.bias)
    return model.double().eval()


@pytest.mark.parametrize("baseline", ["zeros", "noise"])
def test_integrated_gradients_completeness_on_a_trained_relu_network(baseline):
    # what the book does: a ReLU network trained on real digits, the predicted class, black
    # baseline; the attributions of each digit sum to f(x) - f(0) within 1% at 64 steps
    from dlbook import data

    xs, ys = data.load_digits()
    x = torch.as_tensor(xs[:600], dtype=torch.float64).reshape(-1, 64)
    y = torch.as_tensor(ys[:600])
    torch.manual_seed(0)
    model = dtorch.MLP([64, 32, 10]).double()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(150):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    model.eval()
    test = x[-40:]
    base = torch.zeros(64, dtype=torch.float64)
    if baseline == "noise":
        base = 0.2 * torch.rand(64, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    attr = dtorch.integrated_gradients(model, test, baseline=base, steps=64)
    with torch.no_grad():
        out, out0 = model(test), model(base[None])
    pred = out.argmax(1)
    gap = out.gather(1, pred[:, None])[:, 0] - out0[0, pred]
    rel = (attr.sum(1) - gap).abs() / gap.abs()
    assert (rel <= 0.01).all(), rel.max()


def test_integrated_gradients_of_a_homogeneous_relu_network_is_exactly_complete(x):
    # zero biases: f(a x) = a f(x) for a > 0, so the gradient is constant along the path
    model = _homogeneous_lenet()
    attr = dtorch.integrated_gradients(model, x, target=3, steps=4)
    with torch.no_grad():
        gap = model(x)[:, 3]
    torch.testing.assert_close(attr.flatten(1).sum(1), gap)


def test_integrated_gradients_is_exact_for_a_linear_model():
    torch.manual_seed(0)
    lin = nn.Linear(5, 3).double()
    x = torch.randn(2, 5, dtype=torch.float64)
    attr = dtorch.integrated_gradients(lin, x, target=1, steps=1)
    torch.testing.assert_close(attr, x * lin.weight[1].detach())


def test_integrated_gradients_rejects_bad_arguments(cnn, x):
    with pytest.raises(ValueError, match="steps"):
        dtorch.integrated_gradients(cnn, x, steps=0)
    with pytest.raises(ValueError, match="baseline"):
        dtorch.integrated_gradients(cnn, x, baseline=torch.zeros(3, 3))
    with pytest.raises(ValueError, match="target"):
        dtorch.integrated_gradients(cnn, x, target=torch.tensor([1, 2]))


class ToyCNN(nn.Module):
    """conv (2 maps) -> ReLU -> global average pool -> linear: Grad-CAM has a closed form."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3, bias=False)
        self.act = nn.ReLU()
        self.fc = nn.Linear(2, 3)
        with torch.no_grad():
            self.conv.weight.copy_(
                torch.tensor(
                    [
                        [[[1.0, 0, -1], [2, 0, -2], [1, 0, -1]]],
                        [[[0.0, 1, 0], [1, -4, 1], [0, 1, 0]]],
                    ]
                )
            )
            self.fc.weight.copy_(torch.tensor([[0.5, -1.0], [2.0, 1.0], [-1.0, 0.25]]))
            self.fc.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.act(self.conv(x)).mean(dim=(2, 3)))


def test_grad_cam_equals_hand_computation_on_a_toy_network():
    net = ToyCNN().double()
    x = torch.rand(2, 1, 6, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    cam = dtorch.grad_cam(net, x, net.act, target=1, upsample=False)
    # by hand: A = relu(conv(x)) (N, 2, 4, 4); d f_1 / d A_k = w_1k / 16 at every position, so
    # alpha_k = w_1k / 16 and the map is relu(sum_k w_1k A_k / 16)
    a = torch.relu(nn.functional.conv2d(x, net.conv.weight))
    w = net.fc.weight[1].detach()
    expected = torch.relu((w[None, :, None, None] * a).sum(1) / 16)
    assert cam.shape == (2, 4, 4)
    torch.testing.assert_close(cam, expected)
    # class 0 has one negative weight: the map is a different picture
    assert not torch.allclose(dtorch.grad_cam(net, x, net.act, target=0, upsample=False), cam)


def test_grad_cam_upsamples_to_the_input_and_checks_its_layer(cnn, x):
    cam = dtorch.grad_cam(cnn, x, cnn.features[4])
    assert cam.shape == (4, 28, 28) and (cam >= 0).all()
    with pytest.raises(ValueError, match="submodule"):
        dtorch.grad_cam(cnn, x, nn.ReLU())


def test_randomize_layers_changes_only_the_top_layers(cnn):
    top = dtorch.randomize_layers(cnn, 1, seed=0)
    assert torch.equal(top.features[0].weight, cnn.features[0].weight)
    assert not torch.equal(top.classifier[-1].weight, cnn.classifier[-1].weight)
    whole = dtorch.randomize_layers(cnn, seed=0)
    assert not torch.equal(whole.features[0].weight, cnn.features[0].weight)
    again = dtorch.randomize_layers(cnn, seed=0)
    assert torch.equal(again.features[0].weight, whole.features[0].weight)  # seeded


def test_rank_correlation():
    a = torch.rand(3, 10, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(dtorch.rank_correlation(a, a), torch.ones(3, dtype=torch.float64))
    torch.testing.assert_close(dtorch.rank_correlation(a, -a), -torch.ones(3, dtype=torch.float64))
    torch.testing.assert_close(
        dtorch.rank_correlation(a, a**3 + 1), torch.ones(3, dtype=torch.float64)
    )
    with pytest.raises(ValueError, match="same shape"):
        dtorch.rank_correlation(a, a[:2])


def test_rank_correlation_gives_ties_their_mean_rank():
    # scipy.stats.spearmanr([0, 0, 0, 1, 2], [0, 0, 5, 0, 3]).statistic = 0.125
    a = torch.tensor([[0.0, 0, 0, 1, 2]])
    b = torch.tensor([[0.0, 0, 5, 0, 3]])
    torch.testing.assert_close(
        dtorch.rank_correlation(a, b), torch.tensor([0.125], dtype=torch.float64)
    )
    # two maps that share only a large zero background are not "the same ordering"
    c, d = torch.zeros(1, 100), torch.zeros(1, 100)
    c[0, :10], d[0, 90:] = torch.arange(1.0, 11), torch.arange(1.0, 11)
    assert dtorch.rank_correlation(c, d).item() < 0
