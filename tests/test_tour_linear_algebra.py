"""The linear algebra part of the tour: what each stop prints, checked against independent
values computed here, and the pictures it draws."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy
import pytest

import tourcheck
from chainrule.learn import tour

SLUGS = [
    "vectors", "norms", "linear-maps", "rank-inverse", "eigenvectors", "svd", "pca",
    "linear-layers",
]  # fmt: skip


def test_the_stops_are_the_linear_algebra_part_in_order() -> None:
    stops = [s for s in tour.STOPS if s.part == "linear_algebra"]
    assert [s.slug for s in stops] == SLUGS
    assert [s.number for s in stops] == list(range(stops[0].number, stops[0].number + len(SLUGS)))


@pytest.mark.parametrize("slug", SLUGS)
def test_each_stop_draws_its_pictures_and_prints_little(slug: str, tmp_path: Path) -> None:
    found = tour.find(slug)
    assert found is not None
    printed, pictures = tour.output(found, tmp_path)
    assert pictures and all(p.suffix == ".svg" and p.stat().st_size > 1000 for p in pictures)
    assert all(p.stem.startswith(slug.split("-")[0]) for p in pictures)
    assert len(printed.splitlines()) < 40 and "✗" not in printed


def test_vectors_angle_and_similar_embeddings() -> None:
    text = tourcheck.printed("vectors")
    assert "a · b = 5.0  ✓" in text
    assert "the angle between the arrows: 45.0°, whose cosine is 0.7071  ✓" in text
    rows = {
        line.split()[0]: [float(v) for v in line.split()[1:]]
        for line in text.splitlines()
        if line.split()[:1] in (["cat"], ["dog"], ["car"], ["truck"])
    }
    table = numpy.array([rows[w] for w in ("cat", "dog", "car", "truck")])
    E = numpy.array(
        [[0.9, 0.8, 0.1, 0.0], [0.8, 0.9, 0.2, 0.1], [0.1, 0.0, 0.9, 0.8], [0.0, 0.2, 0.8, 0.9]]
    )
    unit = E / numpy.linalg.norm(E, axis=1, keepdims=True)
    assert table == pytest.approx(unit @ unit.T, abs=5e-4)  # printed to 3 decimals
    assert rows["cat"][1] > 0.98 > 0.2 > rows["cat"][2]  # cat is near dog, far from car
    assert f"10 × cat against dog: {rows['cat'][1]:.3f}  ✓" in text


def test_norms_of_three_minus_four_and_their_gradients() -> None:
    text = tourcheck.printed("norms")
    lines = {line.split()[0]: line for line in text.splitlines() if "norm of" in line}
    for name, size, gradient in [
        ("L1", 7, [1.0, -1.0]), ("L2", 5, [0.6, -0.8]), ("L-inf", 4, [0.0, -1.0])
    ]:  # fmt: skip
        assert f": {size}.0000  ✓   gradient {gradient}  ✓" in lines[name]
    assert "L-inf <= L2 <= L1 <= √2 L2 for all 1000: ✓" in text


def test_the_determinant_is_the_area_of_the_image() -> None:
    text = tourcheck.printed("linear-maps")
    assert "det A = 2.5000; area of the image of the unit square: 2.5000  ✓" in text
    assert "the disc's area is multiplied by 2.5000  ✓" in text
    assert "a mirror: det = -1.0, signed area -1.0  ✓" in text
    assert "det(A B) = 5.0000 = det A · det B  ✓" in text


def test_a_flattening_map_has_rank_one_and_no_inverse() -> None:
    text = tourcheck.printed("rank-inverse")
    assert "B = [[1.0, 2.0], [0.5, 1.0]]: rank 1, det 0.0000  ✓" in text
    assert "np.linalg.inv(B) refuses: Singular matrix" in text
    inverse = numpy.linalg.inv([[2.0, 1.0], [0.5, 1.5]])
    assert f"A⁻¹ = {numpy.round(inverse, 4).tolist()}  ✓" in text
    assert f"solve(A, [1.0, 2.0]) = {numpy.round(inverse @ [1.0, 2.0], 4).tolist()}" in text
    assert "rank 2  ✓" in text


def test_eigenvalues_and_power_iteration_converge_like_a_third_to_the_k() -> None:
    text = tourcheck.printed("eigenvectors")
    assert "λ = 3.0000" in text and "λ = 1.0000" in text
    angles = [float(a) for a in re.findall(r"angle +(\d+\.\d+)°", text)]
    assert angles == pytest.approx([math.degrees(math.atan(3.0**-k)) for k in range(6)], abs=1e-4)


def test_svd_factors_and_eckart_young_table() -> None:
    text = tourcheck.printed("svd")
    sigma = numpy.linalg.svd(numpy.array([[2.0, 1.0], [0.5, 1.5]]), compute_uv=False)
    assert f"σ = {numpy.round(sigma, 4).tolist()}; U Σ Vᵀ = A  ✓" in text
    assert "σ₁ σ₂ = 2.5000 = |det A|  ✓" in text
    rows = [
        tourcheck.numbers(line) for line in text.splitlines() if re.match(r" +\d+ +\d+\.\d+ ", line)
    ]
    assert [int(line.split()[0]) for line in text.splitlines() if re.match(r" +\d+ +\d", line)] == [
        1, 2, 5, 10, 20, 30
    ]  # fmt: skip
    errors = [row[0] for row in rows]
    assert errors == sorted(errors, reverse=True) and errors[-1] < 0.1 * errors[0]
    assert all(error == pytest.approx(dropped, abs=1e-4) for error, dropped, _ in rows)
    assert all(random > 1.5 * error for error, _, random in rows)  # far from optimal


def test_pca_estimates_lie_within_standard_errors() -> None:
    text = tourcheck.printed("pca")
    scores = [float(z) for z in re.findall(r"([-+]\d+\.\d+) standard errors", text)]
    assert len(scores) == 3 and all(abs(z) < 3 for z in scores)
    variances = tourcheck.numbers(text.split("variances along them: ")[1].split("\n")[0])
    assert variances[0] > 8 > 2 > variances[1] > 0.5
    lost = float(re.findall(r"squared distances lost: (\d+\.\d+)", text)[0])
    assert lost == pytest.approx(299 * variances[1], rel=1e-3)


def test_linear_layers_have_one_jacobian_and_tanh_changes_it() -> None:
    text = tourcheck.printed("linear-layers")
    jacobians = re.findall(r"Jacobian at x = \[.*?\]: (.*)  = W3 W2 W1 ✓", text)
    assert len(jacobians) == 2 and jacobians[0] == jacobians[1]
    assert "rank of W: 2" in text
    differs = float(re.findall(r"differs by up to (\d+\.\d+)", text)[0])
    assert differs > 0.01
    assert "W1  ✓   = central differences  ✓" in text


def test_picture_names_are_unique_across_the_tour() -> None:
    names = [n for s in tour.STOPS for n in re.findall(r'figure\(fig, "([^"]+)"\)', s.source)]
    mine = [
        n for s in tour.STOPS if s.slug in SLUGS for n in re.findall(r'figure\(fig, "', s.source)
    ]
    assert len(mine) >= len(SLUGS) and len(names) == len(set(names))
