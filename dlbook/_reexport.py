"""Re-export the public names of every module in a package, so a new module needs no list.

A package's ``__init__`` calls ``reexport(__name__, __path__, globals())``. Every submodule
whose name does not start with ``_`` is imported, and the names in its ``__all__`` are copied
into the package. Two modules exporting the same name is an error, not a silent overwrite.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable
from typing import Any


def reexport(package: str, path: Iterable[str], namespace: dict[str, Any]) -> list[str]:
    """Import the public submodules of `package` and copy their `__all__` into `namespace`."""
    names: dict[str, str] = {}
    for info in sorted(pkgutil.iter_modules(list(path)), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package}.{info.name}")
        for name in getattr(module, "__all__", ()):
            if name in names:
                raise ImportError(
                    f"{package}: {name!r} is exported by both {names[name]} and {info.name}"
                )
            names[name] = info.name
            namespace[name] = getattr(module, name)
    return sorted(names)
