"""Datasets for the book: one module per family (toys, mnist, text, ...), all offline-first.

Every public module's ``__all__`` is re-exported here, so a chapter that adds a module edits
nothing in this file. Never imports torch.
"""

from dlbook._reexport import reexport

__all__ = reexport(__name__, __path__, globals())
