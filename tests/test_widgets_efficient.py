"""dlbook.widgets.attack_explorer: widget, static figure, redraw, bad input."""

import base64

import numpy as np
import pytest

from dlbook import widgets

pytest.importorskip("ipywidgets")


@pytest.fixture
def attack():
    rng = np.random.default_rng(0)
    eps = np.array([0.0, 0.1, 0.2])
    clean = rng.uniform(size=(4, 8, 8))
    images = np.stack(
        [np.clip(clean + e * np.sign(rng.normal(size=clean.shape)), 0, 1) for e in eps]
    )
    labels = np.array([1, 2, 3, 4])
    preds = np.array([[1, 2, 3, 4], [1, 5, 3, 4], [7, 5, 3, 0]])
    return eps, images, preds, labels


def test_bundle_has_widget_png_and_note(attack):
    bundle = widgets.attack_explorer(*attack, accuracy=[1.0, 0.75, 0.25])._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert base64.b64decode(bundle["image/png"]).startswith(b"\x89PNG\r\n\x1a\n")
    assert "3 budgets and 4 digits" in bundle["text/plain"]


def test_sliders_redraw_and_report_the_perturbation(attack):
    eps, images, preds, labels = attack
    explorer = widgets.attack_explorer(eps, images, preds, labels)
    controls, text, _ = explorer.widget.children
    budget, digit = controls.children
    assert budget.max == 2 and digit.max == 3
    budget.value, digit.value = 1, 2
    gap = np.abs(images[1, 2] - images[0, 2]).max()
    assert text.value.startswith(f"max |x_adv - x| = {gap:.3f}")
    budget.value = 0
    assert text.value.startswith("max |x_adv - x| = 0.000")


def test_rejects_mismatched_shapes(attack):
    eps, images, preds, labels = attack
    with pytest.raises(ValueError, match="images"):
        widgets.attack_explorer(eps[:2], images, preds, labels)
    with pytest.raises(ValueError, match="predictions"):
        widgets.attack_explorer(eps, images, preds[:, :3], labels)
    with pytest.raises(ValueError, match="accuracy"):
        widgets.attack_explorer(eps, images, preds, labels, accuracy=[1.0])
