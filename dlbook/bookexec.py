"""Run the book's notebooks in parallel for the build, and let the tests reuse those runs.

The book build executes every chapter (myst-nb, `execute_notebooks: cache`), one after the
other. On a 2-core machine that leaves a core idle, and the README's test command then executed
every chapter a second time with nbval. This module removes both costs:

* As a Sphinx extension (listed in `_config.yml`), it runs before Sphinx reads the documents.
  It executes the notebooks about to be read that have no current run in the execution cache,
  several at a time (`DLBOOK_BUILD_JOBS`, default: the number of CPUs), longest first, and
  stores each successful run in the same jupyter-cache that myst-nb reads. myst-nb then finds
  them there. A notebook that fails is not stored; myst-nb runs it again itself and reports
  the error as usual, so a failing chapter still fails the strict build.
* Each stored run carries an *environment key*: a hash of the dlbook package's source, the
  installed distributions and their versions, the Python version and the `DLBOOK_*`
  variables. `cached_run(path)` returns a stored run only if it matches the notebook's current
  code cells and the current environment key. The test suite (tests/conftest.py) uses it: a
  chapter that the build ran with these very sources is checked from that run instead of
  being executed again; any other chapter is executed by nbval.

Nothing here changes what a chapter computes: the kernel, the working directory (the
notebook's folder), the cell timeout and `allow_errors` are those the book build uses.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from fnmatch import fnmatch
from functools import lru_cache
from multiprocessing import get_context
from pathlib import Path
from typing import Any, NamedTuple

__all__ = ["CachedRun", "cached_run", "environment_key", "execute_notebook"]

ENV_KEY_FIELD = "dlbook_environment"
JOBS_VARIABLE = "DLBOOK_BUILD_JOBS"
#: `DLBOOK_*` variables that do not change what a notebook computes.
_NEUTRAL_VARIABLES = {JOBS_VARIABLE, "DLBOOK_QUIET", "DLBOOK_NBVAL"}


@lru_cache(maxsize=1)
def environment_key() -> str:
    """A hash of everything besides a notebook's own code that decides what it computes."""
    import dlbook

    digest = hashlib.sha256()
    package = Path(dlbook.__file__).resolve().parent
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    # a set: an egg-info folder in the working directory repeats an installed distribution
    dists = sorted(
        {
            f"{dist.metadata['Name']}=={dist.version}"
            for dist in importlib.metadata.distributions()
            if dist.metadata["Name"]
        }
    )
    digest.update("\n".join(dists).encode())
    digest.update(sys.version.encode())
    for name in sorted(os.environ):
        if name.startswith("DLBOOK_") and name not in _NEUTRAL_VARIABLES:
            digest.update(f"{name}={os.environ[name]}".encode())
    return digest.hexdigest()


class CachedRun(NamedTuple):
    """A stored run of a notebook: the executed notebook and its run time in seconds."""

    notebook: Any
    seconds: float


def _open_cache(cache_dir: str | Path):
    from jupyter_cache import get_cache

    return get_cache(str(cache_dir))


def cached_run(path: str | Path, cache_dir: str | Path) -> CachedRun | None:
    """The stored run of notebook `path` for its current code and environment, or None.

    None when `cache_dir` does not exist, when no run matches the notebook's code cells, or
    when the matching run was made with other package sources, packages or settings.
    """
    import nbformat

    if not Path(cache_dir, "global.db").is_file():
        return None
    cache = _open_cache(cache_dir)
    notebook = nbformat.read(str(path), as_version=4)
    try:
        record = cache.match_cache_notebook(notebook)
    except KeyError:
        return None
    if record.data.get(ENV_KEY_FIELD) != environment_key():
        return None
    executed = cache.get_cache_bundle(record.pk).nb
    return CachedRun(executed, float(record.data.get("execution_seconds", "nan")))


def execute_notebook(
    path: str, timeout: int | None, allow_errors: bool
) -> tuple[str, float, str | None]:
    """Execute the notebook at `path` in its own folder: (executed JSON, seconds, error text)."""
    import nbformat
    from jupyter_cache.executors.utils import single_nb_execution

    notebook = nbformat.read(path, as_version=4)
    result = single_nb_execution(
        notebook, cwd=str(Path(path).parent), timeout=timeout, allow_errors=allow_errors
    )
    return nbformat.writes(notebook), result.time, result.exc_string if result.err else None


