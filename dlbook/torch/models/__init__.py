"""Models built from torch's own layers: one module per family (mlp, cnn, rnn, ...).

Every public module's ``__all__`` is re-exported here (and from there by `dlbook.torch`), so a
chapter that adds a module edits nothing in this file.
"""

from dlbook._reexport import reexport

__all__ = reexport(__name__, __path__, globals())
