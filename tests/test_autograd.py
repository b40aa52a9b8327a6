"""dlbook.numpy.autograd: Value's gradients against torch.autograd, known derivatives, the
accumulation rules, the graph drawing and bad input."""

import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlbook.numpy.autograd import Value, draw_graph, topological_order

torch = pytest.importorskip("torch")

# A small grammar of expressions over three variables x0, x1, x2. Every operation is applied
# where it is defined and bounded (log of 1 + e^2, exp and powers of tanh(e), division by
# 1 + e^2), so that random trees stay finite; "square" and the variables reuse nodes, which
# tests that gradients from several paths add up.
UNARY = ("neg", "tanh", "relu", "exp", "log", "sqrt", "square", "pow3", "inv")
BINARY = ("add", "sub", "mul", "div")
WITH_CONST = ("radd", "rsub", "rmul", "rdiv", "add_const", "mul_const", "sub_const")

VARIABLE = st.tuples(st.just("var"), st.integers(0, 2))
CONST = st.floats(-2, 2, allow_nan=False, allow_infinity=False)


def _extend(children):
    return st.one_of(
        st.tuples(st.sampled_from(UNARY), children),
        st.tuples(st.sampled_from(BINARY), children, children),
        st.tuples(st.sampled_from(WITH_CONST), children, CONST),
    )


EXPRESSIONS = st.recursive(VARIABLE, _extend, max_leaves=8)


def evaluate(tree, xs, lib):
    """Evaluate `tree` on the variables `xs` with `lib` giving tanh/relu/exp/log."""
    kind, *args = tree
    if kind == "var":
        return xs[args[0]]
    if kind in BINARY:
        a, b = evaluate(args[0], xs, lib), evaluate(args[1], xs, lib)
        if kind == "add":
            return a + b
        if kind == "sub":
            return a - b
        return a * b if kind == "mul" else a / (1 + b * b)
    a = evaluate(args[0], xs, lib)
    if kind in WITH_CONST:
        c = args[1]
        return {
            "radd": lambda: c + a,
            "rsub": lambda: c - a,
            "rmul": lambda: c * a,
            "rdiv": lambda: c / (1 + a * a),
            "add_const": lambda: a + c,
            "mul_const": lambda: a * c,
            "sub_const": lambda: a - c,
        }[kind]()
    if kind == "neg":
        return -a
    if kind == "tanh":
        return lib.tanh(a)
    if kind == "relu":
        return lib.relu(a)
    if kind == "exp":
        return lib.exp(lib.tanh(a))
    if kind == "log":
        return lib.log(1 + a * a)
    if kind == "sqrt":
        return (a * a + 1) ** 0.5
    if kind == "square":
        t = lib.tanh(a)
        return t * t
    if kind == "pow3":
        return lib.tanh(a) ** 3
    if kind == "inv":
        return (a * a + 0.5) ** -1.5
    raise AssertionError(kind)


class ValueOps:
    tanh = staticmethod(lambda v: v.tanh())
    relu = staticmethod(lambda v: v.relu())
    exp = staticmethod(lambda v: v.exp())
    log = staticmethod(lambda v: v.log())


class TorchOps:
    tanh = staticmethod(torch.tanh)
    relu = staticmethod(torch.relu)
    exp = staticmethod(torch.exp)
    log = staticmethod(torch.log)


@settings(max_examples=150, deadline=None)
@given(tree=EXPRESSIONS, xs=st.lists(CONST, min_size=3, max_size=3))
def test_gradients_equal_torch_autograd_on_random_expressions(tree, xs):
    values = [Value(x, f"x{i}") for i, x in enumerate(xs)]
    out = evaluate(tree, values, ValueOps)
    out.backward()
    tensors = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs]
    expected = evaluate(tree, tensors, TorchOps)
    assert out.data == pytest.approx(expected.item(), rel=1e-12, abs=1e-12)
    expected.backward()
    want = [0.0 if t.grad is None else t.grad.item() for t in tensors]
    np.testing.assert_allclose([v.grad for v in values], want, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    ("f", "df", "x"),
    [
        (lambda v: v**3, lambda x: 3 * x**2, -1.3),
        (lambda v: v.tanh(), lambda x: 1 - math.tanh(x) ** 2, 0.7),
        (lambda v: v.exp(), math.exp, 1.5),
        (lambda v: v.log(), lambda x: 1 / x, 0.25),
        (lambda v: v.relu(), lambda x: 1.0, 2.0),
        (lambda v: v.relu(), lambda x: 0.0, -2.0),
        (lambda v: v.relu(), lambda x: 0.0, 0.0),  # torch's convention at the kink
        (lambda v: 1 / v, lambda x: -1 / x**2, 4.0),
        (lambda v: 2 - v, lambda x: -1.0, 4.0),
        (lambda v: v * v, lambda x: 2 * x, 3.0),  # one node used twice: contributions add
        (
            lambda v: (v * 2).tanh() * v,
            lambda x: 2 * (1 - math.tanh(2 * x) ** 2) * x + math.tanh(2 * x),
            0.3,
        ),
    ],
)
def test_known_derivatives(f, df, x):
    v = Value(x)
    f(v).backward()
    assert v.grad == pytest.approx(df(x), rel=1e-12, abs=1e-15)


