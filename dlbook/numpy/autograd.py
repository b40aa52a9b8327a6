"""A scalar reverse-mode automatic differentiation engine, in the way micrograd does it.

Book: chapter "Multilayer perceptrons and backpropagation" (`chapters/backprop.ipynb`), section
{ref}`sec-backprop-graph`.

A `Value` wraps one float. Every operation on Values returns a new Value that remembers its
inputs (`_parents`), the operation (`_op`) and a closure `_backward` holding that operation's
local chain rule: given dL/d(out) in `out.grad`, it adds dL/d(input) to each input's `.grad`.
`Value.backward()` runs the closures from the output back to the inputs. Never imports torch;
matplotlib is imported only when `draw_graph` is called.
"""

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes

from dlbook.checks import check_number

__all__ = ["Value", "check_node", "draw_graph", "topological_order"]


def check_node(name: str, x: object) -> None:
    """Raise ValueError unless x is a `Value` (a node of a computation graph).

    Checked by attributes rather than isinstance, so that a copy of the class (the book's cells
    define one) works with the functions here too.
    """
    if not all(hasattr(x, a) for a in ("data", "grad", "label", "_parents", "_op")):
        raise ValueError(f"{name} must be a Value; got {type(x).__name__}")


def topological_order(root: "Value") -> "list[Value]":
    """Every node of the graph that computed `root`, each after all of its inputs; root last."""
    check_node("root", root)
    order: list = []
    seen: set = set()
    stack = [(root, False)]  # (node, inputs already pushed): a depth-first search without recursion
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)  # all of its inputs were appended before it
        elif node not in seen:
            seen.add(node)
            stack.append((node, True))
            stack.extend((parent, False) for parent in node._parents)
    return order


class Value:
    """A scalar that remembers how it was computed, so that `backward()` can differentiate it.

    `data` is the float value; after `out.backward()`, `grad` holds d(out)/d(this node) (summed
    over calls for inputs, see `backward`). `label` names an input in drawings and reprs.
    Supports +, -, *, / with Values or numbers, ** with a constant exponent, unary -, and the
    methods tanh, relu, exp and log.
    """

    def __init__(self, data: float, label: str = "", *, _parents: tuple = (), _op: str = ""):
        self.data = check_number(f"the result of {_op!r}" if _op else "data", data)
        self.grad = 0.0
        self.label = str(label)
        self._parents = tuple(_parents)
        self._op = _op
        self._backward = lambda: None  # an input has no inputs to pass gradients to

    def __repr__(self) -> str:
        extra = f", label={self.label!r}" if self.label else ""
        extra += f", op={self._op!r}" if self._op else ""
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g}{extra})"

    @staticmethod
    def _lift(other: object) -> "Value":
        if isinstance(other, Value):
            return other
        return Value(check_number("other operand", other), label="const")

    def __add__(self, other: object) -> "Value":
        other = Value._lift(other)
        out = Value(self.data + other.data, _parents=(self, other), _op="+")

        def rule() -> None:
            # d(a + b)/da = 1 and d(a + b)/db = 1: the sum passes its gradient on unchanged.
            self.grad += out.grad
            other.grad += out.grad

        out._backward = rule
        return out

    def __mul__(self, other: object) -> "Value":
        other = Value._lift(other)
        out = Value(self.data * other.data, _parents=(self, other), _op="*")

        def rule() -> None:
            # d(a b)/da = b and d(a b)/db = a: each factor gets the other one.
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = rule
        return out

    def __pow__(self, exponent: object) -> "Value":
        p = check_number("exponent (a constant; Value ** Value is not supported)", exponent)
        if self.data < 0 and p != int(p):
            raise ValueError(f"a negative base {self.data} has no real power {p}")
        out = Value(self.data**p, _parents=(self,), _op=f"**{p:g}")

        def rule() -> None:
            # d(a^p)/da = p a^(p-1)
            self.grad += p * self.data ** (p - 1) * out.grad

        out._backward = rule
        return out

    def tanh(self) -> "Value":
        t = math.tanh(self.data)
        out = Value(t, _parents=(self,), _op="tanh")

        def rule() -> None:
            # d tanh(a)/da = 1 - tanh(a)^2
            self.grad += (1.0 - t * t) * out.grad

        out._backward = rule
        return out

    def relu(self) -> "Value":
        out = Value(max(self.data, 0.0), _parents=(self,), _op="relu")

        def rule() -> None:
            # d max(a, 0)/da = 1 if a > 0 else 0 (0 at the kink a = 0, as in torch)
            self.grad += (self.data > 0) * out.grad

        out._backward = rule
        return out

    def exp(self) -> "Value":
        try:
            e = math.exp(self.data)
        except OverflowError as err:
            raise ValueError(f"exp({self.data:g}) overflows a float64") from err
        out = Value(e, _parents=(self,), _op="exp")

        def rule() -> None:
            # d e^a/da = e^a
            self.grad += e * out.grad

        out._backward = rule
        return out

    def log(self) -> "Value":
        if self.data <= 0:
            raise ValueError(f"log needs a positive argument; got {self.data:g}")
        out = Value(math.log(self.data), _parents=(self,), _op="log")

        def rule() -> None:
            # d log(a)/da = 1/a
            self.grad += out.grad / self.data

        out._backward = rule
        return out

    # The remaining operators are compositions of the ones above, so they need no rule of
    # their own: -a = a * (-1), a - b = a + (-b), a / b = a * b^(-1).
    def __neg__(self) -> "Value":
        return self * -1

    def __sub__(self, other: object) -> "Value":
        return self + (-Value._lift(other))

    def __truediv__(self, other: object) -> "Value":
        return self * Value._lift(other) ** -1

    def __radd__(self, other: object) -> "Value":
        return self + other

    def __rmul__(self, other: object) -> "Value":
        return self * other

    def __rsub__(self, other: object) -> "Value":
        return Value._lift(other) - self

    def __rtruediv__(self, other: object) -> "Value":
        return Value._lift(other) / self

    def backward(self) -> None:
        """Set each node's grad to d(self)/d(node) by the chain rule, from self back to the inputs.

        A node used twice receives the sum of both contributions (the multivariable chain rule).
        Inputs (Values with no parents) accumulate across calls, as torch's leaf tensors do, so
        call `zero_grad()` between steps; every other node holds the gradient of this call.
        """
        order = topological_order(self)
        for node in order:
            if node._parents:
                node.grad = 0.0
        self.grad += 1.0  # d(self)/d(self) = 1
        for node in reversed(order):  # each node's grad is complete before it is passed on
            node._backward()

    def zero_grad(self) -> None:
        """Set grad to 0 on every node of the graph that computed self."""
        for node in topological_order(self):
            node.grad = 0.0


