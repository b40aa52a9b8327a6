"""Models built from torch's own layers, so that their parameters keep torch's names.

Book: chapter "From neurons to the perceptron" (XOR), chapter "Convolutional networks" (LeNet,
ResNet) and the later chapters.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

from torch import Tensor, nn

__all__ = ["MLP", "BasicBlock", "LeNet", "PlainCNN", "ResNet"]

_ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}


def _activation(name: str | nn.Module, arg: str) -> nn.Module:
    if isinstance(name, nn.Module):
        return name
    if not isinstance(name, str) or name.lower() not in _ACTIVATIONS:
        raise ValueError(f"{arg} must be one of {sorted(_ACTIVATIONS)}; got {name!r}")
    return _ACTIVATIONS[name.lower()]()


class MLP(nn.Sequential):
    """A multilayer perceptron: Linear(sizes[0], sizes[1]), act, ..., Linear(sizes[-2], sizes[-1]).

    Maps x (N, sizes[0]) to (N, sizes[-1]). The hidden layers use `activation` ("relu", "tanh" or
    "sigmoid"); the output is left linear (logits) unless `final_activation` names one of those
    or is an `nn.Module`. Being an `nn.Sequential`, its parameters are named `0.weight`,
    `0.bias`, `2.weight`, ... like any Sequential's. Example: `MLP([2, 4, 1], "tanh")`.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str = "relu",
        *,
        final_activation: str | nn.Module | None = None,
    ) -> None:
        if isinstance(sizes, str) or not isinstance(sizes, Sequence) or len(sizes) < 2:
            raise ValueError(
                f"sizes must be a sequence of at least 2 layer widths (in, ..., out); got {sizes!r}"
            )
        for s in sizes:
            if isinstance(s, bool) or not isinstance(s, int) or s <= 0:
                raise ValueError(f"sizes must hold positive ints; got {list(sizes)!r}")
        _activation(activation, "activation")  # validate even when there is no hidden layer
        layers: list[nn.Module] = []
        for i, (d_in, d_out) in enumerate(pairwise(sizes)):
            layers.append(nn.Linear(d_in, d_out))
            if i < len(sizes) - 2:
                layers.append(_activation(activation, "activation"))
        if final_activation is not None:
            layers.append(_activation(final_activation, "final_activation"))
        super().__init__(*layers)
        self.sizes = tuple(sizes)


# ---------------------------------------------------------------------------------------------
# Convolutional networks. Book: chapter "Convolutional networks" (`chapters/cnn.ipynb`).


def _positive_int(name: str, value: object, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}; got {value!r}")
    return value


class LeNet(nn.Module):
    """LeNet-5 (LeCun et al., 1998), modernised: maps images (N, C, H, W) to logits (N, K).

    conv 5x5 (6 filters, padding 2), ReLU, max-pool 2, conv 5x5 (16 filters), ReLU, max-pool 2,
    then linear 120, ReLU, linear 84, ReLU, linear K. The changes from the 1998 network: ReLU
    instead of the scaled tanh, max-pooling instead of trainable average subsampling, every C3
    map connected to all six S2 maps (the original used a sparse table), and a linear output
    for softmax cross-entropy instead of the Gaussian (RBF) output units. Padding 2 on a 28x28
    image plays the role of the original 32x32 input frame. Parameters are 61,706 for C=1, K=10.

    `features` holds the convolutional part and `classifier` the fully connected part; its last
    layer, `classifier[-1]`, is the head that transfer learning replaces. Book:
    {ref}`sec-cnn-lenet`.
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 10, *, image_size: int = 28):
        super().__init__()
        c = _positive_int("in_channels", in_channels)
        k = _positive_int("num_classes", num_classes, 2)
        size = _positive_int("image_size", image_size, 12)
        s = (size // 2 - 4) // 2  # 28 -> 28 (padding 2) -> 14 -> 10 -> 5
        self.image_size = size
        self.features = nn.Sequential(
            nn.Conv2d(c, 6, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(16 * s * s, 120),
            nn.ReLU(),
            nn.Linear(120, 84),
            nn.ReLU(),
            nn.Linear(84, k),
        )

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4 or x.shape[-2:] != (self.image_size, self.image_size):
            raise ValueError(
                f"x must have shape (N, C, {self.image_size}, {self.image_size}); "
                f"got {tuple(x.shape)}"
            )
        return self.classifier(self.features(x))


class BasicBlock(nn.Module):
    """The two-layer residual block of He et al. (2016): relu(F(x) + shortcut(x)).

    F is conv 3x3 (stride `stride`), batch norm, ReLU, conv 3x3, batch norm; x is
    (N, in_channels, H, W) and the output (N, out_channels, ceil(H / stride), ceil(W / stride)).
    The shortcut is the identity when the shapes agree, else a 1x1 convolution with that stride
    followed by batch norm (the paper's projection shortcut, option B). `batch_norm=False` drops
    the batch norms (the convolutions then get biases); `residual=False` drops the shortcut,
    leaving the block of a plain network, relu(F(x)). Book: {ref}`sec-cnn-resnet`.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        *,
        batch_norm: bool = True,
        residual: bool = True,
    ) -> None:
        super().__init__()
        c_in = _positive_int("in_channels", in_channels)
        c_out = _positive_int("out_channels", out_channels)
        stride = _positive_int("stride", stride)

        def norm() -> nn.Module:
            return nn.BatchNorm2d(c_out) if batch_norm else nn.Identity()

        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, padding=1, bias=not batch_norm)
        self.bn1 = norm()
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, padding=1, bias=not batch_norm)
        self.bn2 = norm()
        self.relu = nn.ReLU()
        self.residual = residual
        self.shortcut: nn.Module | None = None
        if residual:
            if stride == 1 and c_in == c_out:
                self.shortcut = nn.Identity()
            else:
                self.shortcut = nn.Sequential(
                    nn.Conv2d(c_in, c_out, 1, stride, bias=not batch_norm), norm()
                )

    def forward(self, x: Tensor) -> Tensor:
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        if self.shortcut is not None:
            out = out + self.shortcut(x)  # the identity path: d(out)/dx contains I
        return self.relu(out)


