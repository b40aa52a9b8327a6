"""Convolutional networks: LeNet-5, the residual block and a small ResNet with its plain twin.

Built from torch's own layers, so that parameters keep torch's names. Book: chapter
"Convolutional networks" (`chapters/cnn.ipynb`).
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from dlbook.checks import check_bool, check_int

__all__ = ["BasicBlock", "LeNet", "PlainCNN", "ResNet"]


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
        c = check_int("in_channels", in_channels)
        k = check_int("num_classes", num_classes, minimum=2)
        size = check_int("image_size", image_size, minimum=12)
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
        c_in = check_int("in_channels", in_channels)
        c_out = check_int("out_channels", out_channels)
        stride = check_int("stride", stride)
        batch_norm, residual = (
            check_bool("batch_norm", batch_norm),
            check_bool("residual", residual),
        )

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
        c = check_int("in_channels", in_channels)
        k = check_int("num_classes", num_classes, minimum=2)
        n = check_int("blocks_per_stage", blocks_per_stage)
        if isinstance(widths, str) or not isinstance(widths, Sequence) or not widths:
            raise ValueError(f"widths must be a non-empty sequence of ints; got {widths!r}")
        widths = [check_int("widths", w) for w in widths]
        batch_norm, residual = (
            check_bool("batch_norm", batch_norm),
            check_bool("residual", residual),
        )
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
