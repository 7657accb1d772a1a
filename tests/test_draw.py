"""draw: the computation graph as DOT, SVG and PNG, laid out without Graphviz."""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET

import numpy as onp
import pytest

import chainrule.numpy as np
from chainrule.learn.drawing import Drawing, draw
from chainrule.nn.functional import relu

SVG = "{http://www.w3.org/2000/svg}"


def f(a, b):
    return (a * b + b) ** 2


def test_dot_has_one_node_per_value_and_op_and_the_edges():
    dot = draw(f, 2.0, -3.0).dot()
    assert dot.startswith('digraph "f" {') and dot.rstrip().endswith("}")
    values = re.findall(r"^  (v\d+) \[shape=record", dot, re.M)
    ops = re.findall(r"^  (op\d+) \[shape=ellipse", dot, re.M)
    edges = re.findall(r"^  (\w+) -> (\w+);", dot, re.M)
    assert values == ["v0", "v1", "v2", "v3", "v4"]
    assert ops == ["op0", "op1", "op2"]
    assert sorted(edges) == sorted(
        [("v0", "op0"), ("v1", "op0"), ("op0", "v2"), ("v2", "op1"), ("v1", "op1"),
         ("op1", "v3"), ("v3", "op2"), ("op2", "v4")]
    )  # fmt: skip
    assert 'label="{ a | data 2.0 | grad 54.0 }"' in dot
    assert 'label="{ L | data 81.0 | grad 1.0 }"' in dot
    assert 'label="** 2"' in dot


def test_svg_parses_with_a_box_per_value_and_an_oval_per_op():
    d = draw(f, 2.0, -3.0)
    root = ET.fromstring(d.svg())
    assert root.tag == f"{SVG}svg"
    boxes = root.findall(f".//{SVG}rect[@class='value']")
    ovals = root.findall(f".//{SVG}ellipse[@class='op']")
    edges = root.findall(f".//{SVG}path[@class='edge']")
    assert (len(boxes), len(ovals), len(edges)) == (5, 3, 8)
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "data -9.0" in texts and "grad -54.0" in texts and "*" in texts
    assert d._repr_svg_() == d.svg()
    # data flows down the page: every edge ends below where it starts
    for path in edges:
        nums = [float(v) for v in re.findall(r"-?\d+\.\d+", path.get("d"))]
        assert nums[-1] > nums[1]
    # the picture scales to the width it is shown in, keeping its proportions
    assert root.get("width") == "100%" and "height" not in root.attrib
    assert root.get("viewBox") == f"0 0 {d.width:.1f} {d.height:.1f}"


def test_svg_escapes_labels():
    d = draw(lambda p: np.sum(p["<&>"] * 2.0), {"<&>": onp.ones(3)})
    text = d.svg()
    ET.fromstring(text)
    assert "&lt;&amp;&gt;" in text


def test_layers_follow_data_flow_for_a_network():
    rng = onp.random.default_rng(1)
    W1, b1, W2 = rng.normal(size=(4, 3)), rng.normal(size=4), rng.normal(size=(1, 4))
    x = onp.array([1.0, 2.0, -1.0])

    def loss(W1, b1, W2):
        return np.sum((W2 @ relu(W1 @ x + b1)) ** 2)

    d = draw(loss, W1, b1, W2)
    nodes = {n.key: n for n in d._layout.nodes}
    for a, b in d._layout.edges:
        assert nodes[a].layer < nodes[b].layer
        assert nodes[a].bottom < nodes[b].top
    assert_no_overlap(d)


def assert_no_overlap(d: Drawing) -> None:
    boxes = d._layout.nodes
    for i, p in enumerate(boxes):
        for q in boxes[i + 1 :]:
            apart_x = p.right <= q.left or q.right <= p.left
            apart_y = p.bottom <= q.top or q.bottom <= p.top
            assert apart_x or apart_y, (p.fields, q.fields)
        assert p.left >= 0 and p.right <= d.width and p.top >= 0 and p.bottom <= d.height


