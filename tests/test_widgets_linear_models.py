"""dlbook.widgets.learning_rate_explorer: its widget, static figure, text fallback and checks."""

import base64

import numpy as np
import pytest

import dlbook.numpy as dnp
from dlbook import widgets
from dlbook.widgets.linear_models import _draw_lr_path, _lr_problem

pytest.importorskip("ipywidgets")


@pytest.fixture
def line():
    rng = np.random.default_rng(0)
    x = rng.normal(1.0, 1.0, size=30)
    return x[:, None], 2.0 * x - 1.0 + 0.3 * rng.normal(size=30)


def test_explorer_bundle_has_widget_png_and_the_limit(line):
    explorer = widgets.learning_rate_explorer(*line)
    bundle = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert base64.b64decode(bundle["image/png"]).startswith(b"\x89PNG\r\n\x1a\n")
    limit = dnp.largest_stable_lr(dnp.mse_hessian(line[0]))
    assert f"2/lambda_max = {limit:.3g}" in bundle["text/plain"]


def test_sliders_redraw(line):
    explorer = widgets.learning_rate_explorer(*line, factors=(0.3,), steps=10)
    factor, steps = explorer.widget.children[0].children
    assert factor.value == pytest.approx(0.3) and steps.value == 10
    factor.value = 1.1  # a diverging rate still draws
    steps.value = 50
    assert factor.max > 1.0 > factor.min > 0  # the slider spans both sides of the limit


@pytest.mark.parametrize(("factor", "converges"), [(0.5, True), (0.95, True), (1.05, False)])
def test_drawn_path_converges_iff_below_the_limit(line, factor, converges):
    import matplotlib.pyplot as plt

    X, y, limit, best, best_loss = _lr_problem(*line)
    w, b = dnp.linear_regression_closed_form(X, y)
    np.testing.assert_allclose(best, np.append(w, b))
    _, ax = plt.subplots()
    losses = _draw_lr_path(ax, X, y, limit, best, best_loss, factor, 200)
    assert len(losses) == 201
    assert (losses[-1] - best_loss < 1e-6) == converges
    assert (losses[-1] > losses[0]) == (not converges)


def test_explorer_accepts_a_flat_feature_vector(line):
    X, y = line
    a = _lr_problem(X[:, 0], y)
    b = _lr_problem(X, y)
    assert a[2] == b[2]


@pytest.mark.parametrize(
    ("X", "kwargs", "match"),
    [
        (np.ones((30, 2)), {}, r"X must have shape \(N, 1\)"),
        (np.ones((29, 1)), {}, r"y must have shape \(29,\)"),
        (None, {"factors": (0.5, -1.0)}, "factors"),
        (None, {"factors": ()}, "factors"),
        (None, {"steps": 0}, "steps"),
    ],
)
def test_explorer_rejects_bad_input(line, X, kwargs, match):
    with pytest.raises(ValueError, match=match):
        widgets.learning_rate_explorer(line[0] if X is None else X, line[1], **kwargs)
