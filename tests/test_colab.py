"""The learner's other client: Colab. Installing dlbook there must change no preinstalled package.

Colab preinstalls ipywidgets 7.7.1 (its front end does not support 8) and its own numpy,
matplotlib, scikit-learn, tqdm and torch. `tests/colab-constraints.txt` lists those versions
(with the date they were checked and their source). This test builds a fresh venv of exactly
that list, the stand-in for a Colab runtime, then:

1. installs dlbook the way every chapter's Colab cell does (the cell's own pip options, with the
   repository URL replaced by this checkout), asking pip for an install report, and requires
   that neither the report nor `pip freeze` shows a preinstalled package upgraded or downgraded;
2. runs every chapter's setup cell in a real kernel of that venv (ipykernel and IPython as on
   Colab), and displays one explorer per chapter there where the chapter's first explorer
   cell needs only what the setup cell defines, checking its bundle carries the widget view;
3. runs the widget tests (`tests/test_widgets*.py`: every chapter's explorers) under
   ipywidgets 7.7.1.

It takes minutes (the venv), so it runs only when asked: `pytest -m colab` (.ci/run does).
`DLBOOK_COLAB_VENV=/path/to/venv` reuses a venv built earlier (its pins are checked again).
"""

from __future__ import annotations

import ast
import builtins
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

colab = pytest.mark.colab

ROOT = Path(__file__).resolve().parents[1]
CONSTRAINTS = ROOT / "tests" / "colab-constraints.txt"
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))


def _name(requirement: str) -> str:
    return re.sub(r"[-_.]+", "-", requirement.split("==")[0].split("@")[0].strip()).lower()


def _pins(text: str) -> dict[str, str]:
    pins = {}
    for line in text.splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[_name(name)] = version.strip()
    return pins


