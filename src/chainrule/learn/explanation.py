"""See the chain rule at work: a function's backward pass written out with its numbers.

`explain(fun, *args)` runs `fun` once, recording every primitive operation, then walks the
recording backwards exactly as reverse mode does. For every value it shows the operation
that made it and the value, and then, in reverse order, how the derivative of the output
with respect to that value is assembled: the derivative of the output with respect to each
value that used it, times the local (partial) derivative of that use, summed over the uses;
d marks total derivatives, ∂ local ones::

    dL/dc = dL/dd · ∂d/∂c = (-18.0)(1.0) = -18.0

The backward pass uses the very rules `grad` uses, in the same order, so the numbers it
shows are `grad`'s numbers, bit for bit.

`trace_graph` is the recording itself (also used by `chainrule.draw` for the picture): it
records and sweeps with the core's `record` and `pull_back`, the path `grad` takes, with
an observer on the sweep. `name(x, "z")` gives an intermediate value the learner's name.
"""

from __future__ import annotations

import contextvars
import dataclasses
import html
import inspect
import itertools
import keyword
import math
import string
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import numpy as np

from chainrule import tree
from chainrule.core.reverse import Node, VJPTracer, pull_back, record
from chainrule.core.trace import Tracer, dtype_of, float_dtype, shape_of, zero_tangent
from chainrule.transforms import _Flat, describe

_X = TypeVar("_X")

__all__ = [
    "BackwardStep",
    "Edge",
    "Explanation",
    "ForwardStep",
    "Graph",
    "Op",
    "Operand",
    "Term",
    "Value",
    "explain",
    "format_value",
    "name",
    "trace_graph",
]

# ---------------------------------------------------------------------------- numbers

SMALL = 6  # arrays with at most this many entries are shown in full


def format_number(x: Any) -> str:
    """A number with up to 6 significant digits, floats always with a point or exponent.

    >>> format_number(6.0), format_number(1 / 3), format_number(-2.5e-9), format_number(3)
    ('6.0', '0.333333', '-2.5e-09', '3')
    """
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    if isinstance(x, (complex, np.complexfloating)):
        return (
            f"({format_number(x.real)}{'+' if x.imag >= 0 else '-'}{format_number(abs(x.imag))}j)"
        )
    f = float(x)
    if math.isnan(f) or math.isinf(f):
        return str(f)
    if f == 0.0:
        return "0.0"
    s = f"{f:.6g}"
    if "e" not in s and "." not in s:
        s += ".0"
    return s


def _dtype_tag(dtype: Any) -> str:
    dtype = np.dtype(dtype)
    if dtype.name == "bfloat16":
        return "bf16"
    if dtype.kind == "b":
        return "bool"
    return f"{dtype.kind}{dtype.itemsize * 8}"


def _nested(x: np.ndarray) -> str:
    if x.ndim == 0:
        return format_number(x[()])
    return "[" + ", ".join(_nested(row) for row in x) + "]"


def format_value(x: Any, limit: int = SMALL) -> str:
    """A value as text: numbers compactly, small arrays in full, larger ones summarised.

    A summary gives dtype and shape, the first few entries and the norm.

    >>> import numpy
    >>> format_value(numpy.array([1.0, -2.0]))
    '[1.0, -2.0]'
    >>> format_value(numpy.arange(12.0).reshape(3, 4))
    'f64[3,4] [0.0, 1.0, 2.0, ...] |x|=22.4944'
    """
    if x is None:
        return "None"
    if isinstance(x, (tuple, list)):
        inner = ", ".join(format_value(v, limit) for v in x)
        return f"({inner},)" if isinstance(x, tuple) and len(x) == 1 else f"({inner})"
    if isinstance(x, (bool, int, float, complex, np.generic)):
        return format_number(x)
    if isinstance(x, np.ndarray):
        if x.ndim == 0:
            return format_number(x[()])
        if x.size <= limit:
            return _nested(x)
        head = ", ".join(format_number(v) for v in x.ravel()[:3])
        return f"{_dtype_tag(x.dtype)}[{','.join(map(str, x.shape))}] [{head}, ...] |x|={_norm(x)}"
    if isinstance(x, slice):
        return _format_slice(x)
    text = repr(x)
    return text if len(text) <= 40 else text[:37] + "..."


def format_short(x: Any) -> str:
    """A value in a few characters, for the boxes of a drawing: numbers, or shape and norm.

    >>> import numpy
    >>> format_short(2.0), format_short(numpy.ones((2, 3)))
    ('2.0', 'f64[2,3] |x|=2.44949')
    """
    if isinstance(x, np.ndarray) and x.ndim > 0:
        if x.size <= 2:
            return _nested(x)
        return f"{_dtype_tag(x.dtype)}[{','.join(map(str, x.shape))}] |x|={_norm(x)}"
    return format_value(x)


def _norm(x: np.ndarray) -> str:
    if x.dtype.kind not in "fiuc":
        return "?"
    return format_number(
        np.sqrt(np.sum(np.abs(x.astype(np.complex128 if x.dtype.kind == "c" else np.float64)) ** 2))
    )


