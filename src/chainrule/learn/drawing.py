"""The computation graph as a picture: one box per value, one oval per operation.

`draw(fun, *args)` records `fun` as `chainrule.learn.explanation` does (`trace_graph`) and lays the
graph out down the page, in the order data flows, as a layered (Sugiyama-style) drawing:
every operation one layer below its deepest input and its result one below it, each input
just above its first use; long edges bend through the layers they cross; each layer is
ordered by the barycentres of its neighbours, which removes most crossings, and each node
sits centred on its neighbours. A graph taller than a page wraps into side-by-side bands,
so a two-layer network fits a page. Each value box shows the name, the value and the
gradient of the output with respect to it, as in micrograd's drawing. The SVG scales to
the width it is shown in (a notebook cell, a page).

`draw(program)` draws a program of `cr.make_program` (a `jit` trace) the same way: a box
per input, per value a line computes and per constant it uses (name, dtype and shape), and
an oval per line (with its settings: axes, shapes, dtypes): the chain rule of a `grad` as a
graph of straight-line code.

The layout is pure Python, so no Graphviz binary is needed: `svg()` writes SVG text,
`save("g.png")` renders with matplotlib, and `dot()` exports Graphviz DOT text for those
who want Graphviz's own layout.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
from collections.abc import Callable
from html import escape as _html_escape
from pathlib import Path
from typing import Any

import numpy as np

from chainrule.core.staging import Program, Var, _constant
from chainrule.core.trace import zero_tangent

from .explanation import Graph, format_short, op_label, trace_graph

__all__ = ["Drawing", "draw"]

CHAR = 7.2  # width of one character of 12 px monospace text
FONT = 12.0
PAD = 8.0  # horizontal padding inside a box
LINE = 16.0  # height of one line of a value box (name, data, grad)
OP_HEIGHT = 26.0  # height of an operation's oval
HGAP = 24.0  # horizontal space between neighbours in a layer
DUMMY_GAP = 12.0  # ... where one of them is the bend of an edge passing through
VGAP = 28.0  # vertical space between layers
BAND_GAP = 48.0  # horizontal space between the bands of a long graph
MARGIN = 12.0
MAX_HEIGHT = 1100.0  # a taller graph wraps into side-by-side bands, like newspaper columns
PAGE = 0.75  # the shape (width / height) those bands aim at
SWEEPS = 8  # up-and-down passes of the barycentre ordering

INPUT_FILL = "#dbeafe"
OUTPUT_FILL = "#fde68a"
VALUE_FILL = "#ffffff"
CONST_FILL = "#f3f4f6"
OP_FILL = "#e5e7eb"
STROKE = "#374151"


@dataclasses.dataclass
class _Node:
    """A box (a value), an oval (an operation), or a bend point of a long edge (a dummy)."""

    key: str  # "v3", "op1" (also the DOT and SVG id), or "d7" for a dummy
    kind: str  # "value", "op" or "dummy"
    fields: list[str]  # a value: [name, data, grad] (a program's: [name, type]); an op: [label]
    fill: str
    layer: int = 0
    x: float = 0.0  # centre
    y: float = 0.0

    @property
    def width(self) -> float:
        if self.kind == "dummy":
            return 0.0
        if self.kind == "op":
            return max(40.0, len(self.fields[0]) * CHAR + 3 * PAD)
        return max(len(f) for f in self.fields) * CHAR + 2 * PAD

    @property
    def height(self) -> float:
        return {"value": len(self.fields) * LINE, "op": OP_HEIGHT, "dummy": 0.0}[self.kind]

    @property
    def left(self) -> float:
        return self.x - self.width / 2

    @property
    def right(self) -> float:
        return self.x + self.width / 2

    @property
    def top(self) -> float:
        return self.y - self.height / 2

    @property
    def bottom(self) -> float:
        return self.y + self.height / 2


@dataclasses.dataclass
class _Layout:
    nodes: list[_Node]  # the boxes and ovals
    edges: list[tuple[str, str]]  # (from, to) between them
    routes: dict[tuple[str, str], list[_Node]]  # the dummies each edge bends through
    width: float
    height: float


def _value_fields(graph: Graph, k: int) -> list[str]:
    v = graph.values[k]
    grad = v.grad if v.grad is not None else zero_tangent(v.data)
    return [v.name, f"data {format_short(v.data)}", f"grad {format_short(grad)}"]


def _graph_nodes(graph: Graph) -> tuple[dict[str, _Node], list[tuple[str, str]]]:
    """The boxes and ovals, in layers by longest path from the inputs; each input one layer
    above its first use (not all at the top, far from where it is needed)."""
    nodes: dict[str, _Node] = {}
    edges: list[tuple[str, str]] = []
    for k in graph.inputs:
        nodes[f"v{k}"] = _Node(f"v{k}", "value", _value_fields(graph, k), INPUT_FILL)
    for op in graph.ops:
        srcs = [f"v{o.value}" for o in op.operands if o.value is not None]
        srcs = list(dict.fromkeys(srcs))  # x * x: one edge
        layer = 1 + max((nodes[s].layer for s in srcs), default=0)
        key = f"op{op.index}"
        nodes[key] = _Node(key, "op", [op_label(graph, op)], OP_FILL, layer)
        edges.extend((s, key) for s in srcs)
        for k in op.outputs:
            fill = OUTPUT_FILL if k == graph.output else VALUE_FILL
            nodes[f"v{k}"] = _Node(f"v{k}", "value", _value_fields(graph, k), fill, layer + 1)
            edges.append((key, f"v{k}"))
    if graph.output is not None and graph.output in graph.inputs:
        nodes[f"v{graph.output}"].fill = OUTPUT_FILL
    _settle_sources(nodes, edges, [f"v{k}" for k in graph.inputs])
    return nodes, edges


def _settle_sources(
    nodes: dict[str, _Node], edges: list[tuple[str, str]], sources: list[str]
) -> None:
    """Put each source (an input, a constant) one layer above its first use, and number the
    layers from 0."""
    for key in sources:
        uses = [nodes[b].layer for a, b in edges if a == key]
        if uses:
            nodes[key].layer = min(uses) - 1
    low = min((n.layer for n in nodes.values()), default=0)
    for n in nodes.values():
        n.layer -= low


def _program_nodes(program: Program) -> tuple[dict[str, _Node], list[tuple[str, str]]]:
    """The boxes and ovals of a program: its inputs, one oval per line, the values each line
    computes and the constants it reads; layered like a graph's."""
    outputs = {o.id for o in program.outputs if isinstance(o, Var)}
    nodes: dict[str, _Node] = {}
    edges: list[tuple[str, str]] = []
    consts: list[str] = []

    def box(key: str, var: Var, fill: str, layer: int = 0) -> None:
        fill = OUTPUT_FILL if var.id in outputs else fill
        nodes[key] = _Node(key, "value", [repr(var), _type(var)], fill, layer)

    def const(value: Any) -> str:
        key = f"c{len(consts)}"
        consts.append(key)
        nodes[key] = _Node(key, "value", ["constant", _constant(value)], CONST_FILL)
        return key

    for v in program.inputs:
        box(f"v{v.id}", v, INPUT_FILL)
    for k, eq in enumerate(program.equations):
        data = [a for a in eq.args if isinstance(a, Var) or _is_data(a)]
        srcs = [f"v{a.id}" if isinstance(a, Var) else const(a) for a in data]
        srcs = list(dict.fromkeys(srcs))  # x * x: one edge
        layer = 1 + max((nodes[s].layer for s in srcs if s[0] == "v"), default=0)
        key = f"op{k}"
        settings = [str(a) if isinstance(a, np.dtype) else _constant(a) for a in eq.args
                    if not (isinstance(a, Var) or _is_data(a))]  # fmt: skip
        label = " ".join([eq.name, *settings, *(f"{k}={v!r}" for k, v in eq.params.items())])
        nodes[key] = _Node(key, "op", [label], OP_FILL, layer)
        edges.extend((s, key) for s in srcs)
        for v in eq.outs:
            box(f"v{v.id}", v, VALUE_FILL, layer + 1)
            edges.append((key, f"v{v.id}"))
    for o in program.outputs:  # an output that no line computes: a constant
        if not isinstance(o, Var):
            nodes[const(o)].fill = OUTPUT_FILL
    _settle_sources(nodes, edges, [f"v{v.id}" for v in program.inputs] + consts)
    return nodes, edges