def crossings(d: Drawing) -> int:
    """Pairs of edges between the same two layers whose ends are in opposite orders."""
    lay = d._layout
    nodes = {n.key: n for n in lay.nodes}
    segments = []
    for a, b in lay.edges:
        stops = [nodes[a], *lay.routes[(a, b)], nodes[b]]
        segments += [(p.layer, p.x, q.x) for p, q in itertools.pairwise(stops)]
    return sum(
        1
        for i, (la, a1, a2) in enumerate(segments)
        for lb, b1, b2 in segments[i + 1 :]
        if la == lb and (a1 - b1) * (a2 - b2) < 0
    )


def test_barycentre_ordering_removes_the_crossings_of_the_argument_order():
    # in argument order the inputs a, c, b, d would cross: a*b and c*d are interleaved
    d = draw(lambda a, c, b, e: a * b + c * e, 1.0, 2.0, 3.0, 4.0)
    assert crossings(d) == 0
    assert_no_overlap(d)


def test_a_two_layer_network_fits_a_page():
    from chainrule import nn

    model = nn.MLP([2, 16, 16, 2], rng=0)
    x = onp.ones((8, 2), onp.float32)
    y = onp.zeros(8, int)
    d = draw(lambda model, x: nn.cross_entropy(model(x), y), model, x)
    assert d.width <= 1200 and d.height <= 1600
    assert 1 / 3 <= d.width / d.height <= 3
    assert crossings(d) == 0
    assert_no_overlap(d)
    names = [n.fields[0] for n in d._layout.nodes if n.kind == "value"]
    assert "model.layers[1].weight" in names
    assert [n.fields[0] for n in d._layout.nodes if n.kind == "op"][:1] == ["@ W.T + b"]


def test_a_long_chain_wraps_into_bands_that_fit_a_page():
    def chain(x):
        for _ in range(40):
            x = np.sin(x)
        return x

    d = draw(chain, 0.5)
    assert d.width <= 1200 and d.height <= 1600
    assert_no_overlap(d)
    # the chain runs down one band, then on at the top of the next
    nodes = [n for n in d._layout.nodes if n.kind == "value"]
    tops = [n for a, n in itertools.pairwise(nodes) if n.y < a.y]
    assert len(tops) >= 1 and all(n.x > 0 for n in tops)
    text = d.svg()
    ET.fromstring(text)
    assert text.count(" M ") >= len(tops)  # the wrapped edges leave and re-enter in pieces


def test_png_is_not_blank(tmp_path):
    from matplotlib.image import imread

    path = draw(f, 2.0, -3.0).save(tmp_path / "graph.png")
    image = imread(path)
    assert image.ndim == 3 and image.shape[0] > 40 and image.shape[1] > 200
    assert image[..., :3].std() > 0.05


def test_save_svg_and_dot(tmp_path):
    d = draw(f, 2.0, -3.0)
    assert d.save(tmp_path / "g.svg").read_text() == d.svg()
    assert d.save(str(tmp_path / "g.dot")).read_text() == d.dot() + "\n"


def test_bad_suffix_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match=r"'\.jpg'.*\.svg, \.png or \.dot"):
        draw(f, 2.0, -3.0).save(tmp_path / "g.jpg")


def test_non_scalar_output_is_an_error():
    with pytest.raises(TypeError, match=r"draw of .*must return a scalar"):
        draw(lambda x: x * 2.0, onp.ones(2))


def test_drawing_of_a_graph():
    d = draw(lambda x: x * 2.0, 3.0)
    assert isinstance(d, Drawing) and d.width > 0 and d.height > 0
    assert [n.kind for n in d._layout.nodes] == ["value", "op", "value"]


def test_png_without_matplotlib_gives_the_plots_error(tmp_path, monkeypatch):
    import sys

    from chainrule.learn.plot import MATPLOTLIB_NEEDED

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails
    with pytest.raises(ImportError) as info:
        draw(f, 2.0, -3.0).save(tmp_path / "g.png")
    assert str(info.value) == MATPLOTLIB_NEEDED  # the very words of chainrule.learn.plot
    assert not (tmp_path / "g.png").exists()
    assert draw(f, 2.0, -3.0).save(tmp_path / "g.svg").exists()  # SVG needs no matplotlib