def _format_slice(s: slice) -> str:
    parts = ["" if v is None else str(v) for v in (s.start, s.stop)]
    text = ":".join(parts)
    return text + (f":{s.step}" if s.step is not None else "")


def _format_index(index: Any) -> str:
    items = index if isinstance(index, tuple) else (index,)
    shown = []
    for item in items:
        if isinstance(item, slice):
            shown.append(_format_slice(item))
        elif item is Ellipsis:
            shown.append("...")
        elif item is None:
            shown.append("None")
        elif isinstance(item, np.ndarray):
            shown.append(format_value(item) if item.size <= SMALL else f"<{format_value(item)}>")
        else:
            shown.append(format_value(item))
    return "[" + ", ".join(shown) + "]"


# ---------------------------------------------------------------------------- the recording


@dataclasses.dataclass
class Operand:
    """One argument of an operation: a recorded value (its index) or a constant."""

    value: int | None
    constant: Any = None


@dataclasses.dataclass
class Op:
    """One primitive call: its name (``multiply``), arguments, parameters and outputs."""

    index: int
    name: str
    operands: list[Operand]
    params: dict[str, Any]
    outputs: list[int]


@dataclasses.dataclass
class Value:
    """One value of the computation: an input leaf or an operation's output.

    `grad` is the derivative of the output with respect to it (None where the output does
    not depend on it).
    """

    index: int
    name: str
    data: Any
    op: int | None
    grad: Any = None

    @property
    def is_input(self) -> bool:
        return self.op is None


@dataclasses.dataclass
class Edge:
    """One use of value `src` as argument `argpos` of `op`, seen by the backward sweep.

    `upstream` is dL/d(out) for the op's output, `contribution` the rule's result
    dL/d(out) * d(out)/d(src), and `local` the local derivative d(out)/d(src) where it is
    a number (scalars) or an elementwise array (elementwise functions), else None.
    """

    op: int
    argpos: int
    src: int
    upstream: Any
    contribution: Any
    local: Any | None


@dataclasses.dataclass
class Graph:
    """A recorded computation with its backward pass: values, operations and edges.

    `inputs` are the value indices of the input leaves (in argument order), `output` the
    value index of the output (None when the output is a constant), `grads` the gradients
    with respect to each argument, in the structure of the arguments.
    """

    fun_name: str
    arg_names: list[str]
    values: list[Value]
    ops: list[Op]
    edges: list[Edge]
    inputs: list[int]
    output: int | None
    output_data: Any
    grads: tuple[Any, ...]

    @property
    def output_name(self) -> str:
        return "L" if self.output is None else self.values[self.output].name


def _arg_names(fun: Callable[..., Any], n: int) -> list[str]:
    """Names for the positional arguments: the parameters' names, `args[k]`, or `arg[i]`."""
    try:
        params = list(inspect.signature(fun).parameters.values())
    except (TypeError, ValueError):
        params = []
    named = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    star = next((p.name for p in params if p.kind == p.VAR_POSITIONAL), None)
    names = []
    for i in range(n):
        if i < len(named):
            names.append(named[i])
        elif star is not None:
            names.append(f"{star}[{i - len(named)}]")
        else:
            names.append(f"arg[{i}]")
    return names


# The names given with `name` while `trace_graph` records: {(id(node), index): (node, name)}
# (the node is kept so that its id cannot be reused by another while the recording runs).
_Names = dict[tuple[int, "int | None"], tuple[Node, str]]
_naming: contextvars.ContextVar[_Names | None] = contextvars.ContextVar(
    "chainrule_explain_names", default=None
)


def name(x: _X, label: str) -> _X:
    """Call the value `x` `label` in `explain` and `draw`; returns `x` itself.

    Anywhere else (under `grad`, or outside any transform) it does nothing, so a function
    can keep its names when it is trained.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> def loss(w):
    ...     z = name(w * 3.0, "z")
    ...     return np.tanh(z)
    >>> print(str(cr.explain(loss, 0.5)).splitlines()[4])
      z = w * 3.0 = 1.5
    """
    if not (isinstance(label, str) and label.strip()):
        raise TypeError(f"name(x, label): the label must be a non-empty string, got {label!r}.")
    naming = _naming.get()
    if naming is not None and isinstance(x, VJPTracer):
        naming[(id(x.node), x.index)] = (x.node, label.strip())
    return x


def _fresh_names(taken: set[str]) -> Iterator[str]:
    """a, b, ..., z, aa, ab, ... skipping names already taken and Python keywords."""
    for width in itertools.count(1):
        for letters in itertools.product(string.ascii_lowercase, repeat=width):
            name = "".join(letters)
            if name not in taken and not keyword.iskeyword(name):
                yield name


def _function_name(fun: Callable[..., Any]) -> str:
    name = getattr(fun, "__name__", None)
    return "f" if not isinstance(name, str) or not name.isidentifier() else name


