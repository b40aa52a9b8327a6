"""The build's parallel runs of the chapters, and their reuse by the tests (dlbook.bookexec).

`test_chapter_ran_cleanly_in_the_build` is the notebook test for every chapter that the book
build ran with the current sources (conftest.pytest_ignore_collect keeps nbval off those); the
other tests check the cache logic on a small notebook of their own.
"""

from __future__ import annotations

import nbformat
import pytest
from conftest import CHAPTERS, EXECUTION_CACHE

from dlbook import bookexec

NOTEBOOKS = sorted(CHAPTERS.glob("*.ipynb"))


def assert_ran_cleanly(source, executed, name: str) -> None:
    """The stored run `executed` ran every code cell of `source`, unchanged, without an error."""
    code = [c for c in source.cells if c.cell_type == "code"]
    ran = [c for c in executed.cells if c.cell_type == "code"]
    assert [c.source for c in ran] == [c.source for c in code]
    for i, cell in enumerate(ran):
        assert cell.execution_count is not None, f"{name}: code cell {i} never ran"
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        assert not errors, f"{name}: code cell {i} raised {errors[0].get('ename')}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_chapter_ran_cleanly_in_the_build(path):
    run = bookexec.cached_run(path, EXECUTION_CACHE)
    if run is None:
        pytest.skip("no build run of this chapter with the current sources: nbval executes it")
    assert_ran_cleanly(nbformat.read(path, as_version=4), run.notebook, path.name)


def test_the_chapter_check_fails_on_a_bad_run(tmp_path):
    path = _notebook(tmp_path, "x = 1", "print(1 / 0)", "print(x)")
    source = nbformat.read(path, as_version=4)
    text, _, _ = bookexec.execute_notebook(str(path), timeout=60, allow_errors=True)
    with pytest.raises(AssertionError, match="code cell 1 raised ZeroDivisionError"):
        assert_ran_cleanly(source, nbformat.reads(text, as_version=4), "tiny")
    never_ran = nbformat.reads(nbformat.writes(source), as_version=4)  # the unexecuted stub
    with pytest.raises(AssertionError, match="code cell 0 never ran"):
        assert_ran_cleanly(source, never_ran, "tiny")
    edited = nbformat.reads(text, as_version=4)
    edited.cells[0].source = "x = 2"
    with pytest.raises(AssertionError):
        assert_ran_cleanly(source, edited, "tiny")


def _notebook(tmp_path, *sources):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path = tmp_path / "tiny.ipynb"
    nbformat.write(nb, path)
    return path


def _store(cache_dir, path, text, key):
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    cache = get_cache(str(cache_dir))
    record = cache.add_nb_to_project(str(path))
    cache.cache_notebook_bundle(
        CacheBundleIn(
            nbformat.reads(text, as_version=4),
            record.uri,
            data={"execution_seconds": 0.5, bookexec.ENV_KEY_FIELD: key},
        ),
        check_validity=False,
        overwrite=True,
    )


def test_a_stored_run_is_reused_only_for_the_same_code_and_environment(tmp_path):
    path = _notebook(tmp_path, "x = 6 * 7", "print(x)")
    text, seconds, error = bookexec.execute_notebook(str(path), timeout=60, allow_errors=False)
    assert error is None and seconds > 0
    executed = nbformat.reads(text, as_version=4)
    assert executed.cells[1].outputs[0]["text"] == "42\n"

    cache_dir = tmp_path / "cache"
    assert bookexec.cached_run(path, cache_dir) is None  # no cache yet
    _store(cache_dir, path, text, "another environment")
    assert bookexec.cached_run(path, cache_dir) is None  # other sources or packages
    _store(cache_dir, path, text, bookexec.environment_key())
    run = bookexec.cached_run(path, cache_dir)
    assert run is not None and run.seconds == 0.5
    assert run.notebook.cells[1].outputs[0]["text"] == "42\n"

    _notebook(tmp_path, "x = 6 * 9", "print(x)")  # the code changed: the run is stale
    assert bookexec.cached_run(path, cache_dir) is None


def test_the_pytest_hook_keeps_nbval_off_only_the_chapters_the_build_ran(tmp_path, monkeypatch):
    from types import SimpleNamespace

    monkeypatch.delenv("DLBOOK_NBVAL", raising=False)
    (tmp_path / "chapters").mkdir()
    path = _notebook(tmp_path / "chapters", "print(6 * 7)")
    config = SimpleNamespace(rootpath=tmp_path)
    assert bookexec.pytest_ignore_collect(path, config) is None  # not built: nbval runs it
    text, _, error = bookexec.execute_notebook(str(path), timeout=60, allow_errors=False)
    assert error is None
    _store(tmp_path / "_build" / ".jupyter_cache", path, text, bookexec.environment_key())
    assert bookexec.pytest_ignore_collect(path, config) is True  # built as it is: not again
    outside = _notebook(tmp_path, "print(6 * 7)")  # not a chapter
    assert bookexec.pytest_ignore_collect(outside, config) is None
    monkeypatch.setenv("DLBOOK_NBVAL", "always")
    assert bookexec.pytest_ignore_collect(path, config) is None


def test_a_failing_notebook_reports_its_error(tmp_path):
    path = _notebook(tmp_path, "1 / 0")
    _, _, error = bookexec.execute_notebook(str(path), timeout=60, allow_errors=False)
    assert error is not None and "ZeroDivisionError" in error


def test_environment_key_follows_dlbook_variables(monkeypatch):
    bookexec.environment_key.cache_clear()
    monkeypatch.delenv("DLBOOK_SCALE", raising=False)
    before = bookexec.environment_key()
    bookexec.environment_key.cache_clear()
    monkeypatch.setenv("DLBOOK_QUIET", "1")  # does not change what a notebook computes
    assert bookexec.environment_key() == before
    bookexec.environment_key.cache_clear()
    monkeypatch.setenv("DLBOOK_SCALE", "full")
    assert bookexec.environment_key() != before
    bookexec.environment_key.cache_clear()


@pytest.mark.parametrize("value", ["zero", "0", "-2"])
def test_bad_job_counts_are_refused(monkeypatch, value):
    monkeypatch.setenv(bookexec.JOBS_VARIABLE, value)
    with pytest.raises(ValueError, match=bookexec.JOBS_VARIABLE):
        bookexec._jobs(2)


def test_job_count_defaults_and_overrides(monkeypatch):
    monkeypatch.delenv(bookexec.JOBS_VARIABLE, raising=False)
    assert bookexec._jobs(3) == 3
    monkeypatch.setenv(bookexec.JOBS_VARIABLE, "1")
    assert bookexec._jobs(3) == 1
