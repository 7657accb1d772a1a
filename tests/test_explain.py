"""explain: the chain rule written out with numbers equal to grad's, in text, Markdown, HTML."""

from __future__ import annotations

import numpy as onp
import pytest

import chainrule as cr
import chainrule.numpy as np
from chainrule.learn.explanation import Explanation, explain, format_value, trace_graph
from chainrule.nn.functional import relu


def f(a, b):
    return (a * b + b) ** 2


def assert_grads_equal(e: Explanation, fun, *args) -> None:
    expected = cr.grad(fun, argnums=tuple(range(len(args))))(*args)
    got = cr.tree.leaves(e.grads)
    want = cr.tree.leaves(expected)
    assert cr.tree.structure(e.grads) == cr.tree.structure(tuple(expected))
    for g, w in zip(got, want, strict=True):
        onp.testing.assert_array_equal(g, w)


def test_scalar_text_has_forward_and_chain_rule_lines():
    e = explain(f, 2.0, -3.0)
    text = str(e)
    lines = [line.strip() for line in text.splitlines()]
    assert "c = a * b = -6.0" in lines
    assert "d = c + b = -9.0" in lines
    assert "L = d ** 2 = 81.0" in lines
    assert "dL/dc = dL/dd * dd/dc = (-18.0)(1.0) = -18.0" in lines
    assert "dL/da = dL/dc * dc/da = (-18.0)(-3.0) = 54.0" in lines
    # b is used twice: the two contributions are summed.
    assert (
        "dL/db = dL/dc * dc/db + dL/dd * dd/db = (-18.0)(2.0) + (-18.0)(1.0)"
        " = -36.0 + (-18.0) = -54.0"
    ) in lines
    # backward lines come in reverse order of the forward pass
    assert text.index("dL/dd =") < text.index("dL/dc =") < text.index("dL/da =")
    assert text.index("Forward") < text.index("Backward (chain rule)") < text.index("Gradients")
    assert float(e.value) == 81.0
    assert_grads_equal(e, f, 2.0, -3.0)


def test_structured_steps():
    e = explain(f, 2.0, -3.0)
    assert [s.name for s in e.forward] == ["a", "b", "c", "d", "L"]
    assert [s.op for s in e.forward] == [None, None, "multiply", "add", "power"]
    assert [s.name for s in e.backward] == ["L", "d", "c", "b", "a"]
    assert all(s.kind == "forward" for s in e.steps[:5])
    assert all(s.kind == "backward" for s in e.steps[5:])
    b = e.backward[3]
    assert [t.via for t in b.terms] == ["c", "d"]
    assert [float(t.local) for t in b.terms] == [2.0, 1.0]
    assert [float(t.upstream) for t in b.terms] == [-18.0, -18.0]
    assert sum(float(t.contribution) for t in b.terms) == float(b.grad) == -54.0


def test_awkward_numbers_match_grad_exactly():
    def g(x, y, z):
        u = np.sin(x) * y
        v = u / z + np.exp(-x * z)
        return np.tanh(v) * u - np.log(z) * v

    args = (0.37, -1.91, 2.3)
    e = explain(g, *args)
    assert_grads_equal(e, g, *args)
    # the local derivative of sin(x) is cos(x), shown with 6 significant digits
    assert f"{onp.cos(0.37):.6g}" in str(e)


def test_names_skip_parameters_and_output_name_avoids_clash():
    def h(a, L):
        return a * L + a

    e = explain(h, 1.5, 2.0)
    names = [s.name for s in e.forward]
    assert names[:2] == ["a", "L"]
    assert "a" not in names[2:] and names[-1] == "loss"
    assert "dloss/da" in str(e)


def test_vector_and_matrix_are_summarised():
    W = onp.arange(12.0).reshape(3, 4) / 10
    x = onp.array([1.0, -1.0, 2.0, 0.5])

    def fn(W, x):
        return np.sum(np.tanh(W @ x))

    e = explain(fn, W, x)
    text = str(e)
    assert "W = f64[3,4] [0.0, 0.1, 0.2, ...] |x|=" in text
    assert "x = [1.0, -1.0, 2.0, 0.5]" in text
    assert "a = W @ x = [0.45, 1.45, 2.45]" in text
    assert "dL/dW = dL/da * da/dW = f64[3,4]" in text
    # tanh is elementwise: its local derivative 1 - tanh^2 is shown per entry
    local = 1 - onp.tanh(W @ x) ** 2
    assert format_value(local) in text
    assert_grads_equal(e, fn, W, x)