def _node_text(node: "Value") -> str:
    name = node.label or node._op or "input"
    if node.label and node._op:
        name = f"{node.label} ({node._op})"
    return f"{name}\ndata {node.data:.4g}\ngrad {node.grad:.4g}"


def draw_graph(root: "Value", ax: "Axes | None" = None) -> "Axes":
    """Draw the graph that computed `root`: inputs on the left, `root` on the right.

    Each node is one text box with its label or operation, its data and its grad; an arrow runs
    from every input of an operation to its result. A node's column is its longest path to
    `root`. Returns the Axes (a new figure when `ax` is None).
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch

    order = topological_order(root)
    column = {root: 0}  # longest path to root, counted in operations
    for node in reversed(order):
        for parent in node._parents:
            column[parent] = max(column.get(parent, 0), column[node] + 1)
    n_columns = max(column.values()) + 1
    rows = {root: 0.0}
    for c in range(1, n_columns):
        nodes = [n for n in reversed(order) if column[n] == c]

        def barycentre(node: "Value") -> tuple[float, float]:
            # top to bottom by the mean row of the operations that use the node (rows grow
            # upwards); ties keep the operand order, a above b
            users = [(rows[u], u._parents.index(node)) for u in rows if node in u._parents]
            return (-sum(r for r, _ in users) / len(users), min(i for _, i in users))

        nodes.sort(key=barycentre)
        for i, node in enumerate(nodes):
            rows[node] = (len(nodes) - 1) / 2 - i
    height = max(sum(1 for v in column.values() if v == c) for c in range(n_columns))
    if ax is None:
        _, ax = plt.subplots(figsize=(1.5 + 1.7 * n_columns, 1.0 + 0.9 * height))
    x = {node: n_columns - 1 - column[node] for node in order}
    for node in order:
        colour = "#fde4c8" if node is root else "#dbe9f6" if not node._parents else "white"
        ax.text(
            x[node],
            rows[node],
            _node_text(node),
            ha="center",
            va="center",
            fontsize=8,
            zorder=3,
            bbox={"boxstyle": "round,pad=0.35", "fc": colour, "ec": "0.3"},
        )
    for node in order:
        for parent in set(node._parents):
            arrow = FancyArrowPatch(
                (x[parent], rows[parent]),
                (x[node], rows[node]),
                arrowstyle="-|>",
                mutation_scale=10,
                shrinkA=32,
                shrinkB=32,
                color="0.45",
                zorder=2,
            )
            ax.add_patch(arrow)
    ax.set_xlim(-0.6, n_columns - 0.4)
    ax.set_ylim(-height / 2 - 0.1, height / 2 + 0.1)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_xlabel("inputs (left) \u2192 output (right); arrows: data forward, gradients backward")
    ax.set_title(f"Computational graph: {len(order)} nodes")
    return ax