def _check_output(what: str, fun: Callable[..., Any], outs: list[Any], out_tree: Any) -> Any:
    if out_tree.num_leaves != 1 or tuple(shape_of(outs[0])) != ():
        got = (
            f"an array of shape {tuple(shape_of(outs[0]))}"
            if out_tree.num_leaves == 1
            else f"{out_tree.num_leaves} values (structure {out_tree})"
        )
        raise TypeError(
            f"{what} of {describe(fun)}: the function must return a scalar (the value whose "
            f"derivatives are explained, such as a loss), but it returned {got}. Reduce it to "
            "a scalar, for example with `.sum()` or `.mean()`."
        )
    dtype = dtype_of(outs[0])
    if dtype.kind != "f":
        raise TypeError(
            f"{what} of {describe(fun)}: the output has dtype {dtype}; it must be "
            "floating-point to be differentiated."
        )
    return outs[0]


def _local(prim: Any, rule: Any, g: Any, src: Any, node: Node) -> Any | None:
    """d(out)/d(src) as a number or elementwise array: the rule applied to a cotangent of ones."""
    if prim.multiple_results:
        return None
    ans_shape, src_shape = tuple(shape_of(node.ans)), tuple(shape_of(src))
    elementwise = isinstance(prim.impl, np.ufunc) and prim.impl.signature is None
    if not (ans_shape == src_shape == () or (elementwise and ans_shape == src_shape)):
        return None
    try:
        one = np.ones(ans_shape, float_dtype(g))
        local = rule(one[()] if ans_shape == () else one, node.ans, *node.args, **node.params)
    except Exception:  # a rule that cannot take a unit cotangent: show no local factor
        return None
    return None if isinstance(local, Tracer) else local


def trace_graph(fun: Callable[..., Any], *args: Any, what: str = "explain") -> Graph:
    """Run `fun(*args)` recording every operation, then sweep backwards recording every edge.

    Every argument is differentiated (its leaves must be floating point); the output must
    be a scalar. `what` names the caller in error messages.

    >>> g = trace_graph(lambda x, y: x * y + y, 2.0, 3.0)
    >>> [v.name for v in g.values], [op.name for op in g.ops]
    (['x', 'y', 'a', 'L'], ['multiply', 'add'])
    >>> [format_value(v.grad) for v in g.values]
    ['3.0', '3.0', '1.0', '1.0']
    """
    if not callable(fun):
        raise TypeError(
            f"{what}(fun, *args): the first argument must be a function, got {fun!r:.60}"
        )
    arg_names = _arg_names(fun, len(args))
    leaf_names: list[str] = []
    for i, arg in enumerate(args):
        for path, x in tree.leaves_with_path(arg):
            if isinstance(x, Tracer):
                raise TypeError(
                    f"{what} of {describe(fun)}: argument {i} (`{arg_names[i]}`) is a value "
                    f"being differentiated; call {what} on concrete values, outside transforms."
                )
            leaf_names.append(arg_names[i] + tree.keystr(path))

    # Recorded and swept as `grad` records and sweeps, watched: so the numbers are grad's.
    flat = _Flat(fun, args, {}, tuple(range(len(args))), False, what)
    names: _Names = {}
    token = _naming.set(names)
    try:
        trace, tracers, outs = record(flat, flat.primals)
    finally:
        _naming.reset(token)
    out = _check_output(what, fun, outs, flat.out_tree)
    ours = type(out) is VJPTracer and out._trace is trace
    out_key = (id(out.node), out.index) if ours else None

    # Only the operations the output depends on.
    needed: set[int] = set()
    stack = [out.node] if ours else []
    while stack:
        node = stack.pop()
        if id(node) not in needed:
            needed.add(id(node))
            stack.extend(p[1] for p in node.parents)
    tape = [node for node in trace.tape if id(node) in needed]

    # Values and operations, with names: the learner's (arguments, `name`), else fresh.
    mine = {id(n) for n in tape} | {id(t.node) for t in tracers}
    given = {key: label for key, (n, label) in names.items() if id(n) in mine}
    taken = set(leaf_names) | set(arg_names) | set(given.values())
    output_name = given.get(out_key) if out_key is not None else None
    if output_name is None:
        output_name = next(n for n in ("L", "loss", "out", "L_") if n not in taken)
    taken.add(output_name)
    fresh = _fresh_names(taken)
    used: set[str] = set()

    def unique(label: str) -> str:  # a name given twice (in a loop): h, h_2, h_3, ...
        text = label
        for k in itertools.count(2):
            if text not in used:
                break
            text = f"{label}_{k}"
        used.add(text)
        return text

    values: list[Value] = []
    where_is: dict[tuple[int, int | None], int] = {}
    for tracer, leaf_name in zip(tracers, leaf_names, strict=True):
        where_is[(id(tracer.node), None)] = len(values)
        label = given.get((id(tracer.node), None), leaf_name)
        values.append(Value(len(values), unique(label), tracer.value, None))
    ops: list[Op] = []
    for node in tape:
        assert node.prim is not None
        positions = {p[0]: where_is[(id(p[1]), p[2])] for p in node.parents}
        operands = [
            Operand(positions[i]) if i in positions else Operand(None, a)
            for i, a in enumerate(node.args)
        ]
        op = Op(len(ops), str(node.prim.name), operands, dict(node.params), [])
        many = node.prim.multiple_results
        keys = [(id(node), k) for k in range(len(node.ans))] if many else [(id(node), None)]
        for key, data in zip(keys, node.ans if many else [node.ans], strict=True):
            given_name = output_name if key == out_key else given.get(key)
            where_is[key] = len(values)
            op.outputs.append(len(values))
            values.append(Value(len(values), unique(given_name or next(fresh)), data, op.index))
        ops.append(op)
    op_of_node = {id(node): op.index for node, op in zip(tape, ops, strict=True)}

    edges: list[Edge] = []

    class _Recorder:
        def node(self, node: Node, g: Any) -> None:
            op = ops[op_of_node[id(node)]]
            if node.prim is not None and node.prim.multiple_results:
                for v, c in zip(op.outputs, g, strict=False):
                    values[v].grad = c
            else:
                values[op.outputs[0]].grad = g

        def edge(
            self, node: Node, g: Any, i: int, parent: Node, index: int | None, c: Any, rule: Any
        ) -> None:
            local = None if rule is None else _local(node.prim, rule, g, node.args[i], node)
            src = where_is[(id(parent), index)]
            edges.append(Edge(op_of_node[id(node)], i, src, g, c, local))

    seed = dtype_of(out).type(1.0)
    flat_grads = pull_back(trace, tracers, outs, [seed], observer=_Recorder())
    reached = {e.src for e in edges}
    for k, g in enumerate(flat_grads):
        values[k].grad = g if k in reached else None
    return Graph(
        fun_name=_function_name(fun),
        arg_names=arg_names,
        values=values,
        ops=ops,
        edges=edges,
        inputs=list(range(len(tracers))),
        output=where_is[out_key] if out_key is not None else None,
        output_data=out.value if ours else np.asarray(out),
        grads=tuple(flat.split(flat_grads)),
    )