def _is_data(constant: Any) -> bool:
    """An array or a number: a box of its own. Anything else (a shape, an axis, a dtype,
    None) is a setting of the line and is written in its oval."""
    return isinstance(constant, np.ndarray | np.generic | int | float | complex)


def _type(var: Var) -> str:
    return var.describe().split(":", 1)[1]


def _order(
    layers: list[list[_Node]], preds: dict[str, list[str]], succs: dict[str, list[str]]
) -> None:
    """Reorder each layer to cut edge crossings: each node at the barycentre (mean position)
    of its neighbours in the layer above, then below, alternately (Sugiyama's heuristic)."""
    pos = {n.key: i for layer in layers for i, n in enumerate(layer)}

    def sort(layer: list[_Node], neighbours: dict[str, list[str]]) -> None:
        def centre(n: _Node) -> float:
            near = neighbours[n.key]
            return sum(pos[m] for m in near) / len(near) if near else pos[n.key]

        layer.sort(key=centre)  # stable: ties keep their order
        for i, n in enumerate(layer):
            pos[n.key] = i

    for sweep in range(SWEEPS):
        if sweep % 2 == 0:
            for layer in layers[1:]:
                sort(layer, preds)
        else:
            for layer in reversed(layers[:-1]):
                sort(layer, succs)