def _run(cmd: list[str], *, timeout: float, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kwargs)
    if result.returncode != 0:
        raise AssertionError(
            f"{' '.join(map(str, cmd))} failed ({result.returncode}):\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return result


def _colab_cell_pip_args() -> list[str]:
    """The pip arguments of the chapters' Colab install line (the same in every chapter)."""
    lines = set()
    for path in CHAPTERS:
        nb = json.loads(path.read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            source = "".join(cell["source"])
            if cell["cell_type"] == "code" and "google.colab" in source:
                lines |= {m.strip() for m in re.findall(r"%pip install(.*)", source)}
                break
    assert len(lines) == 1, f"the chapters' Colab install lines differ: {sorted(lines)}"
    import shlex

    return shlex.split(lines.pop())


def _installed(python: Path) -> dict[str, str]:
    out = _run([python, "-m", "pip", "list", "--format=json"], timeout=120).stdout
    return {_name(p["name"]): p["version"] for p in json.loads(out)}


@pytest.fixture(scope="module")
def colab_venv(tmp_path_factory):
    """A venv holding exactly the packages of tests/colab-constraints.txt."""
    pins = _pins(CONSTRAINTS.read_text(encoding="utf-8"))
    reuse = os.environ.get("DLBOOK_COLAB_VENV")  # a venv built earlier by this fixture
    if reuse and (Path(reuse) / "bin" / "python").exists():
        python = Path(reuse) / "bin" / "python"
        _check_pins(python, pins)
        return python
    venv = tmp_path_factory.mktemp("colab") / "venv"
    _run([sys.executable, "-m", "venv", venv], timeout=300)
    python = venv / "bin" / "python"
    pip = ["--disable-pip-version-check", "--no-input"]
    _run([python, "-m", "pip", "install", *pip, f"pip=={pins['pip']}"], timeout=600)
    # --no-compile: no .pyc for torch's thousands of files (minutes on 2 cores)
    _run([python, "-m", "pip", "install", *pip, "--no-compile", "-r", CONSTRAINTS], timeout=1800)
    _check_pins(python, pins)
    return python


def _check_pins(python: Path, pins: dict[str, str]) -> None:
    installed = {n: v.split("+")[0] for n, v in _installed(python).items()}  # 2.13.0+cpu
    wrong = {n: (v, installed.get(n)) for n, v in pins.items() if installed.get(n) != v}
    assert not wrong, f"the Colab stand-in does not hold Colab's versions: {wrong}"


@colab
def test_colab_cell_changes_no_preinstalled_package(colab_venv, tmp_path):
    python = colab_venv
    before = _installed(python)
    assert before["ipywidgets"].startswith("7.7"), before["ipywidgets"]

    # The package as the git URL would deliver it, copied so no build output lands in the repo.
    src = tmp_path / "dlbook-src"
    shutil.copytree(ROOT / "dlbook", src / "dlbook", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    args = [
        f"dlbook @ {src.as_uri()}" if a.startswith("dlbook @ ") else a
        for a in _colab_cell_pip_args()
    ]
    assert any(a.startswith("dlbook @ file:") for a in args), args
    report = tmp_path / "report.json"
    _run([python, "-m", "pip", "install", *args, "--report", report], timeout=900)

    installs = json.loads(report.read_text(encoding="utf-8"))["install"]
    planned = {_name(i["metadata"]["name"]): i["metadata"]["version"] for i in installs}
    changed = {n: (before[n], v) for n, v in planned.items() if n in before and n != "dlbook"}
    assert not changed, (
        "installing dlbook as the Colab cell does would replace preinstalled packages "
        f"(name: (Colab's version, pip's choice)): {changed}"
    )
    after = _installed(python)
    moved = {n: (v, after.get(n)) for n, v in before.items() if after.get(n) != v}
    moved.pop("dlbook", None)  # present before only in a reused venv (DLBOOK_COLAB_VENV)
    assert not moved, f"preinstalled packages changed: {moved}"
    assert "dlbook" in after


# One kernel runs every chapter's setup cell, each followed by that chapter's explorer cell
# (one kernel: starting a kernel and importing torch once per chapter costs minutes on 2 cores).
_KERNEL_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import nbformat
    from nbclient import NotebookClient

    jobs = json.load(open(sys.argv[1]))
    nb = nbformat.v4.new_notebook()
    owners = []
    for job in jobs:
        for src in job["cells"]:
            nb.cells.append(nbformat.v4.new_code_cell(src))
            owners.append(job["chapter"])
    client = NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": jobs[0]["cwd"]}})
    client.execute()
    results = {job["chapter"]: [] for job in jobs}
    for owner, cell in zip(owners, nb.cells):
        results[owner].append([
            {"type": o["output_type"], "mimes": sorted(o.get("data", {})),
             "error": o.get("ename", "") + ": " + o.get("evalue", "")
                      + "\\n" + "\\n".join(o.get("traceback", [])[-3:])}
            for o in cell.outputs
        ])
    json.dump(results, open(sys.argv[2], "w"))
    """
)


def _defined_names(source: str) -> set[str]:
    tree = ast.parse(source)
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
    return names


def _needs_only(source: str, available: set[str]) -> bool:
    """True when every name `source` reads is builtin, in `available`, or defined in it."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    loaded = {
        n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
    }
    return loaded <= available | _defined_names(source) | set(dir(builtins))


def _jobs() -> tuple[list[dict], dict[str, str | None]]:
    from IPython.core.inputtransformer2 import TransformerManager

    jobs, widget_cells = [], {}
    for path in CHAPTERS:
        nb = json.loads(path.read_text(encoding="utf-8"))
        code = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
        setup = next(s for s in code if "google.colab" in s)
        available = _defined_names(TransformerManager().transform_cell(setup))
        widget = next((s for s in code if re.search(r"^widgets\.\w+\(", s, re.M)), None)
        chosen = widget if widget is not None and _needs_only(widget, available) else None
        widget_cells[path.stem] = chosen
        jobs.append(
            {
                "chapter": path.stem,
                "cwd": str(path.parent),
                "cells": [setup] + ([chosen] if chosen else []),
            }
        )
    return jobs, widget_cells


@colab
def test_setup_cells_and_explorers_run_on_colab_versions(colab_venv, tmp_path):
    python = colab_venv
    if "dlbook" not in _installed(python):
        pytest.skip("dlbook did not install in the Colab venv (see the install test)")
    jobs, widget_cells = _jobs()
    (tmp_path / "jobs.json").write_text(json.dumps(jobs), encoding="utf-8")
    (tmp_path / "run.py").write_text(_KERNEL_SCRIPT, encoding="utf-8")
    env = {
        **os.environ,
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    _run(
        [python, tmp_path / "run.py", tmp_path / "jobs.json", tmp_path / "out.json"],
        timeout=1200,
        env=env,
        cwd=tmp_path,
    )
    results = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    problems = []
    for chapter, cells in results.items():
        for index, outputs in enumerate(cells):
            what = "setup cell" if index == 0 else "explorer cell"
            problems += [
                f"{chapter}: {what}: {o['error']}" for o in outputs if o["type"] == "error"
            ]
        if widget_cells[chapter] is not None and len(cells) > 1:
            mimes = {m for o in cells[1] for m in o["mimes"]}
            if "application/vnd.jupyter.widget-view+json" not in mimes or "image/png" not in mimes:
                problems.append(f"{chapter}: the explorer displayed {sorted(mimes)}")
    assert not problems, "on Colab's versions:\n  " + "\n  ".join(problems)
    assert any(widget_cells.values()), "no chapter has an explorer cell that runs after setup"


@colab
def test_widget_tests_pass_on_colab_versions(colab_venv, tmp_path):
    """Every chapter's explorer tests, under ipywidgets 7.7.1 and Colab's numpy/matplotlib."""
    python = colab_venv
    if "dlbook" not in _installed(python):
        pytest.skip("dlbook did not install in the Colab venv (see the install test)")
    # hypothesis is a test tool, not on Colab; install it after the check above
    _run(
        [python, "-m", "pip", "install", "--disable-pip-version-check", "hypothesis>=6.100,<7"],
        timeout=600,
    )
    files = sorted(str(p) for p in (ROOT / "tests").glob("test_widgets*.py"))
    assert files
    env = {
        **os.environ,
        "MPLBACKEND": "Agg",
        "OMP_NUM_THREADS": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    result = subprocess.run(
        [
            python,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-o",
            "addopts=",
            "-W",
            "ignore::DeprecationWarning",
            "--rootdir",
            str(ROOT),
            *files,
        ],
        capture_output=True,
        text=True,
        timeout=1200,
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 0, f"widget tests on ipywidgets 7.7.1:\n{result.stdout[-6000:]}"


class _Widget7:
    """What an ipywidgets 7.7 widget offers the display machinery: no _repr_mimebundle_."""

    _view_name = "VBoxView"
    _model_id = "abc123"
    displayed = 0

    def _handle_displayed(self, **kwargs):
        self.displayed += 1

    def __repr__(self):
        return "VBox(children=(...))"


def test_widget_mimebundle_on_ipywidgets_7_and_8():
    """Runs in the README command: the compat layer on the installed ipywidgets and on a 7.x
    stand-in (the real 7.7.1 runs in the Colab venv above)."""
    from dlbook.widgets._compat import DisplayBundleMixin, widget_mimebundle

    old = _Widget7()
    bundle = widget_mimebundle(old)
    view = bundle["application/vnd.jupyter.widget-view+json"]
    assert view == {"version_major": 2, "version_minor": 0, "model_id": "abc123"}
    assert old.displayed == 1  # 7.x runs on_displayed callbacks when it displays a widget

    ipywidgets = pytest.importorskip("ipywidgets")
    slider = ipywidgets.IntSlider()
    assert widget_mimebundle(slider)["application/vnd.jupyter.widget-view+json"]["model_id"] == (
        slider.model_id
    )

    class Shown(DisplayBundleMixin):
        widget, png, note = old, "iVBORw0KGgo=", "[a note]"

    shown = Shown()._repr_mimebundle_()
    assert shown["image/png"] == "iVBORw0KGgo=" and shown["text/plain"] == "[a note]"
    assert "application/vnd.jupyter.widget-view+json" in shown