# ---------------------------------------------------------------------------- how ops read

INFIX = {
    "add": "+",
    "subtract": "-",
    "multiply": "*",
    "divide": "/",
    "true_divide": "/",
    "floor_divide": "//",
    "power": "**",
    "matmul": "@",
    "remainder": "%",
}
PREFIX = {"negative": "-", "positive": "+"}
RENAMED = {"absolute": "abs", "expit": "sigmoid", "custom rule": "custom"}
# Fused operations (one primitive each), drawn with a short label of their mathematics.
LABELS = {"linear": "@ W.T + b", "softmax_cross_entropy": "-log softmax"}


def _relu_of(op: Op) -> Operand | None:
    """The argument of `maximum(a, 0)` (what `nn.relu` records), else None."""
    if op.name != "maximum" or len(op.operands) != 2 or op.params:
        return None
    values = [o for o in op.operands if o.value is not None]
    zeros = [o for o in op.operands if o.value is None and np.ndim(o.constant) == 0]
    if len(values) == 1 and len(zeros) == 1 and zeros[0].constant == 0:
        return values[0]
    return None


def op_label(graph: Graph, op: Op) -> str:
    """A short label for an operation node: its symbol or name, with its constants.

    >>> g = trace_graph(lambda x: 2.0 * x ** 3, 1.5)
    >>> [op_label(g, op) for op in g.ops]
    ['** 3', '* 2.0']
    """
    if op.name in LABELS:
        return LABELS[op.name]
    if _relu_of(op) is not None:
        return "relu"
    name = INFIX.get(op.name) or PREFIX.get(op.name) or RENAMED.get(op.name, op.name)
    if op.name == "getitem":
        return _format_index(op.operands[1].constant) if len(op.operands) > 1 else "[]"
    consts = [format_value(o.constant) for o in _shown_operands(op) if o.value is None]
    return " ".join([name, *consts]) if consts else name


def _shown_operands(op: Op) -> list[Operand]:
    """The operands, less trailing None constants (default arguments such as `axes=None`)."""
    operands = list(op.operands)
    while operands and operands[-1].value is None and operands[-1].constant is None:
        operands.pop()
    return operands


def _labels(op: Op) -> Any | None:
    """The class labels of a cross entropy whose targets are constant one-hot rows, else None."""
    if len(op.operands) < 2 or op.operands[1].value is not None:
        return None
    coef = np.asarray(op.operands[1].constant)
    if coef.ndim == 0 or not np.all((coef == 0) | (coef == 1)) or not np.all(coef.sum(-1) == 1):
        return None
    return coef.argmax(axis=-1)