def _extent(layer: list[_Node]) -> float:
    return max((n.right for n in layer), default=0.0) - min((n.left for n in layer), default=0.0)


def _place(layer: list[_Node], wanted: list[float]) -> None:
    """Put the nodes of a layer, in order, as near their wanted centres as their widths allow."""
    xs: list[float] = []
    for i, (n, w) in enumerate(zip(layer, wanted, strict=True)):
        if xs:
            before = layer[i - 1]
            gap = DUMMY_GAP if "dummy" in (n.kind, before.kind) else HGAP
            w = max(w, xs[-1] + (before.width + n.width) / 2 + gap)
        xs.append(w)
    # pushed right by the packing: shift back by the mean displacement, keeping the order
    shift = sum(x - w for x, w in zip(xs, wanted, strict=True)) / len(xs)
    for n, x in zip(layer, xs, strict=True):
        n.x = x - shift


def _layout(nodes: dict[str, _Node], edges: list[tuple[str, str]]) -> _Layout:
    """A layered (Sugiyama-style) drawing, data flowing down the page: layers by longest
    path, long edges bent through dummy points, layers ordered by barycentres to cut
    crossings, each node centred on its neighbours; a tall graph wraps into bands."""
    everything = dict(nodes)
    routes: dict[tuple[str, str], list[_Node]] = {}
    preds: dict[str, list[str]] = {k: [] for k in nodes}
    succs: dict[str, list[str]] = {k: [] for k in nodes}
    for a, b in edges:
        chain: list[_Node] = []
        prev = a
        for rank in range(nodes[a].layer + 1, nodes[b].layer):
            dummy = _Node(f"d{len(everything)}", "dummy", [], "", rank)
            everything[dummy.key] = dummy
            preds[dummy.key], succs[dummy.key] = [], []
            chain.append(dummy)
        routes[(a, b)] = chain
        for n in [*chain, nodes[b]]:
            preds[n.key].append(prev)
            succs[prev].append(n.key)
            prev = n.key
    depth = 1 + max((n.layer for n in everything.values()), default=0)
    layers: list[list[_Node]] = [[] for _ in range(depth)]
    for n in everything.values():
        layers[n.layer].append(n)
    _order(layers, preds, succs)

    # x: pack each layer, then settle every node on the mean of its neighbours, down and up.
    for layer in layers:
        _place(layer, [0.0] * len(layer))
    for sweep in range(SWEEPS):
        down = sweep % 2 == 0
        for layer in layers[1:] if down else reversed(layers[:-1]):
            near = preds if down else succs
            wanted = [
                sum(everything[m].x for m in near[n.key]) / len(near[n.key]) if near[n.key] else n.x
                for n in layer
            ]
            _place(layer, wanted)

    # y: layer by layer, wrapping into bands of at most MAX_HEIGHT.
    heights = [max((n.height for n in layer), default=0.0) for layer in layers]
    total = sum(heights) + VGAP * (depth - 1)
    widest = max((_extent(layer) for layer in layers), default=0.0)
    bands = 1
    if total > MAX_HEIGHT:  # as many bands as make the picture about a page's shape
        bands = max(2, round(math.sqrt(PAGE * total / max(widest, 1.0))))
    per_band = total / bands
    band_of, y, band = [], 0.0, 0
    for h in heights:
        if y > 0 and y + h / 2 > per_band * (band + 1) and band < bands - 1:
            band += 1
        band_of.append(band)
        y += h + VGAP
    x_offset, width, height = MARGIN, 0.0, 0.0
    for k in range(bands):
        rows = [i for i in range(depth) if band_of[i] == k]
        members = [n for i in rows for n in layers[i]]
        left = min((n.left for n in members), default=0.0)
        right = max((n.right for n in members), default=0.0)
        y = MARGIN
        for i in rows:
            for n in layers[i]:
                n.y = y + heights[i] / 2
                n.x += x_offset - left
            y += heights[i] + VGAP
        x_offset += right - left + BAND_GAP
        height = max(height, y - VGAP + MARGIN)
    width = x_offset - BAND_GAP + MARGIN
    return _Layout(list(nodes.values()), edges, routes, width, max(height, 2 * MARGIN))


