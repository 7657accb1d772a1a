"""Facts of the calculus stops' output beyond their ✓ marks: the rules, integrals, convexity."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

import tourcheck
from chainrule.learn import tour


def test_the_rules_come_after_partials_and_convexity_after_curvature() -> None:
    slugs = [s.slug for s in tour.STOPS if s.part == "calculus"]
    assert slugs[2:5] == ["partials", "rules", "integrals"]
    assert slugs[-3:] == ["curvature", "convexity", "training"]


def test_each_rule_agrees_with_chainrule_and_the_product_grows_by_strips(tmp_path: Path) -> None:
    text, drawn = tourcheck.run("rules", tmp_path)
    x = 0.8
    by_hand = {  # the derivatives, written out in full
        "sum": 2 * x + math.cos(x),
        "product": 2 * x * math.sin(x) + x**2 * math.cos(x),
        "quotient": (2 * x * math.sin(x) - x**2 * math.cos(x)) / math.sin(x) ** 2,
    }
    for name, value in by_hand.items():
        (line,) = [ln for ln in text.splitlines() if ln.startswith(name + " ")]
        got = [float(v) for v in line.split()[-3:-1]]
        assert got == pytest.approx([value, value], abs=1e-6) and line.endswith("✓")
    chains = [ln for ln in text.splitlines() if ln.startswith("chain ")]
    assert len(chains) == 2 and all(ln.endswith("✓") for ln in chains)
    assert f"{2 * math.sin(x) * math.cos(x):.6f}" in chains[0]  # (sin x)² -> 2 sin x cos x
    assert f"{math.cos(x**2) * 2 * x:.6f}" in chains[1]  # sin(x²) -> cos(x²) 2x
    growth = 1.0 * math.sin(1.0) - x**2 * math.sin(x)
    assert f"u v grows by {growth:.6f}" in text
    corner = (1.0 - x**2) * (math.sin(1.0) - math.sin(x))
    assert f"corner du dv {corner:.6f}  ✓" in text
    assert [p.name for p in drawn] == ["rules-product-area.svg"]


def _riemann_rows(text: str) -> dict[int, list[float]]:
    rows = {}
    for line in text.splitlines():
        cols = line.split()
        if len(cols) == 6 and cols[0].isdigit() and cols[-1] == "✓":
            rows[int(cols[0])] = [float(c) for c in cols[1:5]]
    return rows


def test_riemann_sums_converge_at_their_rates_and_quad_is_exact(tmp_path: Path) -> None:
    text, drawn = tourcheck.run("integrals", tmp_path)
    area = math.e - 1
    rows = _riemann_rows(text)
    assert sorted(rows) == [4, 16, 64, 256, 1024]
    # left sum: error -(e - 1)/2n + O(1/n²); midpoint: -(e - 1)/24n² + O(1/n⁴)
    assert 1024 * (rows[1024][0] - area) == pytest.approx(-area / 2, rel=2e-3)
    assert 64**2 * (rows[64][2] - area) == pytest.approx(-area / 24, rel=2e-3)
    assert all(abs(rows[n][2] - area) < abs(rows[n][0] - area) for n in rows)
    assert "quad: 1.7182818285" in text
    for x in (0.5, 1.0, 2.0):  # the fundamental theorem: F' = f, with F = (√π / 2) erf
        F, f = math.sqrt(math.pi) / 2 * math.erf(x), math.exp(-(x**2))
        assert f"x = {x}: F = {F:.8f}, F' = {f:.8f} = f(x), F'' = {-2 * x * f:.8f}  ✓" in text
    root = math.sqrt(2 * math.pi)
    assert f"Z(1.5) = {1.5 * root:.8f}" in text and f"dZ/dsigma = {root:.8f}" in text
    assert [p.name for p in drawn] == ["integrals-area.svg"]


def test_convexity_separates_the_bowl_from_g_and_descent_finds_both_minima(
    tmp_path: Path,
) -> None:
    text, drawn = tourcheck.run("convexity", tmp_path)
    assert "bowl: 0 of 2200 chords dip below the graph" in text
    found = re.search(r"g: (\d+) of 2200 chords dip below", text)
    assert found is not None and 0 < int(found.group(1)) < 2200
    ends = re.findall(r"ends at \[(\S+), (\S+)\], g = (\S+), the (global|local) minimum  ✓", text)
    assert [kind for *_, kind in ends] == ["global"] * 3 + ["local"] * 2
    for x, y, value, _ in ends:  # each end is a zero of dg/dx = 4x³ - 6x + 1, with y = 0
        x_end = float(x)
        assert abs(4 * x_end**3 - 6 * x_end + 1) < 1e-3 and float(y) == 0.0
        assert float(value) == pytest.approx(x_end**4 - 3 * x_end**2 + x_end, abs=1e-4)
    assert float(ends[0][2]) < float(ends[-1][2])  # the global minimum is the lower one
    assert "bowl at [1.5, -0.5]: eigenvalues [1.0, 3.0] PSD  ✓" in text
    assert "g at [0.0, 0.0]: eigenvalues [-6.0, 2.0] not PSD  ✓" in text
    assert [p.name for p in drawn] == ["convexity-surfaces.svg"]
