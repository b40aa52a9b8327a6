"""dlbook: the companion package of the open, executable deep-learning textbook.

Kept small on purpose: importing ``dlbook`` (or ``dlbook.numpy``) never imports torch.
Use ``import dlbook.numpy as dnp``, ``import dlbook.torch as dtorch`` and
``from dlbook import data, plot``.
"""

__version__ = "0.1.0"
