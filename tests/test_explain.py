"""explain: the chain rule written out with numbers equal to grad's, in text, Markdown, HTML."""

from __future__ import annotations

import numpy as onp
import pytest

import chainrule as cr
import chainrule.numpy as np
from chainrule import nn
from chainrule.learn import explanation
from chainrule.learn.explanation import Explanation, explain, format_value, name, trace_graph
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
    # d for total derivatives, ∂ for the local derivative of one operation
    assert "dL/dc = dL/dd · ∂d/∂c = (-18.0)(1.0) = -18.0" in lines
    assert "dL/da = dL/dc · ∂c/∂a = (-18.0)(-3.0) = 54.0" in lines
    # the trivial factor dL/dL = 1 is left out of the step that uses the output directly
    assert "dL/dd = ∂L/∂d = -18.0" in lines
    # b is used twice: the two contributions are summed.
    assert (
        "dL/db = dL/dc · ∂c/∂b + dL/dd · ∂d/∂b = (-18.0)(2.0) + (-18.0)(1.0)"
        " = -36.0 + (-18.0) = -54.0"
    ) in lines
    # backward lines come in reverse order of the forward pass
    assert text.index("dL/dd =") < text.index("dL/dc =") < text.index("dL/da =")
    assert text.index("Forward") < text.index("Backward (chain rule") < text.index("Gradients")
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
    assert "dL/dW = dL/da · ∂a/∂W = f64[3,4]" in text
    # tanh is elementwise: its local derivative 1 - tanh^2 is shown per entry
    local = 1 - onp.tanh(W @ x) ** 2
    assert f"[1.0, 1.0, 1.0] ⊙ {format_value(local)}" in text
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
    for leaf in ("params['W1']", "params['b1']", "params['W2']", "params['b2']", "x", "y"):
        assert f"\n  {leaf} = " in text
    assert "dL/d(params['W1']) = " in text
    assert "\n  c = relu(b) = [0.743548, 0.767051, 0.0, 0.484846, 0.0]\n" in text
    assert isinstance(e.grads[0], dict) and set(e.grads[0]) == set(params)
    assert_grads_equal(e, loss, params, x, y)
    onp.testing.assert_array_equal(e.value, loss(params, x, y))


def test_value_used_twice_in_one_operation():
    e = explain(lambda x: x * x, 3.0)
    assert "dL/dx = ∂L/∂x + ∂L/∂x = 3.0 + 3.0 = 6.0" in str(e).splitlines()[-4]
    assert e.graph.fun_name == "f"


def test_constants_inline_and_unused_input():
    e = explain(lambda x, y: 2.0 * x - 1.0, 3.0, 4.0)
    text = str(e)
    assert "a = 2.0 * x = 6.0" in text
    assert "L = a - 1.0 = 5.0" in text
    assert "dL/dy = 0.0   (L does not depend on y)" in text
    assert float(e.grads[1]) == 0.0


def test_markdown_latex_and_html_render_and_escape():
    e = explain(lambda p: np.sum(p["<w>"] * np.arange(1.0, 9.0)), {"<w>": onp.ones(8)})
    md = e.markdown()
    assert md == e._repr_markdown_()
    latex = e._repr_latex_()
    assert latex == e.latex() and md.endswith(latex)
    assert latex.startswith("$$\n\\begin{aligned}\n") and latex.endswith("\\end{aligned}\n$$")
    assert (
        "\\mathtt{p[\\text{'}\\lt w\\gt \\text{'}]}" in latex and "<" not in latex
    )  # a path in type; \frac for d, \partial for ∂
    assert "\\frac{d L}{d a}" in latex and "\\frac{\\partial L}{\\partial a}" in latex
    assert not hasattr(e, "_repr_html_")  # a notebook shows the LaTeX, not tables
    html = e.html()
    assert html.startswith('<div class="chainrule-explain">') and html.endswith("</div>")
    assert "&lt;w&gt;" in html and "<w>" not in html
    assert html.count("<table>") == 3


def test_latex_escapes_and_aligns_every_row():
    def loss(params):
        z = explanation.name(params["w_1"] * 2.0, "z#1")
        return np.tanh(z) / 3.0

    latex = explain(loss, {"w_1": 0.5}).latex()
    rows = latex.split("\n")[2:-2]
    assert all("&" in row for row in rows)
    assert "\\mathtt{params[\\text{'}w\\_1\\text{'}]}" in latex and "\\mathtt{z\\#1}" in latex
    assert "\\tanh(\\mathtt{z\\#1})" in latex and "\\frac{a}{3.0}" in latex


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


def test_argument_names_follow_pytree_paths_of_a_model():
    model = nn.MLP([2, 3, 2], rng=0, dtype=onp.float64)
    x = onp.array([[1.0, 2.0], [0.5, -1.0]])

    def loss(model, x):
        return nn.cross_entropy(model(x), onp.array([0, 1]))

    e = explain(loss, model, x)
    names = [s.name for s in e.forward[:5]]
    assert names == [
        "model.layers[0].weight",
        "model.layers[0].bias",
        "model.layers[1].weight",
        "model.layers[1].bias",
        "x",
    ]
    assert "dL/d(model.layers[0].weight) = dL/da · ∂a/∂(model.layers[0].weight) = " in str(e)
    assert_grads_equal(e, loss, model, x)