def _edge_path(a: _Node, b: _Node, bends: list[_Node]) -> list[list[tuple[float, float]]]:
    """The pieces of an edge, from the bottom of `a` through its bends to the top of `b`:
    each piece a start point and three points per cubic Bézier, leaving and arriving
    vertically. An edge that wraps to the next band leaves the bottom of its band and comes
    back in at the top of the next, in two pieces."""
    stops = [(a.x, a.bottom), *((d.x, d.y) for d in bends), (b.x, b.top)]
    pieces = [[stops[0]]]

    def curve(p: tuple[float, float], q: tuple[float, float]) -> None:
        dy = max(abs(q[1] - p[1]) / 2, 6.0)
        pieces[-1].extend([(p[0], p[1] + dy), (q[0], q[1] - dy), q])

    for p, q in itertools.pairwise(stops):
        if q[1] < p[1]:  # wrapped: out of the bottom of this band, into the top of the next
            curve(p, (p[0], p[1] + VGAP / 2))
            pieces.append([(q[0], q[1] - VGAP / 2)])
            p = pieces[-1][0]
        curve(p, q)
    return pieces


def _f(x: float) -> str:
    return f"{x:.1f}"


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _record_escape(text: str) -> str:
    for ch in "\\{}|<>":
        text = text.replace(ch, "\\" + ch)
    return text


