"""Student versions of the chapter notebooks: ``python -m dlbook.assign SRC OUT``.

The exercise convention is in the design ("Exercises"). For each notebook this module

- replaces every ``### BEGIN SOLUTION`` … ``### END SOLUTION`` region with ``# YOUR CODE HERE``
  and ``raise NotImplementedError()`` at the region's indentation (as ``nbgrader
  generate_assignment`` does);
- removes every ``### BEGIN HIDDEN TESTS`` … ``### END HIDDEN TESTS`` region;
- clears outputs and execution counts;
- keeps all metadata, nbgrader's included, and leaves every other cell unchanged (markers in
  markdown cells are prose and are left alone).

Before writing anything it validates every notebook: balanced markers, solution regions only in
solution cells, hidden tests only in check cells, unique grade ids, a check cell (with points)
after every solution cell. Any problem, in any notebook, stops the run with a message naming
the notebook and the cell; nothing is written unless all notebooks pass. ``--check`` validates
and writes nothing. Book: chapters/teaching.md.
"""

from __future__ import annotations

import copy
import os
import re
import sys
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import nbformat

__all__ = [
    "AssignError",
    "MarkerError",
    "assign",
    "check_notebook",
    "student_notebook",
    "student_source",
]

_MARKER = re.compile(
    r"^(?P<indent>[ \t]*)### (?P<kind>BEGIN|END) (?P<what>SOLUTION|HIDDEN TESTS)\s*$"
)
_USAGE = """usage: python -m dlbook.assign [--check] SRC [OUT]

Write student versions of the notebooks in SRC (a folder of .ipynb files, or one notebook)
into the folder OUT: solutions become `raise NotImplementedError()`, hidden tests are removed,
outputs are cleared, nbgrader metadata is kept.

  --check   validate the exercise cells of every notebook in SRC and write nothing
"""


class MarkerError(ValueError):
    """A BEGIN/END marker is missing, nested or unmatched."""