def op_expression(graph: Graph, op: Op) -> str:
    """The operation as a formula of value names and constants: `a * b`, `tanh(z)`, `x[0]`.

    Fused operations read as their mathematics: `x @ W.T + b` for `nn.linear`,
    `-log softmax(z)[y]` for `nn.cross_entropy` of labels, and `maximum(z, 0)` as `relu(z)`.

    >>> g = trace_graph(lambda x, y: (x * 2.0 - y).sum(axis=0), 1.0, 3.0)
    >>> [op_expression(g, op) for op in g.ops]
    ['x * 2.0', 'a - y', 'sum(b, axis=0)']
    """

    def show(o: Operand) -> str:
        if o.value is not None:
            return graph.values[o.value].name
        text = format_value(o.constant)
        return f"({text})" if text.startswith("-") else text

    operands = _shown_operands(op)
    params = [
        f"{k}={format_value(v)}" for k, v in op.params.items() if not callable(v) and v is not None
    ]
    relu_of = _relu_of(op)
    if relu_of is not None:
        return f"relu({show(relu_of)})"
    if op.name == "linear":
        x, w = show(operands[0]), show(operands[1])
        return f"{x} @ {w}.T" + (f" + {show(operands[2])}" if len(operands) > 2 else "")
    if op.name == "softmax_cross_entropy":
        z, labels = show(operands[0]), _labels(op)
        if labels is None:
            return f"-sum({show(operands[1])} * log_softmax({z}), axis=-1)"
        if labels.ndim == 0:
            return f"-log softmax({z})[{int(labels)}]"
        return f"-log softmax({z})[range({labels.size}), {format_value(labels)}]"
    if op.name in INFIX and len(operands) == 2 and not params:
        return f"{show(operands[0])} {INFIX[op.name]} {show(operands[1])}"
    if op.name in PREFIX and len(operands) == 1 and not params:
        return f"{PREFIX[op.name]}{show(operands[0])}"
    if op.name == "getitem" and len(operands) == 2 and operands[0].value is not None:
        return f"{show(operands[0])}{_format_index(operands[1].constant)}"
    if op.name == "transpose" and len(operands) == 1 and not params:
        return f"{show(operands[0])}.T"
    name = RENAMED.get(op.name, op.name)
    return f"{name}({', '.join([*(show(o) for o in operands), *params])})"


# ---------------------------------------------------------------------------- LaTeX

TEX_INFIX = {"add": "+", "subtract": "-", "multiply": r"\cdot", "matmul": r"\,"}
TEX_FUNCTIONS = {"exp", "log", "sin", "cos", "tan", "tanh", "sinh", "cosh", "arctan"}


# Characters that mean something to TeX in math mode, as math-mode commands (which both
# MathJax and KaTeX read: text-mode escapes are not read by MathJax without an extension).
TEX_ESCAPES = {
    "\\": r"\backslash ",
    "{": r"\{",
    "}": r"\}",
    "_": r"\_",
    "#": r"\#",
    "%": r"\%",
    "&": r"\&",
    "$": r"\$",
    "^": r"\wedge ",
    "~": r"\sim ",
    " ": r"\ ",
    "'": r"\text{'}",
    '"': r'\text{"}',
    "<": r"\lt ",  # not `<`, which Markdown could take for the start of an HTML tag
    ">": r"\gt ",
}


def _tex_escape(text: str) -> str:
    return "".join(TEX_ESCAPES.get(ch, ch) for ch in text)


def _tex_text(text: str) -> str:
    """`text` in typewriter type inside mathematics, its special characters escaped."""
    return r"\mathtt{" + _tex_escape(text) + "}"


def tex_name(name: str) -> str:
    r"""A value's name in LaTeX: one letter as it is (`a`), `W1` as `W_{1}`, others in type.

    >>> tex_name("a"), tex_name("W1"), tex_name("model.layers[0].bias")
    ('a', 'W_{1}', '\\mathtt{model.layers[0].bias}')
    """
    if len(name) == 1 and name.isalpha():
        return name
    if len(name) > 1 and name[0].isalpha() and name[1:].isdigit():
        return f"{name[0]}_{{{name[1:]}}}"
    return _tex_text(name)


def tex_value(x: Any) -> str:
    """A value in LaTeX: a number as it is, an array in typewriter type."""
    text = format_value(x)
    try:
        float(text)
    except ValueError:
        return _tex_text(text)
    return text


