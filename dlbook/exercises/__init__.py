"""Checks for the exercise cells: one module per chapter, sharing `_core.check_close`.

Every public module's ``__all__`` is re-exported here, so a chapter that adds a module edits
nothing in this file. `check_close`, the comparison every check uses, is public too. Never
imports torch.
"""

from dlbook._reexport import reexport
from dlbook.exercises._core import check_close as check_close

__all__ = sorted(["check_close", *reexport(__name__, __path__, globals())])
