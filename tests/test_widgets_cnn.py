"""dlbook.widgets.kernel_playground and apply_kernel: widget, static figure, kernels, bad input."""

import base64

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dlbook import widgets
from dlbook.widgets import KERNELS, apply_kernel

pytest.importorskip("ipywidgets")


@pytest.fixture
def digits():
    rng = np.random.default_rng(0)
    return rng.uniform(size=(3, 8, 8))


def test_playground_bundle_has_widget_png_and_note(digits):
    bundle = widgets.kernel_playground(digits)._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert base64.b64decode(bundle["image/png"]).startswith(b"\x89PNG\r\n\x1a\n")
    assert f"one of {len(KERNELS)} preset 3x3 kernels" in bundle["text/plain"]


def test_preset_fills_the_boxes_and_editing_makes_it_custom(digits):
    explorer = widgets.kernel_playground(digits, "blur")
    (controls, text, _) = explorer.widget.children
    preset, grid, pick = controls.children
    values = lambda: np.array([c.value for c in grid.children]).reshape(3, 3)  # noqa: E731
    np.testing.assert_allclose(values(), KERNELS["blur"])
    assert text.value.startswith("blur")
    preset.value = "laplacian"
    np.testing.assert_array_equal(values(), KERNELS["laplacian"])
    assert text.value.startswith("laplacian")
    grid.children[4].value = -8.0
    assert preset.value == "custom" and text.value.startswith("custom")
    pick.value = 2  # redraws on another digit
    assert pick.max == len(digits) - 1


def test_single_image_has_no_digit_slider():
    explorer = widgets.kernel_playground(np.eye(6), kernel=np.ones((3, 3)))
    controls = explorer.widget.children[0]
    assert len(controls.children) == 2 and controls.children[0].value == "custom"


@pytest.mark.parametrize("name", list(KERNELS))
def test_apply_kernel_matches_torch_conv2d(digits, name):
    image = digits[0]
    want = F.conv2d(
        torch.tensor(image)[None, None], torch.tensor(KERNELS[name])[None, None], padding=1
    )
    np.testing.assert_allclose(apply_kernel(image, name), want[0, 0].numpy(), rtol=1e-12)


def test_kernels_do_what_their_names_say():
    image = np.zeros((7, 7))
    image[:, 3] = 1.0  # one vertical stroke
    np.testing.assert_array_equal(apply_kernel(image, "identity"), image)
    assert np.abs(apply_kernel(image, "sobel_y")[1:-1]).max() == 0  # no horizontal edge inside
    assert np.abs(apply_kernel(image, "sobel_x")).max() > 0
    assert apply_kernel(np.ones((5, 5)), "laplacian")[2, 2] == 0  # flat regions give 0
    assert apply_kernel(np.ones((5, 5)), "blur")[2, 2] == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((np.ones((4, 4)), "emboss"), "kernel must be one of"),
        ((np.ones((4, 4)), np.ones((2, 2))), r"kernel must have shape \(3, 3\)"),
        ((np.ones(4), "blur"), r"image must be a 2-D array"),
    ],
)
def test_apply_kernel_rejects_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        apply_kernel(*args)


def test_playground_rejects_bad_images():
    with pytest.raises(ValueError, match="images must be a 3-D array"):
        widgets.kernel_playground(np.ones((2, 2, 4, 4)))