def op_tex(graph: Graph, op: Op) -> str:
    r"""The operation as a LaTeX formula: `a \cdot b`, `\tanh(z)`, `x\,W^\top + b`.

    >>> g = trace_graph(lambda x, y: (x * 2.0 - y) ** 2 / y, 1.0, 3.0)
    >>> [op_tex(g, op) for op in g.ops]
    ['x \\cdot 2.0', 'a - y', '{b}^{2}', '\\frac{c}{y}']
    """

    def show(o: Operand) -> str:
        if o.value is not None:
            return tex_name(graph.values[o.value].name)
        text = tex_value(o.constant)
        return f"({text})" if text.startswith("-") else text

    operands = _shown_operands(op)
    params = [
        f"{k}={format_value(v)}" for k, v in op.params.items() if not callable(v) and v is not None
    ]
    args = [show(o) for o in operands]
    relu_of = _relu_of(op)
    if relu_of is not None:
        return rf"\operatorname{{relu}}({show(relu_of)})"
    if op.name == "linear":
        return rf"{args[0]}\,{args[1]}^\top" + (f" + {args[2]}" if len(args) > 2 else "")
    if op.name == "softmax_cross_entropy":
        labels = _labels(op)
        if labels is None:
            where = "" if operands[1].value is not None else rf"\ (t = {args[1]})"
            t = args[1] if not where else "t"
            return rf"-\sum_c {{{t}}}_c \log \operatorname{{softmax}}({args[0]})_c{where}"
        if labels.ndim == 0:
            return rf"-\log \operatorname{{softmax}}({args[0]})_{{{int(labels)}}}"
        return rf"-\log \operatorname{{softmax}}({args[0]})_{{i,\,y_i}}\ (y = {tex_value(labels)})"
    if not params and len(args) == 2:
        if op.name in TEX_INFIX:
            return f"{args[0]} {TEX_INFIX[op.name]} {args[1]}"
        if op.name in ("divide", "true_divide"):
            return rf"\frac{{{args[0]}}}{{{args[1]}}}"
        if op.name == "power":
            return f"{{{args[0]}}}^{{{args[1]}}}"
    if op.name == "negative" and len(args) == 1:
        return f"-{args[0]}"
    if op.name == "transpose" and len(args) == 1 and not params:
        return rf"{args[0]}^\top"
    if op.name == "getitem" and len(operands) == 2 and operands[0].value is not None:
        return f"{args[0]}{_tex_text(_format_index(operands[1].constant))}"
    name = RENAMED.get(op.name, op.name)
    head = "\\" + name if name in TEX_FUNCTIONS else rf"\operatorname{{{_tex_escape(name)}}}"
    return f"{head}({', '.join([*args, *(_tex_text(p) for p in params)])})"


# ---------------------------------------------------------------------------- the explanation


@dataclasses.dataclass(frozen=True)
class ForwardStep:
    """One value of the forward pass: `c = a * b = 6.0` (`op` is None for an input)."""

    name: str
    expression: str
    value: Any
    op: str | None
    text: str
    kind: str = "forward"


@dataclasses.dataclass(frozen=True)
class Term:
    """One use of a value in the chain rule: dL/d(via) · ∂(via)/∂(value) = contribution.

    `direct` when `via` is the output itself, whose factor dL/dL = 1 is left out.
    """

    via: str
    op: str
    upstream: Any
    local: Any | None
    contribution: Any
    direct: bool = False


@dataclasses.dataclass(frozen=True)
class BackwardStep:
    """dL/d(name): the chain rule (`symbolic`), with the numbers (`numbers`), and its value.

    `terms` has one entry per use of the value; `grad` is the derivative itself.
    """

    name: str
    terms: tuple[Term, ...]
    grad: Any
    symbolic: str
    numbers: tuple[str, ...]
    text: str
    kind: str = "backward"


def _d(top: str, bottom: str) -> str:
    """The total derivative `dL/dc`; names that are not identifiers in parentheses."""
    return f"d{_wrap(top)}/d{_wrap(bottom)}"


def _partial(top: str, bottom: str) -> str:
    """The local (partial) derivative `∂d/∂c` of one operation's output in one argument."""
    return f"∂{_wrap(top)}/∂{_wrap(bottom)}"


def _wrap(name: str) -> str:
    return name if name.isidentifier() else f"({name})"


def _tex_d(top: str, bottom: str, d: str = "d") -> str:
    return rf"\frac{{{d} {tex_name(top)}}}{{{d} {tex_name(bottom)}}}"


@dataclasses.dataclass(frozen=True)
class _Style:
    """How the chain rule is written: as plain text, or in LaTeX."""

    total: Callable[[str, str], str]
    local: Callable[[str, str], str]
    value: Callable[[Any], str]
    times: str  # between dL/d(via) and its local derivative
    hadamard: str  # between two arrays multiplied entry by entry


TEXT = _Style(_d, _partial, format_value, " · ", " ⊙ ")
TEX = _Style(_tex_d, lambda a, b: _tex_d(a, b, r"\partial"), tex_value, r"\,", r" \odot ")


def _sum(terms: list[str]) -> str:
    """Terms joined by +, negative ones after the first in parentheses: `-6.0 + (-4.0)`."""
    return " + ".join(f"({t})" if i and t.startswith("-") else t for i, t in enumerate(terms))