def test_product_and_sum_rules_on_two_inputs():
    a, b = Value(2.0, "a"), Value(-3.0, "b")
    out = a * b + a
    out.backward()
    assert (out.data, a.grad, b.grad) == (-4.0, -2.0, 2.0)  # d/da = b + 1, d/db = a


def test_inputs_accumulate_across_calls_and_zero_grad_resets():
    x = Value(1.5)
    h = x * x  # interior node
    out = h * 3
    out.backward()
    out.backward()
    assert x.grad == pytest.approx(2 * 6 * 1.5)  # two calls: twice 6x
    assert h.grad == 3.0  # interior nodes hold the gradient of the latest call only
    out.zero_grad()
    assert x.grad == h.grad == out.grad == 0.0
    out.backward()
    assert x.grad == pytest.approx(6 * 1.5)


def test_topological_order_puts_inputs_first_and_visits_each_node_once():
    a, b = Value(1.0), Value(2.0)
    c = a * b
    out = (c + a) * c
    order = topological_order(out)
    assert order[-1] is out and len(order) == len({id(n) for n in order}) == 5
    position = {id(n): i for i, n in enumerate(order)}
    for node in order:
        assert all(position[id(p)] < position[id(node)] for p in node._parents)


def test_deep_graph_needs_no_recursion():
    x = Value(0.5)
    out = x
    for _ in range(5000):
        out = out + x * 0.0  # far deeper than Python's recursion limit
    out.backward()
    assert x.grad == 1.0


def test_repr_is_readable():
    v = Value(0.5, "w")
    assert repr(v) == "Value(data=0.5, grad=0, label='w')"
    assert repr(v.tanh()).startswith("Value(data=0.462117, grad=0, op='tanh')")


def test_draw_graph_shows_one_text_per_node():
    import matplotlib.pyplot as plt

    x, w, b = Value(2.0, "x"), Value(-0.5, "w"), Value(0.1, "b")
    out = (x * w + b).tanh()
    out.backward()
    ax = draw_graph(out)
    assert isinstance(ax, plt.Axes)
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == len(topological_order(out)) == 6
    assert sum(t.startswith("tanh") for t in texts) == 1
    assert any(t.startswith("w\n") and f"grad {w.grad:.4g}" in t for t in texts)
    assert len(ax.patches) == 5  # one arrow per (input, result) pair
    _, given_ax = plt.subplots()
    assert draw_graph(x * x, ax=given_ax) is given_ax and len(given_ax.texts) == 2


def test_importing_autograd_does_not_import_matplotlib():
    code = "import sys, dlbook.numpy.autograd; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: Value(0.0).log(), "positive"),
        (lambda: Value(-1.0).log(), "positive"),
        (lambda: Value("2"), "real number"),
        (lambda: Value(None), "real number"),
        (lambda: Value(True), "real number"),
        (lambda: Value(float("nan")), "finite"),
        (lambda: Value(float("inf")), "finite"),
        (lambda: Value(1.0) + "a", "real number"),
        (lambda: Value(1.0) * [1.0], "real number"),
        (lambda: Value(2.0) ** Value(2.0), "constant"),
        (lambda: Value(-2.0) ** 0.5, "negative base"),
        (lambda: Value(1000.0).exp(), "overflows"),
        (lambda: Value(1e200) * 1e200, "finite"),
        (lambda: draw_graph(1.0), "Value"),
    ],
)
def test_bad_input_raises_value_error(make, match):
    with pytest.raises(ValueError, match=match):
        make()
