"""dlbook.widgets: the optimizer explorer of the optimization chapter, and its helpers."""

import base64

import matplotlib.pyplot as plt
import numpy as np
import pytest

import dlbook.numpy as dnp
from dlbook import widgets

pytest.importorskip("ipywidgets")


def controls(explorer):
    (surface, optimizer), (lr, beta) = (box.children for box in explorer.widget.children[:2])
    return surface, optimizer, lr, beta, explorer.widget.children[2]


def test_explorer_bundle_has_widget_png_and_note():
    bundle = widgets.optimizer_explorer()._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert base64.b64decode(bundle["image/png"]).startswith(b"\x89PNG\r\n\x1a\n")
    assert "choose a surface, an optimizer" in bundle["text/plain"]


def test_explorer_text_follows_the_controls():
    explorer = widgets.optimizer_explorer("quadratic", "Momentum", lr=0.02, beta=0.5)
    surface, optimizer, lr, beta, text = controls(explorer)
    path = widgets.optimizer_path("quadratic", "Momentum", 0.02, 0.5, 1000)
    assert text.value.startswith("Momentum, lr = 0.02, momentum = 0.5: after 1000 steps")
    assert f"f = {dnp.quadratic(path[-1]):.3e}" in text.value
    optimizer.value = "Adagrad"
    assert text.value.startswith("Adagrad, lr = 0.02, beta unused") and beta.disabled
    surface.value = "beale"
    lr.value = 10.0**0.5  # far too large for SGD on Beale
    optimizer.value = "SGD"
    assert "diverged" in text.value


def test_optimizer_path_sets_the_right_hyperparameter():
    for name, cls, hyper in [
        ("Momentum", dnp.SGD, {"momentum": 0.7}),
        ("Nesterov", dnp.SGD, {"momentum": 0.7, "nesterov": True}),
        ("RMSprop", dnp.RMSprop, {"alpha": 0.7}),
        ("Adadelta", dnp.Adadelta, {"rho": 0.7}),
        ("Adam", dnp.Adam, {"betas": (0.7, 0.999)}),
        ("Adagrad", dnp.Adagrad, {}),
    ]:
        got = widgets.optimizer_path("beale", name, 0.01, 0.7, steps=30)
        want = dnp.trajectory(
            dnp.beale_grad, dnp.SURFACES["beale"].start, cls, 30, lr=0.01, **hyper
        )
        np.testing.assert_array_equal(got, want)


def test_draw_optimizer_paths_draws_one_line_per_path_and_marks_divergence():
    paths = {
        "a": widgets.optimizer_path("rosenbrock", "Adam", 0.05, 0.9, 50),
        "b": np.array([[-1.5, 2.0], [0.0, 0.0], [50.0, 50.0]]),  # leaves the window
    }
    ax = widgets.draw_optimizer_paths("rosenbrock", paths)
    labels = [line.get_label() for line in ax.get_lines()]
    assert {"a", "b", "minimum"} <= set(labels)
    crosses = [line for line in ax.get_lines() if line.get_marker() == "x"]
    assert len(crosses) == 1 and np.allclose(crosses[0].get_xydata(), [[0.0, 0.0]])
    assert ax.get_xlabel() and ax.get_title() == "Rosenbrock"
    plt.close("all")


def test_explorer_rejects_unknown_choices():
    with pytest.raises(ValueError, match="optimizer must be one of"):
        widgets.optimizer_explorer(optimizer="LBFGS")
    with pytest.raises(ValueError, match="surface must be one of"):
        widgets.optimizer_path("himmelblau", "SGD", 0.1)
    with pytest.raises(ValueError, match="lr must be"):
        widgets.optimizer_explorer(lr=-1.0)