def _chain(step: BackwardStep, output: str, style: _Style) -> list[str]:
    """The right-hand sides of dL/d(value): the rule, the products, the sum (if several)."""
    value = style.value
    symbolic = " + ".join(
        style.local(t.via, step.name)
        if t.direct
        else f"{style.total(output, t.via)}{style.times}{style.local(t.via, step.name)}"
        for t in step.terms
    )
    products: list[str] = []
    for t in step.terms:
        if t.local is None:
            products = []
            break
        if t.direct:
            products.append(value(t.local))
        elif np.ndim(t.upstream) == 0 and np.ndim(t.local) == 0:
            products.append(f"({value(t.upstream)})({value(t.local)})")
        elif np.size(t.upstream) <= SMALL and np.size(t.local) <= SMALL:
            products.append(f"{value(t.upstream)}{style.hadamard}{value(t.local)}")
        else:
            products = []
            break
    parts = [symbolic]
    if products:
        parts.append(_sum(products))
    if len(step.terms) > 1 and all(np.size(t.contribution) <= SMALL for t in step.terms):
        parts.append(_sum([value(t.contribution) for t in step.terms]))
    parts.append(value(step.grad))
    return [p for i, p in enumerate(parts) if i == 0 or p != parts[i - 1]]


def _backward_step(graph: Graph, value: Value, by_src: dict[int, list[Edge]]) -> BackwardStep:
    L = graph.output_name
    if value.index == graph.output:
        one = value.grad
        return BackwardStep(L, (), one, _d(L, L), (), f"{_d(L, L)} = {format_value(one)}")
    edges = sorted(by_src.get(value.index, []), key=lambda e: (e.op, e.argpos))
    terms = []
    for e in edges:
        op = graph.ops[e.op]
        via = ", ".join(graph.values[k].name for k in op.outputs)
        direct = op.outputs == [graph.output]
        terms.append(Term(via, op.name, e.upstream, e.local, e.contribution, direct))
    grad = value.grad if value.grad is not None else zero_tangent(value.data)
    lhs = _d(L, value.name)
    if not terms:
        text = f"{lhs} = {format_value(grad)}   ({L} does not depend on {value.name})"
        return BackwardStep(value.name, (), grad, lhs, (), text)
    step = BackwardStep(value.name, tuple(terms), grad, "", (), "")
    parts = _chain(step, L, TEXT)
    return dataclasses.replace(
        step, symbolic=parts[0], numbers=tuple(parts[1:-1]), text=" = ".join([lhs, *parts])
    )