class Drawing:
    """A laid-out computation graph or program: `svg()`, `dot()`, `save(path)`, and SVG in
    notebooks."""

    def __init__(self, graph: Graph | Program, name: str = "program") -> None:
        self.graph = graph
        if isinstance(graph, Program):
            self.name = name
            self._layout = _layout(*_program_nodes(graph))
        else:
            self.name = graph.fun_name
            self._layout = _layout(*_graph_nodes(graph))

    @property
    def width(self) -> float:
        """Width of the picture in pixels."""
        return self._layout.width

    @property
    def height(self) -> float:
        """Height of the picture in pixels."""
        return self._layout.height

    def dot(self) -> str:
        """Graphviz DOT text: value records "name | data | grad", operations as ellipses.

        >>> print(draw(lambda x: x * 2.0, 3.0).dot())
        digraph "f" {
          rankdir=TB;
          node [fontname="monospace", fontsize=10];
          v0 [shape=record, style=filled, fillcolor="#dbeafe", label="{ x | data 3.0 | grad 2.0 }"];
          op0 [shape=ellipse, style=filled, fillcolor="#e5e7eb", label="* 2.0"];
          v1 [shape=record, style=filled, fillcolor="#fde68a", label="{ L | data 6.0 | grad 1.0 }"];
          v0 -> op0;
          op0 -> v1;
        }
        """
        lines = [f"digraph {_dot_quote(self.name)} {{", "  rankdir=TB;"]
        lines.append('  node [fontname="monospace", fontsize=10];')
        for n in self._layout.nodes:
            if n.kind == "value":
                label = "{ " + " | ".join(_record_escape(f) for f in n.fields) + " }"
                shape = "record"
            else:
                label, shape = n.fields[0], "ellipse"
            lines.append(
                f'  {n.key} [shape={shape}, style=filled, fillcolor="{n.fill}", '
                f"label={_dot_quote(label)}];"
            )
        lines += [f"  {a} -> {b};" for a, b in self._layout.edges]
        lines.append("}")
        return "\n".join(lines)

    def svg(self) -> str:
        """The picture as standalone SVG text, scaling to the width it is shown in.

        >>> text = draw(lambda x, y: x * y, 2.0, 3.0).svg()
        >>> text.startswith("<svg"), text.count('<rect class="value"'), text.count("<ellipse")
        (True, 3, 1)
        """
        lay = self._layout
        nodes = {n.key: n for n in lay.nodes}
        out = [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="100%" '
            f'viewBox="0 0 {_f(lay.width)} {_f(lay.height)}" '
            f'style="max-width: {_f(lay.width)}px; height: auto" '
            f'font-family="monospace" font-size="{FONT:g}">',
            "<defs>"
            '<marker id="chainrule-arrow" viewBox="0 0 10 10" refX="10" refY="5" '
            'markerWidth="7" markerHeight="7" orient="auto">'
            f'<path d="M 0 0 L 10 5 L 0 10 z" fill="{STROKE}"/></marker></defs>',
        ]
        for a, b in lay.edges:
            d = ""
            for points in _edge_path(nodes[a], nodes[b], lay.routes[(a, b)]):
                d += f" M {_f(points[0][0])} {_f(points[0][1])}"
                for i in range(1, len(points), 3):
                    d += " C " + " ".join(f"{_f(x)} {_f(y)}" for x, y in points[i : i + 3])
            d = d.strip()
            out.append(
                f'<path class="edge" d="{d}" fill="none" stroke="{STROKE}" '
                'stroke-width="1.2" marker-end="url(#chainrule-arrow)"/>'
            )
        for n in lay.nodes:
            title = _html_escape(" | ".join(n.fields))
            out.append(f'<g id="{n.key}"><title>{title}</title>')
            if n.kind == "op":
                out.append(
                    f'<ellipse class="op" cx="{_f(n.x)}" cy="{_f(n.y)}" rx="{_f(n.width / 2)}" '
                    f'ry="{_f(n.height / 2)}" fill="{n.fill}" stroke="{STROKE}"/>'
                )
                out.append(self._svg_text(n.x, n.y, n.fields[0]))
            else:
                out.append(
                    f'<rect class="value" x="{_f(n.left)}" y="{_f(n.top)}" '
                    f'width="{_f(n.width)}" height="{_f(n.height)}" rx="3" fill="{n.fill}" '
                    f'stroke="{STROKE}"/>'
                )
                for i, text in enumerate(n.fields):
                    if i:
                        y = n.top + i * LINE
                        out.append(
                            f'<line x1="{_f(n.left)}" y1="{_f(y)}" x2="{_f(n.right)}" '
                            f'y2="{_f(y)}" stroke="{STROKE}" stroke-opacity="0.3"/>'
                        )
                    out.append(self._svg_text(n.x, n.top + (i + 0.5) * LINE, text, bold=i == 0))
            out.append("</g>")
        out.append("</svg>")
        return "\n".join(out)

    @staticmethod
    def _svg_text(x: float, y: float, text: str, bold: bool = False) -> str:
        weight = ' font-weight="bold"' if bold else ""
        return (
            f'<text x="{_f(x)}" y="{_f(y)}" text-anchor="middle" dominant-baseline="central"'
            f"{weight}>{_html_escape(text)}</text>"
        )

    def _repr_svg_(self) -> str:
        return self.svg()

    def save(self, path: str | os.PathLike[str], dpi: float = 100.0) -> Path:
        """Write the picture: `.svg` (SVG text), `.dot` (Graphviz DOT) or `.png` (matplotlib).

        Returns the path written.

        >>> import pathlib, tempfile
        >>> where = pathlib.Path(tempfile.mkdtemp()) / "graph.svg"
        >>> draw(lambda x: x * x, 3.0).save(where).read_text().startswith("<svg")
        True
        """
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix == ".svg":
            path.write_text(self.svg(), encoding="utf-8")
        elif suffix == ".dot":
            path.write_text(self.dot() + "\n", encoding="utf-8")
        elif suffix == ".png":
            self._save_png(path, dpi)
        else:
            raise ValueError(
                f"Drawing.save({str(path)!r}): unsupported file type {suffix or '(no suffix)'!r}; "
                "use a path ending in .svg, .png or .dot."
            )
        return path

    def _save_png(self, path: Path, dpi: float) -> None:
        from .plot import require_matplotlib

        require_matplotlib()
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.patches import Ellipse, FancyArrowPatch, Rectangle
        from matplotlib.path import Path as MplPath

        lay = self._layout
        nodes = {n.key: n for n in lay.nodes}
        # Keep very large graphs to a sensible number of pixels.
        dpi = min(dpi, 100.0 * 8000.0 / max(lay.width, lay.height, 1.0))
        # A figure pyplot never sees: nothing to close, and no backend is chosen or changed.
        fig = Figure(figsize=(lay.width / 100.0, lay.height / 100.0), dpi=dpi)
        FigureCanvasAgg(fig)
        ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
        ax.set_xlim(0, lay.width)
        ax.set_ylim(lay.height, 0)
        ax.axis("off")
        fontsize = FONT * 72.0 / 100.0
        for a, b in lay.edges:
            pieces = _edge_path(nodes[a], nodes[b], lay.routes[(a, b)])
            for k, verts in enumerate(pieces):
                codes = [MplPath.MOVETO] + [MplPath.CURVE4] * (len(verts) - 1)
                ax.add_patch(
                    FancyArrowPatch(
                        path=MplPath(verts, codes),
                        arrowstyle="-|>" if k == len(pieces) - 1 else "-",
                        mutation_scale=10,
                        color=STROKE,
                        linewidth=1.0,
                    )
                )
        text: dict[str, Any] = {
            "ha": "center",
            "va": "center",
            "family": "monospace",
            "fontsize": fontsize,
        }
        for n in lay.nodes:
            if n.kind == "op":
                ax.add_patch(
                    Ellipse((n.x, n.y), n.width, n.height, facecolor=n.fill, edgecolor=STROKE)
                )
                ax.text(n.x, n.y, n.fields[0], **text)
                continue
            ax.add_patch(
                Rectangle((n.left, n.top), n.width, n.height, facecolor=n.fill, edgecolor=STROKE)
            )
            for i, field in enumerate(n.fields):
                if i:
                    y = n.top + i * LINE
                    ax.plot([n.left, n.right], [y, y], color=STROKE, linewidth=0.5, alpha=0.3)
                weight = "bold" if i == 0 else "normal"
                ax.text(n.x, n.top + (i + 0.5) * LINE, field, fontweight=weight, **text)
        fig.savefig(path, dpi=dpi, facecolor="white")


