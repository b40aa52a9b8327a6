"""A notebook cell tagged `mirror:dlbook.numpy.<module>.<name>` must equal that object's source.

This keeps the code printed in the book and the code in the package from drifting apart.
"""

from __future__ import annotations

import importlib
import inspect

import nbformat
import pytest
from conftest import CHAPTERS

PREFIX = "mirror:"


def mirror_cells():
    for path in sorted(CHAPTERS.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for index, cell in enumerate(nb.cells):
            for tag in cell.get("metadata", {}).get("tags", []):
                if tag.startswith(PREFIX):
                    yield pytest.param(
                        path.name,
                        index,
                        tag[len(PREFIX) :],
                        cell.source,
                        id=f"{path.stem}:{tag[len(PREFIX) :]}",
                    )


def resolve(target: str) -> object:
    module_name, _, name = target.rpartition(".")
    if not module_name.startswith("dlbook.numpy."):
        raise AssertionError(f"mirror target {target!r} must be dlbook.numpy.<module>.<name>")
    return getattr(importlib.import_module(module_name), name)


def differs(cell_source: str, obj: object) -> str | None:
    """None when the cell equals the object's source; else the first differing line."""
    want = inspect.getsource(obj).rstrip().splitlines()
    got = cell_source.rstrip().splitlines()
    for i, (a, b) in enumerate(zip(got, want, strict=False)):
        if a != b:
            return f"line {i + 1}: notebook {a!r} != package {b!r}"
    if len(got) != len(want):
        return f"notebook has {len(got)} lines, package has {len(want)}"
    return None


CELLS = list(mirror_cells())


def test_the_book_has_mirror_cells():
    assert len(CELLS) >= 5


@pytest.mark.parametrize(("notebook", "index", "target", "source"), CELLS)
def test_mirror_cell_equals_package_source(notebook, index, target, source):
    problem = differs(source, resolve(target))
    assert problem is None, f"{notebook} cell {index} drifted from {target}: {problem}"


def test_drift_is_detected():
    from dlbook.numpy import perceptron

    source = inspect.getsource(perceptron.perceptron_update)
    assert differs(source, perceptron.perceptron_update) is None
    assert differs(source.replace("<= 0", "< 0"), perceptron.perceptron_update) is not None
    assert differs(source + "\n# extra", perceptron.perceptron_update) is not None
    with pytest.raises(AssertionError, match="must be dlbook.numpy"):
        resolve("dlbook.data.load_mnist")
