"""The NumPy reference implementations: every forward and backward written out.

Import as ``import dlbook.numpy as dnp``. This package never imports torch. Each topic module
lists its public names in its own ``__all__``; every module's names are re-exported here, so a
chapter that adds a module edits nothing in this file.
"""

from dlbook._reexport import reexport

__all__ = reexport(__name__, __path__, globals())
