"""draw: the computation graph as DOT, SVG and PNG, laid out without Graphviz."""

from __future__ import annotations

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
    # data flows left to right: every edge ends to the right of where it starts
    for path in edges:
        nums = [float(v) for v in re.findall(r"-?\d+\.\d+", path.get("d"))]
        assert nums[-2] > nums[0]


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
        assert nodes[a].right < nodes[b].left
    # no two nodes overlap
    boxes = list(nodes.values())
    for i, p in enumerate(boxes):
        for q in boxes[i + 1 :]:
            assert p.layer != q.layer or abs(p.y - q.y) >= 30.0


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