class ResNet(nn.Module):
    """A small ResNet for 28x28 digits, after the CIFAR-10 networks of He et al. (2016).

    A 3x3 stem convolution with widths[0] filters, then len(widths) stages of
    `blocks_per_stage` BasicBlocks (the first block of every stage after the first halves the
    resolution and changes the width), global average pooling and a linear layer to
    num_classes logits. It has 2 * blocks_per_stage * len(widths) + 2 weighted layers on the main
    path: 20 with the defaults (ResNet-20). Maps (N, in_channels, H, W) to (N, num_classes).
    `residual=False` gives the plain network of the same depth (see `PlainCNN`).
    Book: {ref}`sec-cnn-resnet`.
    """

    def __init__(
        self,
        in_channels: int = 1,
        num_classes: int = 10,
        *,
        blocks_per_stage: int = 3,
        widths: Sequence[int] = (16, 32, 64),
        batch_norm: bool = True,
        residual: bool = True,
    ) -> None:
        super().__init__()
        c = _positive_int("in_channels", in_channels)
        k = _positive_int("num_classes", num_classes, 2)
        n = _positive_int("blocks_per_stage", blocks_per_stage)
        if isinstance(widths, str) or not isinstance(widths, Sequence) or not widths:
            raise ValueError(f"widths must be a non-empty sequence of ints; got {widths!r}")
        widths = [_positive_int("widths", w) for w in widths]
        self.stem = nn.Sequential(
            nn.Conv2d(c, widths[0], 3, padding=1, bias=not batch_norm),
            nn.BatchNorm2d(widths[0]) if batch_norm else nn.Identity(),
            nn.ReLU(),
        )
        blocks: list[nn.Module] = []
        c_in = widths[0]
        for stage, width in enumerate(widths):
            for i in range(n):
                stride = 2 if stage > 0 and i == 0 else 1
                blocks.append(
                    BasicBlock(c_in, width, stride, batch_norm=batch_norm, residual=residual)
                )
                c_in = width
        self.blocks = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c_in, k)
        self.depth = 2 * n * len(widths) + 2

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4:
            raise ValueError(f"x must have shape (N, C, H, W); got {tuple(x.shape)}")
        return self.fc(self.pool(self.blocks(self.stem(x))).flatten(1))

    def weight_layers(self) -> list[nn.Module]:
        """The `depth` weighted layers of the main path, input to output: the stem convolution,
        the two convolutions of each block, and the final linear layer (no shortcuts)."""
        layers: list[nn.Module] = [self.stem[0]]
        for block in self.blocks:
            layers += [block.conv1, block.conv2]
        return [*layers, self.fc]


class PlainCNN(ResNet):
    """The plain network of He et al. (2016): a `ResNet` with the shortcuts removed.

    Same layers, widths and depth (20 with the defaults), so that a comparison of the two
    isolates the effect of the identity paths. Book: {ref}`sec-cnn-resnet`.
    """

    def __init__(
        self,
        in_channels: int = 1,
        num_classes: int = 10,
        *,
        blocks_per_stage: int = 3,
        widths: Sequence[int] = (16, 32, 64),
        batch_norm: bool = True,
    ) -> None:
        super().__init__(
            in_channels,
            num_classes,
            blocks_per_stage=blocks_per_stage,
            widths=widths,
            batch_norm=batch_norm,
            residual=False,
        )
