"""Tests for dlbook.plot: each helper draws what it says, validates, and leaves rcParams alone."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402

from dlbook import plot  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures_and_guard_rcparams():
    before = dict(matplotlib.rcParams)
    yield
    after = dict(matplotlib.rcParams)
    changed = sorted(k for k in before if before[k] != after.get(k))
    plt.close("all")
    assert changed == [], f"rcParams changed: {changed}"


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    return X, y


def _linear_rule(P):
    return (P[:, 0] + 0.5 * P[:, 1] > 0).astype(int)


# --- decision_boundary -------------------------------------------------------------------------


def test_decision_boundary_draws_regions_and_points(data):
    X, y = data
    ax = plot.decision_boundary(_linear_rule, X, y, grid=50, title="rule")
    assert isinstance(ax, Axes)
    assert len(ax.collections) == 2  # filled contours + the scatter
    assert ax.collections[1].get_offsets().shape == (40, 2)
    assert ax.get_xlabel() == "$x_1$" and ax.get_ylabel() == "$x_2$"
    assert ax.get_title() == "rule"
    assert ax.get_aspect() == 1.0
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    assert x0 == pytest.approx(X[:, 0].min() - 0.5) and x1 == pytest.approx(X[:, 0].max() + 0.5)
    assert y0 == pytest.approx(X[:, 1].min() - 0.5) and y1 == pytest.approx(X[:, 1].max() + 0.5)


def test_decision_boundary_calls_predict_fn_once_on_the_grid(data):
    X, y = data
    seen = []

    def scores(P):
        seen.append(P.shape)
        return P[:, 0] - 0.3  # continuous scores are fine too

    _, ax = plt.subplots()
    assert plot.decision_boundary(scores, X, y, ax=ax, grid=30) is ax
    assert seen == [(900, 2)]


def test_decision_boundary_colours_points_like_their_regions(data):
    X, y = data
    y_pm = 2 * y - 1  # labels in {-1, +1}
    ax = plot.decision_boundary(lambda P: 2 * _linear_rule(P) - 1, X, y_pm, grid=20)
    contour, points = ax.collections
    ax.figure.canvas.draw()  # colours are resolved at draw time
    dots = points.get_facecolors()[:, :3]
    fills = contour.get_facecolor()[:, :3]  # one per class, in sorted label order (-1, +1)
    assert len(fills) == 2 and not np.allclose(fills[0], fills[1])
    np.testing.assert_allclose(dots[y == 0], np.broadcast_to(fills[0], dots[y == 0].shape))
    np.testing.assert_allclose(dots[y == 1], np.broadcast_to(fills[1], dots[y == 1].shape))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"X": np.zeros((5, 3))}, "X"),
        ({"y": np.zeros(4)}, "same number of samples"),
        ({"y": np.zeros((5, 1))}, "y"),
        ({"grid": 1}, "grid"),
        ({"padding": -1.0}, "padding"),
        ({"predict_fn": lambda P: np.zeros(3)}, "predict_fn"),
    ],
)
def test_decision_boundary_validates(kwargs, match):
    args = {"predict_fn": _linear_rule, "X": np.zeros((5, 2)), "y": np.zeros(5), **kwargs}
    with pytest.raises(ValueError, match=match):
        plot.decision_boundary(**args)


# --- linear_boundary ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("w", "b"), [((1.0, 2.0), 0.5), ((1.0, 0.0), -0.3), ((0.0, 2.0), 1.0), ((3.0, -0.1), 0.0)]
)
def test_linear_boundary_endpoints_lie_on_the_line(w, b):
    _, ax = plt.subplots()
    ax.set_xlim(-2, 2)
    ax.set_ylim(-1, 1)
    assert plot.linear_boundary(w, b, ax=ax, label="boundary", color="k") is ax
    (line,) = ax.lines
    pts = line.get_xydata()
    np.testing.assert_allclose(pts @ np.asarray(w) + b, 0.0, atol=1e-12)
    assert np.linalg.norm(pts[1] - pts[0]) > 0.5  # a visible segment, not a point
    assert np.all(pts[:, 0] >= -2 - 1e-9) and np.all(pts[:, 0] <= 2 + 1e-9)
    assert np.all(pts[:, 1] >= -1 - 1e-9) and np.all(pts[:, 1] <= 1 + 1e-9)
    assert ax.get_xlim() == (-2, 2) and ax.get_ylim() == (-1, 1)  # limits untouched
    assert line.get_label() == "boundary" and line.get_color() == "k"


def test_linear_boundary_vertical_line():
    _, ax = plt.subplots()
    ax.set_xlim(0, 4)
    ax.set_ylim(-3, 3)
    plot.linear_boundary([2.0, 0.0], -2.0, ax=ax)  # x = 1
    pts = ax.lines[0].get_xydata()
    np.testing.assert_allclose(pts[:, 0], 1.0)
    assert sorted(pts[:, 1]) == pytest.approx([-3, 3])


def test_linear_boundary_normal_arrow_points_along_w():
    _, ax = plt.subplots()
    ax.set_xlim(-1, 1)
    ax.set_ylim(-1, 1)
    plot.linear_boundary([1.0, 1.0], 0.0, ax=ax)
    assert len(ax.texts) == 0
    plot.linear_boundary([1.0, 1.0], 0.0, ax=ax, normal=True)
    (arrow,) = ax.texts
    tail, tip = np.asarray(arrow.xyann), np.asarray(arrow.xy)
    direction = (tip - tail) / np.linalg.norm(tip - tail)
    np.testing.assert_allclose(direction, np.array([1.0, 1.0]) / np.sqrt(2), atol=1e-12)


@pytest.mark.parametrize(
    ("w", "b", "match"),
    [
        ((0.0, 0.0), 1.0, "w must be non-zero"),
        ((1.0, 2.0, 3.0), 0.0, "w"),
        ((1.0, 1.0), [1, 2], "b"),
    ],
)
def test_linear_boundary_validates(w, b, match):
    _, ax = plt.subplots()
    with pytest.raises(ValueError, match=match):
        plot.linear_boundary(w, b, ax=ax)


# --- scatter_classes ---------------------------------------------------------------------------


def test_scatter_classes_one_collection_per_class_with_legend(data):
    X, y = data
    y3 = y + (X[:, 1] > 1)  # three classes
    ax = plot.scatter_classes(X, y3, labels=["a", "b", "c"], markers=["o", "s", "^"])
    assert len(ax.collections) == 3
    assert [len(c.get_offsets()) for c in ax.collections] == [np.sum(y3 == k) for k in range(3)]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b", "c"]
    assert ax.get_xlabel() == "$x_1$"


def test_scatter_classes_label_mapping(data):
    X, y = data
    ax = plot.scatter_classes(X, 2 * y - 1, labels={-1: "neg", 1: "pos"})
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["neg", "pos"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"labels": ["only one"]}, "labels"),
        ({"labels": {0: "zero"}}, "labels"),
        ({"markers": ["o"]}, "markers"),
        ({"X": np.zeros((40,))}, "X"),
    ],
)
def test_scatter_classes_validates(data, kwargs, match):
    X, y = data
    with pytest.raises(ValueError, match=match):
        plot.scatter_classes(**{"X": X, "y": y, **kwargs})


# --- learning_curves ---------------------------------------------------------------------------


class _History:
    def as_dict(self):
        return {"train_loss": [1.0, 0.6, 0.4], "val_loss": [1.1, 0.8, 0.7], "train_acc": []}


def test_learning_curves_from_a_history_object():
    ax = plot.learning_curves(_History(), title="curves")
    assert len(ax.lines) == 2
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), [1, 2, 3])
    np.testing.assert_array_equal(ax.lines[1].get_ydata(), [1.1, 0.8, 0.7])
    assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == "loss"
    assert ax.get_title() == "curves"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["train_loss", "val_loss"]


def test_learning_curves_skips_missing_and_empty_keys():
    history = {"train_loss": [3.0, 2.0], "val_loss": []}
    ax = plot.learning_curves(history, keys=("train_loss", "val_loss", "nope"))
    assert len(ax.lines) == 1
    ax = plot.learning_curves({"train_acc": [0.5, 0.9]}, keys=("train_acc",))
    assert ax.get_ylabel() == "accuracy"


def test_learning_curves_validates():
    with pytest.raises(ValueError, match="history"):
        plot.learning_curves({"val_loss": []})
    with pytest.raises(ValueError, match="history"):
        plot.learning_curves([1.0, 2.0])


# --- image_grid --------------------------------------------------------------------------------


def test_image_grid_builds_one_mosaic_with_labels():
    images = np.random.default_rng(0).random((23, 8, 6))
    ax = plot.image_grid(images, labels=list(range(23)), ncols=5, title="digits")
    (im,) = ax.images
    assert im.get_array().shape == (5 * 9 - 1, 5 * 7 - 1)  # 5 rows and 5 columns, 1-px gaps
    np.testing.assert_array_equal(im.get_array()[:8, :6], images[0])
    assert [t.get_text() for t in ax.texts] == [str(i) for i in range(23)]
    assert ax.get_title() == "digits"


def test_image_grid_accepts_a_channel_axis():
    ax = plot.image_grid(np.zeros((3, 1, 4, 4)))
    assert ax.images[0].get_array().shape == (4, 3 * 5 - 1)
    assert len(ax.texts) == 0


@pytest.mark.parametrize(
    ("images", "kwargs", "match"),
    [
        (np.zeros((4, 4)), {}, "images"),
        (np.zeros((2, 3, 4, 4)), {}, "images"),
        (np.zeros((3, 4, 4)), {"labels": [1, 2]}, "labels"),
        (np.zeros((3, 4, 4)), {"ncols": 0}, "ncols"),
    ],
)
def test_image_grid_validates(images, kwargs, match):
    with pytest.raises(ValueError, match=match):
        plot.image_grid(images, **kwargs)


# --- confusion_matrix --------------------------------------------------------------------------


def test_confusion_matrix_annotates_counts():
    cm = np.array([[5, 1, 0], [2, 7, 1], [0, 0, 9]])
    ax = plot.confusion_matrix(cm, class_names=["a", "b", "c"])
    assert len(ax.images) == 1
    assert [t.get_text() for t in ax.texts] == [str(v) for v in cm.ravel()]
    assert ax.get_xlabel() == "predicted" and ax.get_ylabel() == "true"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    assert ax.get_title() == "Confusion matrix"


def test_confusion_matrix_normalizes_rows():
    ax = plot.confusion_matrix([[3, 1], [0, 0]], normalize=True)
    assert [t.get_text() for t in ax.texts] == ["0.75", "0.25", "0.00", "0.00"]
    np.testing.assert_allclose(ax.images[0].get_array(), [[0.75, 0.25], [0, 0]])


@pytest.mark.parametrize(
    ("cm", "kwargs", "match"),
    [
        (np.zeros((2, 3)), {}, "square"),
        (np.zeros(4), {}, "cm"),
        (-np.ones((2, 2)), {}, "cm"),
        (np.zeros((2, 2)), {"class_names": ["a"]}, "class_names"),
    ],
)
def test_confusion_matrix_validates(cm, kwargs, match):
    with pytest.raises(ValueError, match=match):
        plot.confusion_matrix(cm, **kwargs)


# --- shared contract ---------------------------------------------------------------------------


def test_helpers_draw_into_the_given_axes_and_make_no_new_figures(data):
    X, y = data
    fig, axes = plt.subplots(2, 3)
    n_figs = len(plt.get_fignums())
    calls = [
        lambda ax: plot.decision_boundary(_linear_rule, X, y, ax=ax, grid=10),
        lambda ax: plot.linear_boundary([1, 1], 0, ax=ax),
        lambda ax: plot.scatter_classes(X, y, ax=ax),
        lambda ax: plot.learning_curves({"train_loss": [1, 0.5]}, ax=ax),
        lambda ax: plot.image_grid(np.zeros((2, 3, 3)), ax=ax),
        lambda ax: plot.confusion_matrix(np.eye(2), ax=ax),
    ]
    for ax, call in zip(axes.ravel(), calls, strict=True):
        assert call(ax) is ax
        assert ax.has_data() or ax.lines
    assert len(plt.get_fignums()) == n_figs


def test_a_helper_does_not_change_rcparams_or_call_show(data, monkeypatch):
    X, y = data
    monkeypatch.setattr(plt, "show", lambda *a, **k: pytest.fail("plt.show() was called"))
    before = matplotlib.rcParams.copy()
    plot.decision_boundary(_linear_rule, X, y, grid=10)
    plot.scatter_classes(X, y)
    plot.learning_curves({"train_loss": [1, 0.5]})
    plot.image_grid(np.zeros((2, 3, 3)), labels=["a", "b"])
    plot.confusion_matrix(np.eye(2), normalize=True)
    plot.linear_boundary([1, 1], 0)
    assert dict(matplotlib.rcParams) == dict(before)


def test_timeline_one_row_per_event_in_order():
    events = [(1986, "backprop"), (1943, "neuron"), (1958, "perceptron")]
    ax = plot.timeline(events, highlight=(1940, 1960), title="t")
    texts = [t.get_text() for t in ax.texts]
    assert texts[0].startswith("1943") and "neuron" in texts[0]
    assert texts[-1].endswith("1986") and "backprop" in texts[-1]  # second half: label left
    assert len(ax.texts) == 3 and ax.get_title() == "t"
    (dots,) = [line for line in ax.lines if line.get_marker() == "o"]
    assert list(dots.get_xdata()) == [1943, 1958, 1986]
    assert list(dots.get_ydata()) == [0, -1, -2]


@pytest.mark.parametrize(
    ("events", "match"), [([], "empty"), ([(1950,)], "pairs"), ([(float("nan"), "x")], "NaN")]
)
def test_timeline_rejects_bad_events(events, match):
    with pytest.raises(ValueError, match=match):
        plot.timeline(events)