class Explanation:
    """The forward and backward pass of a scalar function, step by step, with numbers.

    Prints as plain text; in a notebook it renders as LaTeX (`latex()`, `markdown()`), and
    `html()` gives tables. `steps` holds the structured steps (forward, then backward),
    `value` the output and `grads` the gradients, one per argument, in the structure of
    the arguments.
    """

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.value = graph.output_data
        self.grads = graph.grads
        self.forward: tuple[ForwardStep, ...] = tuple(self._forward_steps())
        by_src: dict[int, list[Edge]] = {}
        for e in graph.edges:
            by_src.setdefault(e.src, []).append(e)
        order = sorted(
            (v for v in graph.values if v.grad is not None or v.is_input),
            key=lambda v: -v.index,
        )
        if graph.output is not None:
            order.sort(key=lambda v: v.index != graph.output)  # the output first
        self.backward: tuple[BackwardStep, ...] = tuple(
            _backward_step(graph, v, by_src) for v in order
        )
        self.steps: tuple[ForwardStep | BackwardStep, ...] = self.forward + self.backward

    def _forward_steps(self) -> Iterator[ForwardStep]:
        g = self.graph
        for v in g.values:
            if v.is_input:
                yield ForwardStep(
                    v.name, "input", v.data, None, f"{v.name} = {format_value(v.data)}"
                )
        for op in g.ops:
            expr = op_expression(g, op)
            names = [g.values[k].name for k in op.outputs]
            datas = [g.values[k].data for k in op.outputs]
            shown = format_value(datas[0] if len(datas) == 1 else tuple(datas))
            text = f"{', '.join(names)} = {expr} = {shown}"
            data = datas[0] if len(datas) == 1 else tuple(datas)
            yield ForwardStep(", ".join(names), expr, data, op.name, text)

    @property
    def title(self) -> str:
        g = self.graph
        call = f"{g.fun_name}({', '.join(g.arg_names)})"
        return f"{g.output_name} = {call} = {format_value(self.value)}"

    def _gradient_lines(self) -> list[tuple[str, str]]:
        g = self.graph
        L = g.output_name
        out = []
        for k in g.inputs:
            v = g.values[k]
            grad = v.grad if v.grad is not None else zero_tangent(v.data)
            out.append((_d(L, v.name), format_value(grad)))
        return out

    def __str__(self) -> str:
        lines = [self.title, "", "Forward"]
        lines += [f"  {s.text}" for s in self.forward]
        lines += ["", "Backward (chain rule: d for total derivatives, ∂ for local ones)"]
        if self.graph.output is None:
            lines.append(f"  {self.graph.output_name} does not depend on the inputs.")
        lines += [f"  {s.text}" for s in self.backward]
        lines += ["", "Gradients"]
        lines += [f"  {lhs} = {rhs}" for lhs, rhs in self._gradient_lines()]
        return "\n".join(lines)

    __repr__ = __str__

    def latex(self) -> str:
        r"""The forward and backward pass as aligned LaTeX equations, in `$$ ... $$`.

        >>> print(explain(lambda x: x * x, 3.0).latex())
        $$
        \begin{aligned}
        &\text{Forward} \\
        x &= 3.0 \\
        L &= x \cdot x = 9.0 \\
        &\text{Backward} \\
        \frac{d L}{d L} &= 1.0 \\
        \frac{d L}{d x} &= \frac{\partial L}{\partial x} + \frac{\partial L}{\partial x} = 3.0 + 3.0 = 6.0
        \end{aligned}
        $$
        """
        g = self.graph
        L = g.output_name
        rows = [r"&\text{Forward}"]
        for v in g.values:
            if v.is_input:
                rows.append(f"{tex_name(v.name)} &= {tex_value(v.data)}")
        for op, step in zip(g.ops, self.forward[len(g.inputs) :], strict=True):
            lhs = ", ".join(tex_name(g.values[k].name) for k in op.outputs)
            rows.append(f"{lhs} &= {op_tex(g, op)} = {tex_value(step.value)}")
        rows.append(r"&\text{Backward}")
        if g.output is None:
            rows.append(rf"&\text{{{L} does not depend on the inputs}}")
        for b in self.backward:
            lhs = _tex_d(L, b.name)
            if not b.terms:
                rows.append(f"{lhs} &= {tex_value(b.grad)}")
            else:
                rows.append(f"{lhs} &= " + " = ".join(_chain(b, L, TEX)))
        return "$$\n\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}\n$$"

    def _repr_latex_(self) -> str:
        return self.latex()

    def markdown(self) -> str:
        """The explanation as Markdown: its title, then the LaTeX equations (`latex()`).

        >>> print(explain(lambda x: x * x, 3.0).markdown().splitlines()[0])
        **L = f(x) = 9.0**
        """
        return f"**{_md_escape(self.title)}**\n\n{self.latex()}"

    def _repr_markdown_(self) -> str:
        return self.markdown()

    def html(self) -> str:
        """The explanation as an HTML fragment (tables, every text escaped).

        >>> explain(lambda x: x * x, 3.0).html().startswith('<div class="chainrule-explain">')
        True
        """
        e = html.escape

        def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
            head = "".join(f"<th>{e(h)}</th>" for h in header)
            body = "".join(
                "<tr>" + "".join(f"<td><code>{e(c)}</code></td>" for c in row) + "</tr>"
                for row in rows
            )
            return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

        forward = [(s.name, s.expression, format_value(s.value)) for s in self.forward]
        backward = [
            (
                _d(self.graph.output_name, b.name),
                " = ".join([b.symbolic, *b.numbers]) if b.terms else "",
                format_value(b.grad),
            )
            for b in self.backward
        ]
        parts = [
            '<div class="chainrule-explain">',
            f"<p><b>{e(self.title)}</b></p>",
            "<p><i>Forward</i></p>",
            table(("value", "=", "result"), forward),
            "<p><i>Backward (chain rule)</i></p>",
            table(("derivative", "chain rule", "result"), backward),
            "<p><i>Gradients</i></p>",
            table(("derivative", "value"), self._gradient_lines()),
            "</div>",
        ]
        return "\n".join(parts)


def _md_escape(text: str) -> str:
    for ch in "\\`*_[]<>|":
        text = text.replace(ch, "\\" + ch)
    return text


def explain(fun: Callable[..., Any], *args: Any) -> Explanation:
    """Explain the backward pass of scalar-valued `fun` at `args`: the chain rule, with numbers.

    Every argument is differentiated; arguments may be floats, arrays or pytrees of them,
    named as the learner wrote them (`model.layers[0].weight`); `name(x, "z")` names an
    intermediate value. A total derivative is written dL/dc, the local derivative of one
    operation ∂d/∂c. The numbers are those of `chainrule.grad`, exactly. In a notebook the
    explanation renders as LaTeX.

    >>> def f(a, b):
    ...     return (a * b + b) ** 2
    >>> e = explain(f, 2.0, -3.0)
    >>> print(e)
    L = f(a, b) = 81.0
    <BLANKLINE>
    Forward
      a = 2.0
      b = -3.0
      c = a * b = -6.0
      d = c + b = -9.0
      L = d ** 2 = 81.0
    <BLANKLINE>
    Backward (chain rule: d for total derivatives, ∂ for local ones)
      dL/dL = 1.0
      dL/dd = ∂L/∂d = -18.0
      dL/dc = dL/dd · ∂d/∂c = (-18.0)(1.0) = -18.0
      dL/db = dL/dc · ∂c/∂b + dL/dd · ∂d/∂b = (-18.0)(2.0) + (-18.0)(1.0) = -36.0 + (-18.0) = -54.0
      dL/da = dL/dc · ∂c/∂a = (-18.0)(-3.0) = 54.0
    <BLANKLINE>
    Gradients
      dL/da = 54.0
      dL/db = -54.0
    """
    return Explanation(trace_graph(fun, *args, what="explain"))