def test_fused_operations_read_as_their_mathematics():
    model = nn.MLP([2, 3, 2], rng=0, dtype=onp.float64)
    x = onp.array([[1.0, 2.0], [0.5, -1.0]])
    y = onp.array([0, 1])

    def loss(model, x):
        return nn.cross_entropy(model(x), y)

    e = explain(loss, model, x)
    exprs = [s.expression for s in e.forward[5:]]
    assert exprs[0] == "x @ model.layers[0].weight.T + model.layers[0].bias"
    assert exprs[1] == "relu(a)"
    assert exprs[2] == "b @ model.layers[1].weight.T + model.layers[1].bias"
    assert exprs[3] == "-log softmax(c)[range(2), [0, 1]]"
    # the formulas are the numbers: evaluate them independently
    W0, b0 = model.layers[0].weight, model.layers[0].bias
    onp.testing.assert_allclose(e.forward[5].value, x @ W0.T + b0, rtol=1e-15)
    z = e.forward[7].value
    log_p = z - onp.log(onp.exp(z).sum(axis=1, keepdims=True))
    onp.testing.assert_allclose(e.forward[8].value, -log_p[range(2), y], rtol=1e-14)
    # one sample, one label; and probabilities as the target
    single = explain(lambda z: nn.cross_entropy(z, onp.array(1)), onp.array([0.5, -0.5]))
    assert single.forward[1].expression == "-log softmax(z)[1]"
    soft = explain(lambda z: nn.cross_entropy(z, onp.array([0.25, 0.75])), onp.array([0.5, 2.0]))
    assert soft.forward[1].expression == "-sum([0.25, 0.75] * log_softmax(z), axis=-1)"


def test_name_gives_an_intermediate_value_the_learner_s_name():
    def loss(w, b):
        z = name(w * 2.0 + b, "z")
        h = name(np.tanh(z), "h")
        return name((h - 1.0) ** 2, "loss")

    e = explain(loss, 0.3, -0.1)
    text = str(e)
    assert "  z = a + b = 0.5" in text and "  h = tanh(z) = " in text
    assert "dloss/dz = dloss/dh · ∂h/∂z = " in text
    assert e.graph.output_name == "loss"
    assert_grads_equal(e, loss, 0.3, -0.1)
    # outside explain, and under grad, name does nothing and returns its argument
    onp.testing.assert_array_equal(loss(0.3, -0.1), e.value)
    onp.testing.assert_array_equal(cr.grad(loss)(0.3, -0.1), e.grads[0])
    x = onp.ones(2)
    assert name(x, "x") is x


def test_a_name_given_twice_is_made_unique_and_bad_labels_are_refused():
    def f(x):
        for _ in range(3):
            x = name(np.sin(x), "h")
        return x * 1.0

    names = [s.name for s in explain(f, 0.5).forward]
    assert names == ["x", "h", "h_2", "h_3", "L"]
    with pytest.raises(TypeError, match=r"name\(x, label\): the label must be a non-empty string"):
        name(1.0, "")


_MATHJAX_CHECK = """
const [main, file] = process.argv.slice(2);
require(main).init({loader: {load: ['input/tex']}}).then((MathJax) => {
  for (const tex of require(file)) {
    const mml = MathJax.tex2mml(tex, {display: true});
    // an error, an unknown command (red), or a command left as literal text
    const bad = mml.match(/merror.{0,80}|mathcolor="red".{0,80}|>[^<]*\\\\[^<]*</);
    if (bad) { console.log('BAD ' + bad[0]); }
  }
  console.log('done');
});
"""


def test_latex_is_read_by_mathjax_without_errors(tmp_path):
    import importlib.util
    import json
    import shutil
    import subprocess

    spec = importlib.util.find_spec("mathjax")
    node = shutil.which("node")
    if spec is None or spec.origin is None or node is None:
        pytest.skip("needs node and the mathjax package to typeset")
    from pathlib import Path

    main = Path(spec.origin).parent / "static" / "mathjax" / "es5" / "node-main.js"
    if not main.exists():
        pytest.skip("the mathjax package has no node entry point")
    model = nn.MLP([2, 3, 2], rng=0, dtype=onp.float64)
    x = onp.array([[1.0, 2.0], [0.5, -1.0]])
    odd = 'a b"c%$_^~{}#&<>\\'
    explanations = [
        explain(
            lambda model, x: nn.cross_entropy(name(model(x), "z_1"), onp.array([0, 1])), model, x
        ),
        explain(lambda d: np.tanh(d[odd]) / 3.0, {odd: 1.0}),
        explain(lambda z: nn.cross_entropy(z, onp.array([0.25, 0.75])), onp.array([0.5, 2.0])),
        explain(lambda W, v: np.sum(np.exp(W @ v).T[0:2]), onp.eye(3), onp.ones(3)),
    ]
    texts = [e.latex().strip("$\n") for e in explanations]
    (tmp_path / "tex.json").write_text(json.dumps(texts))
    (tmp_path / "check.js").write_text(_MATHJAX_CHECK)
    out = subprocess.run(
        [node, str(tmp_path / "check.js"), str(main), str(tmp_path / "tex.json")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.stdout.strip().endswith("done"), out.stdout + out.stderr
    assert "BAD" not in out.stdout, out.stdout
