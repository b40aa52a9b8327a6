"""benchmarks/lm_race.py: its command line and its models, without training anything."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "lm_race.py"


@pytest.fixture(scope="module")
def lm_race(monkeypatch_module):
    # run as a script, the benchmark finds its sibling fit_loop.py on sys.path; so here
    monkeypatch_module.syspath_prepend(str(_PATH.parent))
    spec = importlib.util.spec_from_file_location("lm_race", _PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def test_defaults(lm_race):
    args = lm_race.parse_args([])
    assert args.budgets == [5.0, 15.0, 45.0]
    assert args.batch == 16
    assert args.device is None and args.threads is None


def test_options(lm_race):
    args = lm_race.parse_args(
        ["--budgets", "2", "4", "--batch", "128", "--device", "cpu", "--threads", "2"]
    )
    assert args.budgets == [2.0, 4.0]
    assert (args.batch, args.device, args.threads) == (128, "cpu", 2)


@pytest.mark.parametrize(
    "argv", [["--batch", "0"], ["--budgets", "0"], ["--threads", "0"], ["--budgets"]]
)
def test_bad_options_exit(lm_race, argv):
    with pytest.raises(SystemExit):
        lm_race.parse_args(argv)


def test_models_are_the_chapters(lm_race):
    """The sizes of the attention chapter's race (V = 65 for Tiny Shakespeare)."""
    sizes = {
        name: sum(p.numel() for p in lm_race.make_model(name, 65).parameters())
        for name in lm_race.LEARNING_RATES
    }
    assert sizes == {"LSTM": 93_409, "Transformer": 108_352}
    assert lm_race.LEARNING_RATES == {"LSTM": 5e-3, "Transformer": 3e-3}
