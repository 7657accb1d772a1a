"""The tour's floating-point, regression, attention and reading stops: what they print."""

from __future__ import annotations

import re
from pathlib import Path

import numpy
import pytest

import tourcheck
from chainrule.learn import tour

SLUGS = {
    "floating_point": ["float-bits", "overflow", "stable-softmax", "loss-scaling"],
    "regression": ["least-squares", "ridge-lasso", "lasso-path"],
    "attention": ["attention", "attention-scaling"],
    "reading": ["reading"],
}


def _data() -> tuple[numpy.ndarray, numpy.ndarray]:
    """The data of the ridge-lasso and lasso-path stops, made as they make them."""
    rng = numpy.random.default_rng(1)
    X = rng.normal(size=(50, 5))
    X[:, 3] += 0.8 * X[:, 0]
    y = X @ numpy.array([3.0, -2.0, 0.0, 0.0, 1.5]) + 4.0 + rng.normal(scale=1.0, size=50)
    return X, y


def _rows(text: str, columns: int) -> list[list[float]]:
    """The lines of `text` made of `columns` numbers (a printed table's rows)."""
    number = r"-?[\d.]+(?:e[-+]?\d+)?"
    return [
        [float(c) for c in line.split()[:columns]]
        for line in text.splitlines()
        if re.fullmatch(rf"\s*{number}(\s+{number}){{{columns - 1}}}(\s+[✓✗])*", line)
    ]


def test_the_stops_are_in_their_parts_in_order() -> None:
    for part, slugs in SLUGS.items():
        assert [s.slug for s in tour.STOPS if s.part == part] == slugs


def test_the_bits_of_float16_bfloat16_and_float32() -> None:
    text = tourcheck.printed("float-bits")
    assert "float16: 1 sign + 5 exponent + 10 mantissa bits, bias 15" in text
    assert "bfloat16: 1 sign + 8 exponent + 7 mantissa bits, bias 127" in text
    assert "float32: 1 sign + 8 exponent + 23 mantissa bits, bias 127" in text
    assert "0.1  = 0 01011 1001100110 = 2^-4 × 1.59960938 = 0.0999755859 ✓" in text
    assert "0.1  = 0 01111011 1001101 = 2^-4 × 1.60156250 = 0.100097656 ✓" in text
    assert "3.14 = 0 10000000 10010001111010111000011 = 2^1 × 1.57000005 = 3.1400001 ✓" in text
    assert "eps = 2^-10 = 0.0009766, max 65504, smallest normal 6.104e-05" in text
    assert text.count("as finfo says ✓, as the layout says ✓") == 3
    assert text.count("<= eps/2 ✓") == 6


def test_exp_100_overflows_in_float16_and_float32_only() -> None:
    text = tourcheck.printed("overflow")
    assert re.search(r"float16: exp\(100\) = inf .* above x = 11\.09\)  ✓", text)
    assert re.search(r"float32: exp\(100\) = inf .* above x = 88\.72\)  ✓", text)
    assert re.search(r"float64: exp\(100\) = 2\.688e\+43 .* above x = 709\.78\)  ✓", text)
    assert text.count("finite: [True, False]  ✓") == 3
    assert "float16 exp(-20) = 0.0" in text


def test_naive_softmax_fails_where_the_stable_one_agrees_with_scipy() -> None:
    text = tourcheck.printed("stable-softmax")
    assert text.count("naive  [ 0.  0. nan]  finite: False ✓") == 2
    assert "naive  [0.09   0.2447 0.6652]  finite: True ✓" in text
    assert text.count("= SciPy's in float64 ✓") == 3
    assert "stable [0. 0. 1.]" in text
    assert "naive [0.0, -inf], stable [0.0, -200.0]  ✓" in text


