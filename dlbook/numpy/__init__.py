"""The NumPy reference implementations: every forward and backward written out.

Import as ``import dlbook.numpy as dnp``. This package never imports torch.
"""

from dlbook.numpy.gradcheck import numerical_gradient, relative_error
from dlbook.numpy.perceptron import (
    PerceptronFit,
    geometric_margin,
    mcculloch_pitts,
    novikoff_bound,
    perceptron_predict,
    perceptron_train,
    perceptron_update,
    threshold_network,
)

__all__ = [
    "PerceptronFit",
    "geometric_margin",
    "mcculloch_pitts",
    "novikoff_bound",
    "numerical_gradient",
    "perceptron_predict",
    "perceptron_train",
    "perceptron_update",
    "relative_error",
    "threshold_network",
]
