"""A notebook cell tagged `mirror:dlbook.<module>.<name>` must equal that object's source.

This keeps the code printed in the book and the code in the package from drifting apart. The
target must be public (no part of its path starts with `_`), and no notebook may import a
private dlbook name: what a reader sees on the page is API that stays.
"""

from __future__ import annotations

import importlib
import inspect
import re

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
    if not module_name.startswith("dlbook.") or any(
        part.startswith("_") for part in target.split(".")
    ):
        raise AssertionError(f"mirror target {target!r} must be a public dlbook.<module>.<name>")
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
    with pytest.raises(AssertionError, match="must be a public"):
        resolve("dlbook.numpy.conv._im2col")
    assert resolve("dlbook.metrics.accuracy") is not None


# `from dlbook.x import a, _b` or `from dlbook._x import a` or `import dlbook._x` or `dlbook.x._y`
_IMPORT_FROM = re.compile(r"^\s*from\s+(dlbook[\w.]*)\s+import\s+\(?([^)#]*)\)?", re.M | re.S)
_DOTTED = re.compile(r"\bdlbook(?:\.\w+)*\.(_\w+)")


def private_imports(source: str) -> list[str]:
    """The private dlbook names that a cell's source imports or reaches by attribute."""
    found = [m.group(1) for m in _DOTTED.finditer(source) if not m.group(1).startswith("__")]
    for m in _IMPORT_FROM.finditer(source):
        names = [n.strip().split(" as ")[0] for n in m.group(2).replace("\n", ",").split(",")]
        found += [n for n in names if n.startswith("_")]
    return found


def test_private_import_detector():
    assert private_imports("from dlbook.numpy.layers import _check_cache, linear_forward") == [
        "_check_cache"
    ]
    assert private_imports("from dlbook.numpy.conv import (\n    im2col,\n    _fold,\n)") == [
        "_fold"
    ]
    assert private_imports("from dlbook._validate import as_float_array") == ["_validate"]
    assert private_imports("x = dlbook.numpy.conv._windows(a)") == ["_windows"]
    assert private_imports("from dlbook.checks import shapes\nimport dlbook.numpy as dnp") == []


@pytest.mark.parametrize("path", sorted(CHAPTERS.glob("*.ipynb")), ids=lambda p: p.stem)
def test_notebooks_import_only_public_dlbook_names(path):
    nb = nbformat.read(path, as_version=4)
    bad = [
        (i, name)
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        for name in private_imports(cell.source)
    ]
    assert not bad, f"{path.name} uses private dlbook names (cell, name): {bad}"


# Validation in a mirrored function is declarative and short: at most two statements that
# check inputs (a `@shapes` decorator, a `check_*`/`as_*` call, or a `raise`), so that the cell a
# reader sees is the algorithm.
_CHECK_CALL = re.compile(r"^(check_\w*|as_float_array|as_index_array|as_labels|as_label_array)$")


def validation_statements(obj: object) -> dict[str, int]:
    """{function name: number of validation statements} for a function or each class method."""
    import ast
    import textwrap

    tree = ast.parse(textwrap.dedent(inspect.getsource(obj)))
    counts = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        n = sum(
            1
            for d in node.decorator_list
            if isinstance(d, ast.Call) and getattr(d.func, "id", "") == "shapes"
        )
        for sub in ast.walk(node):
            if sub is node:
                continue
            if isinstance(sub, ast.Raise):
                n += 1
            elif isinstance(sub, ast.Call):
                name = getattr(sub.func, "id", getattr(sub.func, "attr", ""))
                n += bool(_CHECK_CALL.match(name))
        counts[node.name] = n
    return counts


@pytest.mark.parametrize(("notebook", "index", "target", "source"), CELLS)
def test_mirrored_code_spends_at_most_two_statements_on_validation(notebook, index, target, source):
    counts = validation_statements(resolve(target))
    heavy = {name: n for name, n in counts.items() if n > 2}
    assert not heavy, f"{target} ({notebook}): validation statements per function {heavy}"


def test_validation_counter_counts():
    src = """
@shapes(x="N D")
def f(x, dout, cache):
    check_cache(cache, Kind)
    if x.sum() > 0:
        raise ValueError("no")
    return as_float_array("dout", dout)
"""
    ns = {}
    exec(  # noqa: S102 - a fixed snippet
        "def shapes(**k):\n    return lambda f: f\n" + src, ns
    )
    import linecache

    linecache.cache["<snippet>"] = (len(src), None, src.splitlines(True), "<snippet>")
    ns["f"].__code__ = ns["f"].__code__.replace(co_filename="<snippet>", co_firstlineno=2)
    assert validation_statements(ns["f"]) == {"f": 4}
