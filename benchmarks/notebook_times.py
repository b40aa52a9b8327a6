"""Print how long each chapter took to execute in the last book build, against the budget.

The book build runs every notebook and records its run time in its execution cache
(`_build/.jupyter_cache`); this script reads it, so it measures the build's own run. The budget
is 90 s per notebook on a 2-core CPU with no GPU (design: Notebooks). Run from the repository
root after `jupyter-book build .`:

    .venv/bin/python benchmarks/notebook_times.py
"""

from __future__ import annotations

import sys
from pathlib import Path

BUDGET_S = 90.0


def main() -> int:
    from jupyter_cache import get_cache

    cache_dir = Path("_build/.jupyter_cache")
    if not cache_dir.is_dir():
        print(f"no execution cache at {cache_dir}; build the book first", file=sys.stderr)
        return 1
    latest: dict[str, tuple[object, float]] = {}
    for record in get_cache(cache_dir).list_cache_records():
        seconds = float(record.data.get("execution_seconds", "nan"))
        if record.uri not in latest or record.created > latest[record.uri][0]:
            latest[record.uri] = (record.created, seconds)
    print(f"{'notebook':<40} {'seconds':>8}  budget {BUDGET_S:.0f} s")
    for uri, (_, seconds) in sorted(latest.items()):
        flag = "" if seconds <= BUDGET_S else "  OVER BUDGET"
        print(f"{Path(uri).name:<40} {seconds:>8.1f}{flag}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
