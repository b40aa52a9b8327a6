"""The PyTorch side of dlbook: device choice, seeding, training loops and models.

Import it as `import dlbook.torch as dtorch` (never `from dlbook import torch`, which would
shadow torch itself).
"""

from __future__ import annotations

from dlbook.torch.checkpoint import EarlyStopping, load_checkpoint, save_checkpoint
from dlbook.torch.device import get_device, seed_everything
from dlbook.torch.models import MLP, BasicBlock, LeNet, PlainCNN, ResNet
from dlbook.torch.perceptron import TorchPerceptronFit, perceptron_train
from dlbook.torch.train import History, TensorBatches, evaluate, fit, predict

__all__ = [
    "EarlyStopping",
    "load_checkpoint",
    "save_checkpoint",
    "MLP",
    "BasicBlock",
    "LeNet",
    "PlainCNN",
    "ResNet",
    "History",
    "TensorBatches",
    "TorchPerceptronFit",
    "evaluate",
    "fit",
    "get_device",
    "perceptron_train",
    "predict",
    "seed_everything",
]