def test_loss_scaling_rescues_the_underflowing_gradients() -> None:
    text = tourcheck.printed("loss-scaling")
    assert re.search(r"scale 2\^0 : finite True, [2-4] of 8 are 0", text)
    assert "scale 2^14: finite True, 0 of 8 are 0" in text
    assert "scale 2^16: finite False" in text
    rows = _rows(text, 4)
    assert [int(r[0]) for r in rows] == list(range(8))
    exact, plain, scaled = (numpy.array([r[i] for r in rows]) for i in (1, 2, 3))
    # below half float16's smallest subnormal (2^-25) a result is 0 however it is summed; above
    # n 2^-25 (16 terms, each off by at most 2^-25) it cannot be
    assert numpy.all(plain[abs(exact) < 2.0**-25] == 0)
    assert numpy.all(plain[abs(exact) > 16 * 2.0**-25] != 0)
    assert list(abs(exact) < 2.0**-25).count(True) == 2
    assert numpy.all(exact[6:] != 0)
    # scaled: every gradient within float16's rounding (printed to 4 digits)
    assert scaled == pytest.approx(exact, rel=3e-3)
    assert abs(plain[5] - exact[5]) > 0.3 * abs(exact[5])  # 4.4e-8: 0 or 6e-8 in float16


def test_least_squares_is_a_projection() -> None:
    text = tourcheck.printed("least-squares")
    w = [float(v) for v in re.search(r"w = \[(\S+), (\S+)\]", text).groups()]  # type: ignore[union-attr]
    assert 0.5 < w[1] < 1.1 and 0.5 < w[0] < 1.5  # the data are 1 + 0.8 x + noise
    assert "Xᵀr = [0.0, 0.0]: r is orthogonal to the columns ✓" in text
    assert "trace H = 2.000000 = 2 columns ✓" in text
    y2, f2, r2 = (float(v) for v in re.search(r"= (\S+) = .* = (\S+) \+ (\S+) ✓", text).groups())  # type: ignore[union-attr]
    assert y2 == pytest.approx(f2 + r2, abs=2e-4)
    assert text.count("✓") == 8


def test_ridge_and_lasso_agree_with_scikit_learn() -> None:
    linear_model = pytest.importorskip("sklearn.linear_model")
    text = tourcheck.printed("ridge-lasso")
    rows = _rows(text, 5)
    ridge, lasso = numpy.array([r[3] for r in rows]), numpy.array([r[4] for r in rows])
    X, y = _data()
    assert ridge == pytest.approx(linear_model.Ridge(alpha=20.0).fit(X, y).coef_, abs=1e-4)
    sk_lasso = linear_model.Lasso(alpha=0.3, tol=1e-12, max_iter=100_000).fit(X, y).coef_
    assert lasso == pytest.approx(sk_lasso, abs=1e-4)
    assert list(lasso == 0) == [False, False, True, True, False]  # the useless features
    ols = numpy.array([r[2] for r in rows])
    assert numpy.linalg.norm(ridge) < numpy.linalg.norm(ols) and ridge[3] > ols[3]  # as told
    assert "exact zeros: ridge 0, lasso 2" in text
    assert text.count("✓") == 4


def test_the_lasso_path_enters_features_in_scikit_learns_order() -> None:
    linear_model = pytest.importorskip("sklearn.linear_model")
    text = tourcheck.printed("lasso-path")
    X, y = _data()
    Xc, yc = X - X.mean(axis=0), y - y.mean()
    alpha_max = numpy.max(abs(Xc.T @ yc)) / len(y)
    assert f"α_max = max |xⱼᵀy| / n = {alpha_max:.4f}, reached by feature 3" in text
    alphas = alpha_max * numpy.logspace(0, -3, 40)
    _, coefs, _ = linear_model.lasso_path(Xc, yc, alphas=alphas, tol=1e-10, max_iter=100_000)
    enters = [alphas[numpy.flatnonzero(abs(c) > 1e-10)[0]] for c in coefs]
    order = numpy.argsort(enters, kind="stable")[::-1].tolist()
    assert f"features enter in the order {order}" in text
    assert "at 0.95 α_max only feature 3: [0.0, 0.0, 0.0, 0.079, 0.0] ✓" in text