class AssignError(ValueError):
    """One or more notebooks break the exercise convention; `problems` lists them all."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__(
            f"{len(self.problems)} problem(s); nothing was written:\n  "
            + "\n  ".join(self.problems)
        )


def student_source(source: str, *, where: str = "cell") -> str:
    """Return `source` with solutions replaced by a stub and hidden tests removed.

    `where` names the cell in error messages (for example "perceptron.ipynb, cell 42").
    """
    out: list[str] = []
    open_region: tuple[str, int] | None = None
    for lineno, line in enumerate(source.splitlines(), start=1):
        match = _MARKER.match(line)
        if match is None:
            if open_region is None:
                out.append(line)
            continue
        kind, what, indent = match["kind"], match["what"], match["indent"]
        if kind == "BEGIN":
            if open_region is not None:
                raise MarkerError(
                    f"{where}, line {lineno}: BEGIN {what} inside the {open_region[0]} region "
                    f"opened on line {open_region[1]}"
                )
            open_region = (what, lineno)
            if what == "SOLUTION":
                out += [f"{indent}# YOUR CODE HERE", f"{indent}raise NotImplementedError()"]
        else:
            if open_region is None or open_region[0] != what:
                raise MarkerError(f"{where}, line {lineno}: END {what} without a matching BEGIN")
            open_region = None
    if open_region is not None:
        raise MarkerError(
            f"{where}: BEGIN {open_region[0]} on line {open_region[1]} has no END {open_region[0]}"
        )
    return "\n".join(out)


def _regions(source: str) -> set[str]:
    """The kinds of region ("SOLUTION", "HIDDEN TESTS") that `source` opens."""
    return {m["what"] for line in source.splitlines() if (m := _MARKER.match(line))}


def _role(cell: dict) -> str:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    if meta.get("solution"):
        return "solution"
    if meta.get("grade"):
        return "check"
    return "plain"


def check_notebook(nb: nbformat.NotebookNode, name: str) -> list[str]:
    """All the ways `nb` breaks the exercise convention, as messages naming `name` and the cell."""
    problems: list[str] = []
    seen: dict[str, int] = {}
    cells = nb.cells
    for index, cell in enumerate(cells):
        where = f"{name}, cell {index}"
        meta = cell.get("metadata", {}).get("nbgrader")
        role = _role(cell)
        regions = _regions(cell.source) if cell.cell_type == "code" else set()
        if regions:
            try:
                student_source(cell.source, where=where)
            except MarkerError as err:
                problems.append(str(err))
        if "SOLUTION" in regions and role != "solution":
            problems.append(f"{where}: a SOLUTION region in a cell not marked as a solution cell")
        if "HIDDEN TESTS" in regions and role != "check":
            problems.append(f"{where}: a HIDDEN TESTS region in a cell that is not a check cell")
        if meta is None:
            continue
        grade_id = meta.get("grade_id")
        where = f"{where} ({grade_id})"
        if not grade_id:
            problems.append(f"{where}: nbgrader metadata without a grade_id")
        elif grade_id in seen:
            problems.append(f"{where}: grade_id also used by cell {seen[grade_id]}")
        else:
            seen[grade_id] = index
        if meta.get("schema_version") != 3:
            problems.append(f"{where}: nbgrader schema_version must be 3")
        if role == "solution" and cell.cell_type == "code":
            if meta.get("grade"):
                problems.append(f"{where}: a solution cell must have grade: false")
            if "SOLUTION" not in regions:
                problems.append(f"{where}: a solution cell without a BEGIN/END SOLUTION region")
            following = next((c for c in cells[index + 1 :] if c.cell_type == "code"), None)
            if following is None or _role(following) != "check":
                problems.append(f"{where}: no check cell follows this solution cell")
        if role == "check":
            points = meta.get("points")
            if not isinstance(points, int | float) or isinstance(points, bool) or points <= 0:
                problems.append(f"{where}: a check cell needs points > 0; got {points!r}")
            if not meta.get("locked"):
                problems.append(f"{where}: a check cell must be locked")
    return problems


def student_notebook(nb: nbformat.NotebookNode, name: str = "notebook") -> nbformat.NotebookNode:
    """A copy of `nb` as students get it (see the module docstring); `nb` is not changed."""
    out = copy.deepcopy(nb)
    for index, cell in enumerate(out.cells):
        where = f"{name}, cell {index}"
        if cell.cell_type == "code":
            if _regions(cell.source):
                cell.source = student_source(cell.source, where=where)
            cell.outputs = []
            cell.execution_count = None
    return out


def _notebooks(src: Path) -> list[Path]:
    if src.is_file() and src.suffix == ".ipynb":
        return [src]
    if src.is_dir():
        found = sorted(p for p in src.glob("*.ipynb") if not p.name.startswith("."))
        if found:
            return found
        raise AssignError([f"{src}: no .ipynb notebooks in this folder"])
    raise AssignError([f"{src}: not a notebook or a folder of notebooks"])


def _write_atomic(path: Path, nb: nbformat.NotebookNode) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            nbformat.write(nb, f)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def assign(
    src: str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    *,
    check_only: bool = False,
) -> list[Path]:
    """Validate every notebook in `src`, then write the student versions into `out`.

    Returns the paths written (none with `check_only`). Raises AssignError listing every
    problem in every notebook, before anything is written.
    """
    src = Path(src)
    paths = _notebooks(src)
    if not check_only:
        if out is None:
            raise AssignError(["OUT is required unless --check is given"])
        out = Path(out)
        folder = src if src.is_dir() else src.parent
        if out.resolve() == folder.resolve():
            raise AssignError([f"{out}: OUT must differ from the folder of the notebooks"])
    problems: list[str] = []
    students: list[tuple[Path, nbformat.NotebookNode]] = []
    for path in paths:
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception as err:  # nbformat raises several types for unreadable files
            problems.append(f"{path.name}: cannot be read as a notebook ({err})")
            continue
        found = check_notebook(nb, path.name)
        problems += found
        if not found:
            students.append((path, student_notebook(nb, path.name)))
    if problems:
        raise AssignError(problems)
    if check_only:
        return []
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path, nb in students:
        _write_atomic(out / path.name, nb)
        written.append(out / path.name)
    return written


def main(argv: Iterable[str] | None = None) -> int:
    """The command line: returns the exit status (0 ok, 1 invalid notebooks, 2 bad usage)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if any(a in ("-h", "--help") for a in args):
        print(_USAGE)
        return 0
    check_only = "--check" in args
    unknown = [a for a in args if a.startswith("-") and a != "--check"]
    positional = [a for a in args if not a.startswith("-")]
    if unknown or not (1 <= len(positional) <= 2) or (len(positional) == 1 and not check_only):
        print(_USAGE, file=sys.stderr)
        return 2
    try:
        written = assign(
            positional[0], positional[1] if len(positional) == 2 else None, check_only=check_only
        )
    except AssignError as err:
        print(f"dlbook.assign: {err}", file=sys.stderr)
        return 1
    if check_only:
        print(f"dlbook.assign: every notebook in {positional[0]} follows the exercise convention")
    for path in written:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
