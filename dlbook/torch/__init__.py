"""The PyTorch side of dlbook: device choice, seeding, training loops and models.

Import it as ``import dlbook.torch as dtorch`` (never ``from dlbook import torch``, which would
shadow torch itself). Every public module's ``__all__`` is re-exported here, models included,
so a chapter that adds a module edits nothing in this file. Modules that need an optional
dependency (gymnasium) import it inside the functions that use it.
"""

from dlbook._reexport import reexport

__all__ = reexport(__name__, __path__, globals())