def test_attention_step_by_step_agrees_with_torch() -> None:
    torch = pytest.importorskip("torch")
    text = tourcheck.printed("attention")
    q = torch.tensor([[1.0, 0.0, 1.0, 0.0], [0.0, 2.0, 0.0, 1.0]], dtype=torch.float64)
    k = torch.tensor([[1.0, 1.0, 0.0, 0.0], [0.0, 1.0, 1.0, 0.0], [1.0, 0.0, 0.0, 1.0]])
    v = torch.tensor([[1.0, 0.0], [0.0, 1.0], [2.0, 3.0]], dtype=torch.float64)
    out = torch.nn.functional.scaled_dot_product_attention(q, k.double(), v)
    printed = re.search(r"output  weights V = (\[\[.*\]\])", text).group(1)  # type: ignore[union-attr]
    assert numpy.array(_nested(printed)) == pytest.approx(out.numpy(), abs=1e-4)
    assert "weights softmax = [[0.3333, 0.3333, 0.3333], [0.3837, 0.3837, 0.2327]]" in text
    assert "d(sum of outputs)/dV = [[0.717, 0.717], [0.717, 0.717], [0.566, 0.566]]" in text
    assert text.count("✓") == 7


def _nested(text: str) -> list[list[float]]:
    """A printed ``[[a, b], [c, d]]`` as lists of floats (without eval)."""
    return [[float(x) for x in row.split(",")] for row in re.findall(r"\[([^\[\]]+)\]", text)]


def test_scaling_by_root_d_keeps_the_softmax_from_saturating() -> None:
    text = tourcheck.printed("attention-scaling")
    # rows "d_k var(q·k) std-err ✓ var(q·k/√d_k)"
    rows = re.findall(r"^\s*(\d+)\s+([\d.]+)\s+([\d.]+) ✓\s+([\d.]+)$", text, re.M)
    assert [int(r[0]) for r in rows] == [4, 16, 64, 256, 1024]
    for d, var, err, scaled in (map(float, r) for r in rows):
        assert abs(var - d) <= 4 * err and abs(scaled - 1.0) <= 4 * err / d
    table = _rows(text, 5)
    assert [int(r[0]) for r in table] == [4, 16, 64, 256, 1024]
    raw_max, scaled_max = [r[1] for r in table], [r[2] for r in table]
    raw_norm, scaled_norm = [r[3] for r in table], [r[4] for r in table]
    assert raw_max == sorted(raw_max) and raw_max[-1] > 0.9  # saturating without the scaling
    assert raw_norm == sorted(raw_norm, reverse=True) and raw_norm[-1] < 0.3 * scaled_norm[-1]
    assert max(scaled_max) - min(scaled_max) < 0.05  # with it, the same for every d_k
    assert max(scaled_norm) - min(scaled_norm) < 0.03
    assert text.count("J = diag(p) - p pᵀ ✓") == 2


def test_further_reading_covers_every_part() -> None:
    text = " ".join(tourcheck.printed("reading").split())
    for title in (
        "Mathematics for Machine Learning, Deisenroth, Faisal & Ong",
        "Deep Learning, Goodfellow, Bengio & Courville",
        "Essence of Linear Algebra",
        "Essence of Calculus",
        "CS229",
        "CS231n",
        "Elements of Information Theory, Cover & Thomas",
        "What Every Computer Scientist Should Know About Floating-Point Arithmetic",
        "Attention Is All You Need",
    ):
        assert title in text
    continued = " ".join(re.findall(r"Continues: ([^.]*)\.", text))
    for key, title in tour.PARTS.items():
        assert (title in continued) == (key != "reading")
    assert "9 entries; parts with nothing to read next: [] ✓" in text


def test_the_pictures(tmp_path: Path) -> None:
    names = {
        "loss-scaling": ["loss-scaling-gradients.svg"],
        "least-squares": ["least-squares-fit.svg"],
        "lasso-path": ["lasso-path.svg"],
        "attention": ["attention-weights.svg"],
        "attention-scaling": ["attention-scaling.svg"],
    }
    for slug, expected in names.items():
        found = tour.find(slug)
        assert found is not None
        _, drawn = tour.output(found, tmp_path)
        assert [p.name for p in drawn] == expected
        assert "<svg" in drawn[0].read_text(encoding="utf-8")
