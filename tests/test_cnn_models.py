"""dlbook.torch.models.cnn: LeNet, BasicBlock, ResNet and PlainCNN."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import dlbook.torch as dtorch


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# ---------------------------------------------------------------------------------------------
# LeNet


def test_lenet_shapes_and_parameter_count():
    model = dtorch.LeNet()
    assert n_params(model) == 61_706  # 156 + 2,416 + 48,120 + 10,164 + 850
    x = torch.randn(4, 1, 28, 28)
    assert model.features(x).shape == (4, 16, 5, 5)
    assert model(x).shape == (4, 10)
    assert isinstance(model.classifier[-1], nn.Linear) and model.classifier[-1].in_features == 84
    rgb = dtorch.LeNet(3, 5, image_size=32)
    assert rgb(torch.randn(2, 3, 32, 32)).shape == (2, 5)
    assert rgb.classifier[1].in_features == 16 * 6 * 6


def test_lenet_is_modernised_relu_and_max_pool():
    kinds = {type(m) for m in dtorch.LeNet().modules()}
    assert nn.ReLU in kinds and nn.MaxPool2d in kinds
    assert not kinds & {nn.Tanh, nn.Sigmoid, nn.AvgPool2d}


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"in_channels": 0}, "in_channels"),
        ({"num_classes": 1}, "num_classes"),
        ({"image_size": 8}, "image_size"),
    ],
)
def test_lenet_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        dtorch.LeNet(**kwargs)


def test_lenet_rejects_wrong_input_shape():
    with pytest.raises(ValueError, match=r"\(N, C, 28, 28\); got \(2, 1, 8, 8\)"):
        dtorch.LeNet()(torch.zeros(2, 1, 8, 8))


def test_lenet_learns_a_toy_task():
    torch.manual_seed(0)
    x = torch.randn(64, 1, 28, 28)
    y = (x[:, 0, :14].mean(dim=(1, 2)) > x[:, 0, 14:].mean(dim=(1, 2))).long()  # top brighter?
    model = dtorch.LeNet(num_classes=2)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    history = dtorch.fit(
        model, [(x, y)], F.cross_entropy, opt, epochs=40, device="cpu", progress=False
    )
    assert history.train_loss[-1] < 0.2 * history.train_loss[0]


# ---------------------------------------------------------------------------------------------
# Residual blocks and networks


def test_basic_block_shapes_and_shortcuts():
    same = dtorch.BasicBlock(8, 8)
    assert isinstance(same.shortcut, nn.Identity)
    assert same(torch.randn(2, 8, 10, 10)).shape == (2, 8, 10, 10)
    down = dtorch.BasicBlock(8, 16, stride=2)
    assert isinstance(down.shortcut, nn.Sequential)  # 1x1 projection + batch norm
    assert down(torch.randn(2, 8, 9, 9)).shape == (2, 16, 5, 5)
    plain = dtorch.BasicBlock(8, 16, stride=2, residual=False)
    assert plain.shortcut is None


def test_basic_block_with_zero_residual_branch_is_the_identity():
    # relu(F(x) + x) with F = 0 gives relu(x) = x for x >= 0; the plain block gives 0 instead
    block = dtorch.BasicBlock(4, 4, batch_norm=False)
    plain = dtorch.BasicBlock(4, 4, batch_norm=False, residual=False)
    for b in (block, plain):
        nn.init.zeros_(b.conv2.weight)
        nn.init.zeros_(b.conv2.bias)
    x = torch.rand(2, 4, 6, 6)
    torch.testing.assert_close(block(x), x)
    assert torch.count_nonzero(plain(x)) == 0


def test_batch_norm_flag():
    with_bn = dtorch.BasicBlock(4, 4)
    without = dtorch.BasicBlock(4, 4, batch_norm=False)
    assert any(isinstance(m, nn.BatchNorm2d) for m in with_bn.modules())
    assert not any(isinstance(m, nn.BatchNorm2d) for m in without.modules())
    assert with_bn.conv1.bias is None and without.conv1.bias is not None


@pytest.mark.parametrize("cls", [dtorch.ResNet, dtorch.PlainCNN])
def test_resnet20_layout(cls):
    model = cls()
    assert model.depth == 20
    layers = model.weight_layers()
    assert len(layers) == 20
    assert isinstance(layers[0], nn.Conv2d) and layers[0].in_channels == 1
    assert all(isinstance(m, nn.Conv2d) for m in layers[:-1]) and layers[-1] is model.fc
    assert [m.out_channels for m in layers[1:-1]] == [16] * 6 + [32] * 6 + [64] * 6
    assert model(torch.randn(3, 1, 28, 28)).shape == (3, 10)
    assert dtorch.ResNet(blocks_per_stage=1, widths=(4, 8)).depth == 6


def test_plain_cnn_is_resnet_without_shortcuts():
    res, plain = dtorch.ResNet(), dtorch.PlainCNN()
    assert all(b.shortcut is None for b in plain.blocks)
    assert sum(b.shortcut is not None for b in res.blocks) == 9
    projections = sum(isinstance(b.shortcut, nn.Sequential) for b in res.blocks)
    assert projections == 2  # one per change of width
    # the projections (1x1 conv + batch norm) are the only extra parameters
    extra = 16 * 32 + 2 * 32 + 32 * 64 + 2 * 64
    assert n_params(res) - n_params(plain) == extra


def test_plain_net_gradients_vanish_and_residual_ones_do_not():
    """The chapter's measurement, on random images: no batch norm, torch's default init."""
    torch.manual_seed(0)
    x, y = torch.randn(32, 1, 28, 28), torch.randint(0, 10, (32,))
    ratios = {}
    for cls in (dtorch.PlainCNN, dtorch.ResNet):
        model = cls(batch_norm=False)
        F.cross_entropy(model(x), y).backward()
        norms = [m.weight.grad.norm().item() for m in model.weight_layers()]
        ratios[cls.__name__] = norms[0] / norms[-2]  # first conv / last conv
    assert ratios["PlainCNN"] < 1e-4
    assert ratios["ResNet"] > 1e-2


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"blocks_per_stage": 0}, "blocks_per_stage"),
        ({"widths": ()}, "widths"),
        ({"widths": (16, 0)}, "widths"),
        ({"num_classes": 1}, "num_classes"),
        ({"batch_norm": None}, "batch_norm must be True or False"),
    ],
)
def test_resnet_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        dtorch.ResNet(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"stride": 0}, "stride must be an int >= 1"),
        ({"out_channels": 2.0}, "out_channels must be an int"),
        ({"batch_norm": 1}, "batch_norm must be True or False"),
        ({"residual": "yes"}, "residual must be True or False"),
    ],
)
def test_basic_block_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        dtorch.BasicBlock(**{"in_channels": 4, "out_channels": 4, **kwargs})
