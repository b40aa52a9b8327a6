"""Student versions of exercise cells (the cell convention is in the design, "Exercises").

`student_source` turns a solution or check cell's source into what a student sees:
each ``### BEGIN SOLUTION`` … ``### END SOLUTION`` region becomes ``# YOUR CODE HERE`` and
``raise NotImplementedError()`` at the region's indentation, and each ``### BEGIN HIDDEN TESTS``
… ``### END HIDDEN TESTS`` region is removed. This is the same transformation that
``nbgrader generate_assignment`` applies.
"""

from __future__ import annotations

import re

__all__ = ["MarkerError", "student_source"]

_MARKER = re.compile(
    r"^(?P<indent>[ \t]*)### (?P<kind>BEGIN|END) (?P<what>SOLUTION|HIDDEN TESTS)\s*$"
)


class MarkerError(ValueError):
    """A BEGIN/END marker is missing, nested or unmatched."""


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