def _jobs(default: int) -> int:
    value = os.environ.get(JOBS_VARIABLE, "").strip()
    if not value:
        return default
    try:
        jobs = int(value)
    except ValueError:
        raise ValueError(f"{JOBS_VARIABLE} must be a whole number, got {value!r}") from None
    if jobs < 1:
        raise ValueError(f"{JOBS_VARIABLE} must be at least 1, got {jobs}")
    return jobs


def _stale_notebooks(app, docnames) -> list[Path]:
    """The notebooks among `docnames` that have no run for their code and environment."""
    cache_dir = app.env.mystnb_config.execution_cache_path
    excluded = app.env.mystnb_config.execution_excludepatterns
    stale = []
    for docname in docnames:
        path = Path(app.env.doc2path(docname))
        if path.suffix != ".ipynb" or any(fnmatch(str(path), p) for p in excluded):
            continue  # myst-nb does not execute these either
        if cached_run(path, cache_dir) is None:
            stale.append(path)
    return stale


def _last_seconds(cache, path: Path) -> float:
    """How long the notebook's newest stored run took (inf if never run: start those first)."""
    times = [
        (record.created, float(record.data.get("execution_seconds", "inf")))
        for record in cache.list_cache_records()
        if Path(record.uri) == path
    ]
    return max(times)[1] if times else float("inf")


def _execute_before_reading(app, env, docnames: list[str]) -> None:
    from jupyter_cache.base import CacheBundleIn
    from sphinx.util import logging

    logger = logging.getLogger(__name__)
    config = app.env.mystnb_config  # myst-nb's settings, with its resolved cache folder
    if config.execution_mode != "cache" or config.execution_in_temp:
        return
    stale = _stale_notebooks(app, docnames)
    if not stale:
        return
    jobs = min(_jobs(os.cpu_count() or 1), len(stale))
    import nbformat

    cache = _open_cache(config.execution_cache_path)
    stale.sort(key=lambda p: _last_seconds(cache, p), reverse=True)
    logger.info(f"dlbook.bookexec: executing {len(stale)} notebooks, {jobs} at a time")
    start = time.perf_counter()
    timeout, allow_errors = config.execution_timeout, config.execution_allow_errors
    with ProcessPoolExecutor(jobs, mp_context=get_context("spawn")) as pool:
        futures = {
            pool.submit(execute_notebook, str(path), timeout, allow_errors): path for path in stale
        }
        for future in as_completed(futures):
            path = futures[future]
            name = path.relative_to(app.srcdir)
            try:
                text, seconds, error = future.result()
            except Exception as exc:  # the kernel could not start, the file is unreadable...
                text, seconds, error = None, float("nan"), f"{type(exc).__name__}: {exc}"
            if error is not None:
                first = error.strip().splitlines()[-1] if error.strip() else "unknown error"
                logger.info(f"dlbook.bookexec: {name} failed ({first}); myst-nb will rerun it")
                continue
            record = cache.add_nb_to_project(str(path))
            cache.cache_notebook_bundle(
                CacheBundleIn(
                    nbformat.reads(text, as_version=4),
                    record.uri,
                    data={"execution_seconds": seconds, ENV_KEY_FIELD: environment_key()},
                ),
                check_validity=False,
                overwrite=True,
            )
            logger.info(f"dlbook.bookexec: {name} ran in {seconds:.1f} s")
    logger.info(f"dlbook.bookexec: done in {time.perf_counter() - start:.0f} s")


def pytest_ignore_collect(collection_path: Path, config) -> bool | None:
    """pytest hook: leave a chapter that the build already ran as it is now to the tests.

    Only for notebooks in the book's `chapters/` folder, with the build's cache in
    `_build/.jupyter_cache` under pytest's root directory.
    """
    if collection_path.suffix != ".ipynb" or os.environ.get("DLBOOK_NBVAL") == "always":
        return None
    root = Path(config.rootpath)
    if collection_path.parent != root / "chapters":
        return None
    cache_dir = root / "_build" / ".jupyter_cache"
    return True if cached_run(collection_path, cache_dir) is not None else None


def setup(app) -> dict:
    app.connect("env-before-read-docs", _execute_before_reading)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