def test_png_leaves_pyplot_and_its_backend_alone(tmp_path):
    import matplotlib
    import matplotlib.pyplot as plt

    before = matplotlib.get_backend()
    plt.switch_backend("svg")
    try:
        figures = plt.get_fignums()
        draw(f, 2.0, -3.0).save(tmp_path / "g.png")
        assert matplotlib.get_backend() == "svg" and plt.get_fignums() == figures
    finally:
        plt.switch_backend(before)


# ---------------------------------------------------------------------------- programs


def _program_of_relu_grad():
    import chainrule as cr

    return cr.make_program(cr.grad(lambda x: np.sum(relu(x) * x)))(onp.array([-1.0, 2.0]))


def test_a_program_is_drawn_line_by_line_inputs_to_outputs():
    program = _program_of_relu_grad()
    dot = draw(program).dot()
    ops = re.findall(r'^  op(\d+) \[shape=ellipse.*label="([^"]*)"', dot, re.M)
    assert [name.split()[0] for _, name in ops] == [eq.name for eq in program.equations]
    edges = set(re.findall(r"^  (\w+) -> (\w+);", dot, re.M))
    for k, eq in enumerate(program.equations):  # each line: its variables in, its results out
        ins = {f"v{a.id}" for a in eq.args if hasattr(a, "id")}
        assert ins <= {a for a, b in edges if b == f"op{k}"}
        assert {f"v{v.id}" for v in eq.outs} == {b for a, b in edges if a == f"op{k}"}
        consts = [a for a in eq.args if isinstance(a, onp.ndarray | float | int)]
        assert len({a for a, b in edges if b == f"op{k}" and a.startswith("c")}) == len(consts)
    (inp,) = program.inputs
    (out,) = program.outputs
    assert re.search(rf'^  v{inp.id} .*#dbeafe.*label="{{ v{inp.id} \| float64\[2\] }}"', dot, re.M)
    assert re.search(rf"^  v{out.id} .*#fde68a", dot, re.M)  # the output, highlighted
    assert dot.count("#fde68a") == 1


def test_a_program_drawing_writes_svg_png_and_dot(tmp_path):
    d = draw(_program_of_relu_grad())
    root = ET.fromstring(d.svg())
    assert len(root.findall(f".//{SVG}ellipse")) == len(_program_of_relu_grad().equations)
    assert d.save(tmp_path / "p.png").read_bytes().startswith(b"\x89PNG")
    assert d.save(tmp_path / "p.dot").read_text().startswith('digraph "program"')


def test_a_program_without_lines_and_with_a_constant_output():
    import chainrule as cr

    program = cr.make_program(lambda x: (x, 3.0))(onp.ones(2))
    dot = draw(program).dot()
    assert "shape=ellipse" not in dot and "->" not in dot
    assert re.search(r'^  v0 .*#fde68a.*label="\{ v0 \| float64\[2\] \}"', dot, re.M)
    assert re.search(r'^  c0 .*#fde68a.*label="\{ constant \| 3.0 \}"', dot, re.M)


def test_a_program_takes_no_arguments():
    with pytest.raises(TypeError, match=r"draw\(program, \.\.\.\).*cr.make_program"):
        draw(_program_of_relu_grad(), 1.0)


def test_a_lines_settings_are_written_in_its_oval_not_drawn_as_constants():
    import chainrule as cr

    program = cr.make_program(lambda x: np.reshape(x, (3, 1)).astype(onp.float32).T)(onp.ones(3))
    dot = draw(program).dot()
    labels = re.findall(r'shape=ellipse.*label="([^"]*)"', dot)
    assert labels[0] == "reshape (3, 1)" and "float32" in labels[1], labels
    assert "constant" not in dot  # a shape, a dtype, None: settings, not data
