"""`import dlbook` and its NumPy-side modules must never pull in torch (design: The package)."""

import subprocess
import sys

import pytest

NO_TORCH = [
    "dlbook",
    "dlbook.numpy",
    "dlbook.data",
    "dlbook.plot",
    "dlbook.exercises",
    "dlbook.widgets",
]


@pytest.mark.parametrize("module", NO_TORCH)
def test_module_does_not_import_torch(module):
    code = (
        f"import sys, {module}\n"
        "heavy = sorted(m for m in ('torch', 'ipywidgets') if m in sys.modules)\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"importing {module} imported {out.stdout.strip()}"


def test_the_check_itself_can_fail():
    out = subprocess.run(
        [sys.executable, "-c", "import sys, dlbook.torch; print('torch' in sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "True"
