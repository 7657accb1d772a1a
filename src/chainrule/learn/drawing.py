"""The computation graph as a picture: one box per value, one oval per operation.

`draw(fun, *args)` records `fun` as `chainrule.learn.explanation` does (`trace_graph`) and lays the
graph out from left to right, in the order data flows: inputs in the first column, every
operation one column after its last input, its result one column after it. Each value box
shows the name, the value and the gradient of the output with respect to it, as in
micrograd's drawing.

The layout is pure Python, so no Graphviz binary is needed: `svg()` writes SVG text,
`save("g.png")` renders with matplotlib, and `dot()` exports Graphviz DOT text for those
who want Graphviz's own layout.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from html import escape as _html_escape
from pathlib import Path
from typing import Any

from chainrule.core.trace import zero_tangent

from .explanation import Graph, format_short, op_label, trace_graph

__all__ = ["Drawing", "draw"]

CHAR = 7.2  # width of one character of 12 px monospace text
FONT = 12.0
PAD = 8.0  # horizontal padding inside a box field
HEIGHT = 30.0  # height of every node
VGAP = 14.0  # vertical space between nodes of one column
HGAP = 36.0  # horizontal space between columns
MARGIN = 12.0

INPUT_FILL = "#dbeafe"
OUTPUT_FILL = "#fde68a"
VALUE_FILL = "#ffffff"
OP_FILL = "#e5e7eb"
STROKE = "#374151"


@dataclasses.dataclass
class _Node:
    """One box (a value) or oval (an operation) with its place in the picture."""

    key: str  # "v3" or "op1", also the DOT and SVG id
    kind: str  # "value" or "op"
    fields: list[str]  # a value: [name, data, grad]; an op: [label]
    fill: str
    layer: int = 0
    x: float = 0.0  # centre
    y: float = 0.0

    @property
    def field_widths(self) -> list[float]:
        return [len(f) * CHAR + 2 * PAD for f in self.fields]

    @property
    def width(self) -> float:
        if self.kind == "op":
            return max(40.0, len(self.fields[0]) * CHAR + 3 * PAD)
        return sum(self.field_widths)

    @property
    def left(self) -> float:
        return self.x - self.width / 2

    @property
    def right(self) -> float:
        return self.x + self.width / 2


@dataclasses.dataclass
class _Layout:
    nodes: list[_Node]
    edges: list[tuple[str, str]]
    width: float
    height: float


def _value_fields(graph: Graph, k: int) -> list[str]:
    v = graph.values[k]
    grad = v.grad if v.grad is not None else zero_tangent(v.data)
    return [v.name, f"data {format_short(v.data)}", f"grad {format_short(grad)}"]


def _layout(graph: Graph) -> _Layout:
    """Layers by data flow (inputs left), ordered in each layer near their predecessors."""
    nodes: dict[str, _Node] = {}
    preds: dict[str, list[str]] = {}
    edges: list[tuple[str, str]] = []
    for k in graph.inputs:
        nodes[f"v{k}"] = _Node(f"v{k}", "value", _value_fields(graph, k), INPUT_FILL, 0)
        preds[f"v{k}"] = []
    for op in graph.ops:
        srcs = [f"v{o.value}" for o in op.operands if o.value is not None]
        layer = 1 + max((nodes[s].layer for s in srcs), default=0)
        key = f"op{op.index}"
        nodes[key] = _Node(key, "op", [op_label(graph, op)], OP_FILL, layer)
        preds[key] = srcs
        edges.extend((s, key) for s in srcs)
        for k in op.outputs:
            fill = OUTPUT_FILL if k == graph.output else VALUE_FILL
            nodes[f"v{k}"] = _Node(f"v{k}", "value", _value_fields(graph, k), fill, layer + 1)
            preds[f"v{k}"] = [key]
            edges.append((key, f"v{k}"))
    if graph.output is not None and graph.output in graph.inputs:
        nodes[f"v{graph.output}"].fill = OUTPUT_FILL
    # An input goes in the column just before its first use, next to what it meets there.
    consumers: dict[str, list[str]] = {}
    moved: set[str] = set()
    for a, b in edges:
        consumers.setdefault(a, []).append(b)
    for k in graph.inputs:
        uses = consumers.get(f"v{k}")
        if uses:
            first = min(uses, key=lambda key: nodes[key].layer)
            nodes[f"v{k}"].layer = nodes[first].layer - 1
            preds[f"v{k}"] = [p for p in preds[first] if p != f"v{k}" and p not in moved]
            moved.add(f"v{k}")

    layers: dict[int, list[_Node]] = {}
    for node in nodes.values():
        layers.setdefault(node.layer, []).append(node)
    step = HEIGHT + VGAP
    x = MARGIN
    for layer in sorted(layers):
        column = layers[layer]
        if layer > 0:
            # Each node as near the mean height of its predecessors as the column allows.
            wanted = _wanted(column, nodes, preds, moved)
            column.sort(key=lambda n: wanted[n.key])
            low = -float("inf")
            for n in column:
                n.y = max(wanted[n.key], low + step)
                low = n.y
        else:
            for i, n in enumerate(column):
                n.y = i * step
        width = max(n.width for n in column)
        for n in column:
            n.x = x + width / 2
        x += width + HGAP
    top = min((n.y for n in nodes.values()), default=0.0)
    for n in nodes.values():
        n.y += MARGIN + HEIGHT / 2 - top
    height = max((n.y for n in nodes.values()), default=0.0) + HEIGHT / 2 + MARGIN
    return _Layout(list(nodes.values()), edges, x - HGAP + MARGIN, max(height, 2 * MARGIN))


def _wanted(
    column: list[_Node], nodes: dict[str, _Node], preds: dict[str, list[str]], moved: set[str]
) -> dict[str, float]:
    """Where each node of a column would like to sit: level with its predecessors. An input
    moved next to its first use sits just below the values it is combined with there."""
    wanted: dict[str, float] = {}
    layer = column[0].layer
    for n in sorted(column, key=lambda n: n.key in moved):
        if n.key in moved:
            ys = [
                nodes[p].y if nodes[p].layer < layer else wanted[p]
                for p in preds[n.key]
                if nodes[p].layer < layer or p in wanted
            ]
            wanted[n.key] = sum(ys) / len(ys) + HEIGHT + VGAP if ys else 0.0
        else:
            ys = [nodes[p].y for p in preds[n.key]]
            wanted[n.key] = sum(ys) / len(ys) if ys else 0.0
    return wanted


def _edge_path(a: _Node, b: _Node) -> tuple[tuple[float, float], ...]:
    """A cubic Bézier from the right side of `a` to the left side of `b`."""
    x1, y1, x2, y2 = a.right, a.y, b.left, b.y
    dx = max((x2 - x1) / 2, 10.0)
    return ((x1, y1), (x1 + dx, y1), (x2 - dx, y2), (x2, y2))


def _f(x: float) -> str:
    return f"{x:.1f}"


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _record_escape(text: str) -> str:
    for ch in "\\{}|<>":
        text = text.replace(ch, "\\" + ch)
    return text


class Drawing:
    """A laid-out computation graph: `svg()`, `dot()`, `save(path)`, and SVG in notebooks."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self._layout = _layout(graph)

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
          rankdir=LR;
          node [fontname="monospace", fontsize=10];
          v0 [shape=record, style=filled, fillcolor="#dbeafe", label="{ x | data 3.0 | grad 2.0 }"];
          op0 [shape=ellipse, style=filled, fillcolor="#e5e7eb", label="* 2.0"];
          v1 [shape=record, style=filled, fillcolor="#fde68a", label="{ L | data 6.0 | grad 1.0 }"];
          v0 -> op0;
          op0 -> v1;
        }
        """
        lines = [f"digraph {_dot_quote(self.graph.fun_name)} {{", "  rankdir=LR;"]
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
        """The picture as standalone SVG text.

        >>> text = draw(lambda x, y: x * y, 2.0, 3.0).svg()
        >>> text.startswith("<svg"), text.count('<rect class="value"'), text.count("<ellipse")
        (True, 3, 1)
        """
        lay = self._layout
        nodes = {n.key: n for n in lay.nodes}
        out = [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{_f(lay.width)}" '
            f'height="{_f(lay.height)}" viewBox="0 0 {_f(lay.width)} {_f(lay.height)}" '
            f'font-family="monospace" font-size="{FONT:g}">',
            "<defs>"
            '<marker id="chainrule-arrow" viewBox="0 0 10 10" refX="10" refY="5" '
            'markerWidth="7" markerHeight="7" orient="auto">'
            f'<path d="M 0 0 L 10 5 L 0 10 z" fill="{STROKE}"/></marker></defs>',
        ]
        for a, b in lay.edges:
            (x1, y1), (c1x, c1y), (c2x, c2y), (x2, y2) = _edge_path(nodes[a], nodes[b])
            out.append(
                f'<path class="edge" d="M {_f(x1)} {_f(y1)} C {_f(c1x)} {_f(c1y)} '
                f'{_f(c2x)} {_f(c2y)} {_f(x2)} {_f(y2)}" fill="none" stroke="{STROKE}" '
                'stroke-width="1.2" marker-end="url(#chainrule-arrow)"/>'
            )
        for n in lay.nodes:
            title = _html_escape(" | ".join(n.fields))
            out.append(f'<g id="{n.key}"><title>{title}</title>')
            top = n.y - HEIGHT / 2
            if n.kind == "op":
                out.append(
                    f'<ellipse class="op" cx="{_f(n.x)}" cy="{_f(n.y)}" rx="{_f(n.width / 2)}" '
                    f'ry="{_f(HEIGHT / 2)}" fill="{n.fill}" stroke="{STROKE}"/>'
                )
                out.append(self._svg_text(n.x, n.y, n.fields[0]))
            else:
                out.append(
                    f'<rect class="value" x="{_f(n.left)}" y="{_f(top)}" width="{_f(n.width)}" '
                    f'height="{_f(HEIGHT)}" rx="3" fill="{n.fill}" stroke="{STROKE}"/>'
                )
                x = n.left
                for i, (text, w) in enumerate(zip(n.fields, n.field_widths, strict=True)):
                    if i:
                        out.append(
                            f'<line x1="{_f(x)}" y1="{_f(top)}" x2="{_f(x)}" '
                            f'y2="{_f(top + HEIGHT)}" stroke="{STROKE}"/>'
                        )
                    out.append(self._svg_text(x + w / 2, n.y, text, bold=i == 0))
                    x += w
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
        codes = [MplPath.MOVETO, MplPath.CURVE4, MplPath.CURVE4, MplPath.CURVE4]
        for a, b in lay.edges:
            verts = _edge_path(nodes[a], nodes[b])
            ax.add_patch(
                FancyArrowPatch(
                    path=MplPath(verts, codes),
                    arrowstyle="-|>",
                    mutation_scale=10,
                    color=STROKE,
                    linewidth=1.0,
                )
            )
        for n in lay.nodes:
            if n.kind == "op":
                ax.add_patch(
                    Ellipse((n.x, n.y), n.width, HEIGHT, facecolor=n.fill, edgecolor=STROKE)
                )
                ax.text(
                    n.x,
                    n.y,
                    n.fields[0],
                    ha="center",
                    va="center",
                    family="monospace",
                    fontsize=fontsize,
                )
                continue
            top = n.y - HEIGHT / 2
            ax.add_patch(
                Rectangle((n.left, top), n.width, HEIGHT, facecolor=n.fill, edgecolor=STROKE)
            )
            x = n.left
            for i, (text, w) in enumerate(zip(n.fields, n.field_widths, strict=True)):
                if i:
                    ax.plot([x, x], [top, top + HEIGHT], color=STROKE, linewidth=1.0)
                ax.text(
                    x + w / 2,
                    n.y,
                    text,
                    ha="center",
                    va="center",
                    family="monospace",
                    fontsize=fontsize,
                    fontweight="bold" if i == 0 else "normal",
                )
                x += w
        fig.savefig(path, dpi=dpi, facecolor="white")


def draw(fun: Callable[..., Any], *args: Any) -> Drawing:
    """The computation graph of scalar-valued `fun` at `args`, with values and gradients.

    >>> d = draw(lambda a, b: (a * b + b) ** 2, 2.0, -3.0)
    >>> d.dot().count("shape=record"), d.dot().count("shape=ellipse"), d.dot().count("->")
    (5, 3, 8)
    """
    return Drawing(trace_graph(fun, *args, what="draw"))