def draw(fun: Callable[..., Any] | Program, *args: Any) -> Drawing:
    """The computation graph of scalar-valued `fun` at `args`, with values and gradients;
    or, given a program of `cr.make_program`, its lines as a graph, inputs to outputs.

    >>> d = draw(lambda a, b: (a * b + b) ** 2, 2.0, -3.0)
    >>> d.dot().count("shape=record"), d.dot().count("shape=ellipse"), d.dot().count("->")
    (5, 3, 8)
    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> program = cr.make_program(cr.grad(lambda x: np.sum(np.sin(x))))(np.zeros(3))
    >>> print(draw(program).dot())  # v0 -> cos -> v3
    digraph "program" {
      rankdir=TB;
      node [fontname="monospace", fontsize=10];
      v0 [shape=record, style=filled, fillcolor="#dbeafe", label="{ v0 | float64[3] }"];
      op0 [shape=ellipse, style=filled, fillcolor="#e5e7eb", label="cos"];
      v3 [shape=record, style=filled, fillcolor="#fde68a", label="{ v3 | float64[3] }"];
      v0 -> op0;
      op0 -> v3;
    }
    """
    if isinstance(fun, Program):
        if args:
            raise TypeError(
                f"draw(program, ...): a program is drawn as it is, without arguments (got "
                f"{len(args)}); to draw it for other inputs, make it again with "
                "cr.make_program(f)(*inputs)."
            )
        return Drawing(fun)
    return Drawing(trace_graph(fun, *args, what="draw"))
