"""The NumPy reference implementations: every forward and backward written out.

Import as ``import dlbook.numpy as dnp``. This package never imports torch. Each topic module
lists its public names in its own ``__all__``; they are all re-exported here, so a name added
to a module needs no second list.
"""

from dlbook.numpy import (
    autograd,
    conv,
    gradcheck,
    init,
    layers,
    linear,
    losses,
    mlp,
    optim,
    perceptron,
)
from dlbook.numpy.autograd import *  # noqa: F403
from dlbook.numpy.conv import *  # noqa: F403
from dlbook.numpy.gradcheck import *  # noqa: F403
from dlbook.numpy.init import *  # noqa: F403
from dlbook.numpy.layers import *  # noqa: F403
from dlbook.numpy.linear import *  # noqa: F403
from dlbook.numpy.losses import *  # noqa: F403
from dlbook.numpy.mlp import *  # noqa: F403
from dlbook.numpy.optim import *  # noqa: F403
from dlbook.numpy.perceptron import *  # noqa: F403

_MODULES = (autograd, conv, gradcheck, init, layers, linear, losses, mlp, optim, perceptron)
__all__ = sorted({name for module in _MODULES for name in module.__all__})