def test_two_layer_network_loss_with_dict_params():
    rng = onp.random.default_rng(0)
    params = {
        "W1": rng.normal(size=(5, 3)),
        "b1": rng.normal(size=5),
        "W2": rng.normal(size=(2, 5)),
        "b2": onp.zeros(2),
    }
    x = onp.array([0.5, -1.0, 2.0])
    y = onp.array([1.0, -1.0])

    def loss(params, x, y):
        z1 = params["W1"] @ x + params["b1"]
        h = relu(z1)
        z2 = params["W2"] @ h + params["b2"]
        return np.mean((z2 - y) ** 2)

    e = explain(loss, params, x, y)
    text = str(e)
    for name in ("params['W1']", "params['b1']", "params['W2']", "params['b2']", "x", "y"):
        assert f"\n  {name} = " in text
    assert "dL/d(params['W1']) = " in text
    assert "maximum(" in text
    assert isinstance(e.grads[0], dict) and set(e.grads[0]) == set(params)
    assert_grads_equal(e, loss, params, x, y)
    onp.testing.assert_array_equal(e.value, loss(params, x, y))


def test_value_used_twice_in_one_operation():
    e = explain(lambda x: x * x, 3.0)
    assert (
        "dL/dx = dL/dL * dL/dx + dL/dL * dL/dx = (1.0)(3.0) + (1.0)(3.0) = 3.0 + 3.0 = 6.0"
        in str(e)
    )
    assert e.graph.fun_name == "f"


def test_constants_inline_and_unused_input():
    e = explain(lambda x, y: 2.0 * x - 1.0, 3.0, 4.0)
    text = str(e)
    assert "a = 2.0 * x = 6.0" in text
    assert "L = a - 1.0 = 5.0" in text
    assert "dL/dy = 0.0   (L does not depend on y)" in text
    assert float(e.grads[1]) == 0.0


def test_markdown_and_html_render_and_escape():
    e = explain(lambda p: np.sum(p["<w>"] * np.arange(1.0, 9.0)), {"<w>": onp.ones(8)})
    md = e.markdown()
    assert md == e._repr_markdown_()
    assert "| value | = | result |" in md and "*Backward (chain rule)*" in md
    assert "\\|x\\|=" in md  # pipes of the norm escaped inside table cells
    html = e._repr_html_()
    assert html.startswith('<div class="chainrule-explain">') and html.endswith("</div>")
    assert "&lt;w&gt;" in html and "<w>" not in html
    assert html.count("<table>") == 3


def test_trace_graph_edges_and_values():
    g = trace_graph(f, 2.0, -3.0)
    assert [v.name for v in g.values] == ["a", "b", "c", "d", "L"]
    assert [op.name for op in g.ops] == ["multiply", "add", "power"]
    assert g.output == 4 and g.inputs == [0, 1]
    assert sorted((e.src, e.op) for e in g.edges) == [(0, 0), (1, 0), (1, 1), (2, 1), (3, 2)]
    assert [float(v.grad) for v in g.values] == [54.0, -54.0, -18.0, -18.0, 1.0]


def test_non_scalar_output_is_a_clear_error():
    with pytest.raises(TypeError, match=r"must return a scalar.*shape \(2,\).*\.sum\(\)"):
        explain(lambda x: x * 2.0, onp.array([1.0, 2.0]))


def test_integer_input_and_non_function_errors():
    with pytest.raises(TypeError, match=r"argument 0 \(`x`\).*Pass 2.0"):
        explain(lambda x: x * x, 2)
    with pytest.raises(TypeError, match="must be a function"):
        explain(3.0, 1.0)


def test_constant_output():
    e = explain(lambda x: 5.0, 1.0)
    assert "does not depend on the inputs" in str(e)
    assert float(e.grads[0]) == 0.0


def test_format_value():
    assert format_value(6.0) == "6.0"
    assert format_value(-2.5e-9) == "-2.5e-09"
    assert format_value(onp.float32(1) / 3) == "0.333333"
    assert format_value(onp.array([[1.0, 2.0], [3.0, 4.0]])) == "[[1.0, 2.0], [3.0, 4.0]]"
    big = onp.arange(7.0)
    assert format_value(big) == f"f64[7] [0.0, 1.0, 2.0, ...] |x|={onp.linalg.norm(big):.6g}"
