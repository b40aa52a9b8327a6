"""dlbook.widgets: the polynomial and threshold explorers of the regularization chapter."""

import base64

import numpy as np
import pytest

import dlbook.numpy as dnp
from dlbook import metrics, widgets

pytest.importorskip("ipywidgets")


def sine_data(n=12, m=50, seed=0):
    rng = np.random.default_rng(seed)
    x, xv = np.linspace(-1, 1, n), rng.uniform(-1, 1, m)
    return x, np.sin(np.pi * x) + 0.2 * rng.normal(size=n), xv, np.sin(np.pi * xv)


def binary_scores(seed=0, n=60):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=n)
    y[:2] = [0, 1]
    return y, rng.normal(size=n) + 1.5 * y


def test_polynomial_features_and_fit():
    x = np.array([-1.0, 0.5, 2.0])
    np.testing.assert_array_equal(
        widgets.polynomial_features(x, 3), [[-1, 1, -1], [0.5, 0.25, 0.125], [2, 4, 8]]
    )
    # a cubic is fitted exactly by degree 3, with the bias separate
    x = np.linspace(-1, 1, 9)
    w, b = widgets.fit_polynomial(x, 1 - 2 * x + 0.5 * x**3, 3)
    np.testing.assert_allclose(w, [-2, 0, 0.5], atol=1e-10)
    assert b == pytest.approx(1.0)


def test_polynomial_errors_follow_the_closed_form_and_the_penalty():
    x, y, xv, yv = sine_data()
    train, val = widgets.polynomial_errors(x, y, xv, yv, [1, 3, 11])
    feats = widgets.polynomial_features(x, 3)
    w, b = dnp.linear_regression_closed_form(feats, y)
    assert train[1] == pytest.approx(np.mean((feats @ w + b - y) ** 2))
    assert train[0] > train[1] > train[2] and train[2] < 1e-20  # degree N - 1 interpolates
    assert val[2] > val[1]  # ... and overfits
    penalized_train, penalized_val = widgets.polynomial_errors(x, y, xv, yv, [11], l2=1e-3)
    assert penalized_train[0] > train[2] and penalized_val[0] < val[2]


def test_polynomial_explorer_bundle_and_controls():
    x, y, xv, yv = sine_data()
    explorer = widgets.polynomial_explorer(x, y, xv, yv, degree=3)
    bundle = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert base64.b64decode(bundle["image/png"]).startswith(b"\x89PNG\r\n\x1a\n")
    assert "choose the polynomial degree" in bundle["text/plain"]
    (degree, l2), text = explorer.widget.children[0].children, explorer.widget.children[1]
    train, val = widgets.polynomial_errors(x, y, xv, yv, [3])
    assert text.value.startswith("degree 3, lambda = 0:")
    assert f"validation MSE = {val[0]:.4g}" in text.value
    degree.value = 11
    l2.value = 1e-3
    train, val = widgets.polynomial_errors(x, y, xv, yv, [11], l2=1e-3)
    assert text.value.startswith("degree 11, lambda = 0.001:")
    assert f"training MSE = {train[0]:.4g}" in text.value


def test_threshold_explorer_text_follows_the_slider():
    y, scores = binary_scores()
    explorer = widgets.threshold_explorer(y, scores, threshold=0.5)
    assert base64.b64decode(explorer._repr_mimebundle_()["image/png"]).startswith(b"\x89PNG")
    slider, text = explorer.widget.children[:2]
    slider.value = 1.0
    p, r, f1 = metrics.precision_recall_f1(y, (scores >= slider.value).astype(int))
    assert text.value.startswith(f"threshold {slider.value:.3g}: precision {p:.3f}")
    assert f"recall {r:.3f}, F1 {f1:.3f}" in text.value
    slider.value = slider.max  # predicts (almost) nothing positive: no division error
    assert "precision" in text.value


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"degree": 0}, "degree must be an int in"),
        ({"degree": 30}, "degree must be an int in"),
        ({"l2": 0.5}, "l2 must be one of"),
        ({"max_degree": 0}, "max_degree must be an int"),
    ],
)
def test_polynomial_explorer_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        widgets.polynomial_explorer(*sine_data(), **kwargs)


def test_polynomial_helpers_and_threshold_explorer_reject_bad_input():
    with pytest.raises(ValueError, match="degree must be an int >= 1"):
        widgets.polynomial_features(np.ones(3), 0)
    with pytest.raises(ValueError, match="x contains NaN"):
        widgets.fit_polynomial(np.array([0.0, np.nan]), np.ones(2), 1)
    with pytest.raises(ValueError, match="a ROC curve needs both classes"):
        widgets.threshold_explorer(np.ones(4, dtype=int), np.arange(4.0))
    with pytest.raises(ValueError, match="threshold must be finite"):
        widgets.threshold_explorer(*binary_scores(), threshold=float("inf"))
