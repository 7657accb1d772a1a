"""The probability part of the tour: what its stops print, checked against numbers worked out
here independently (closed forms, SciPy), and the pictures they draw."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
import scipy.stats

import tourcheck
from chainrule import stats
from chainrule.learn import tour

SLUGS = ["axioms", "bayes", "distributions", "clt", "expectation", "likelihood"]


def test_the_part_holds_its_stops_in_order() -> None:
    stops = [s for s in tour.STOPS if s.part == "probability"]
    assert [s.slug for s in stops] == SLUGS
    assert [s.number for s in stops] == list(range(stops[0].number, stops[0].number + len(SLUGS)))


def test_two_dice_conditioning_and_independence() -> None:
    text = tourcheck.printed("axioms")
    assert "P(sum 7 or first 3) = 0.3056" in text  # (6 + 6 - 1) / 36
    assert tourcheck.numbers(tourcheck.line(text, "P(sum 7 | first 3)")) == pytest.approx(
        [1 / 6, 1 / 6], abs=5e-5
    )
    assert tourcheck.numbers(tourcheck.line(text, "P(sum >= 10 | first 6)")) == pytest.approx(
        [0.5, 1 / 6], abs=5e-5
    )
    assert [ln.split()[-1] for ln in text.splitlines() if "P(A) P(B)?" in ln] == ["True", "False"]


def test_bayes_posterior_simulation_and_slope() -> None:
    text = tourcheck.printed("bayes")
    prior, sens, fpr = 0.01, 0.99, 0.05
    evidence = sens * prior + fpr * (1 - prior)
    assert tourcheck.numbers(tourcheck.line(text, "P(sick | positive)"))[0] == pytest.approx(
        sens * prior / evidence, abs=5e-5
    )
    once = sens * prior / evidence
    twice = sens * once / (sens * once + fpr * (1 - once))
    assert tourcheck.numbers(tourcheck.line(text, "after two positive tests"))[0] == pytest.approx(
        twice, abs=5e-5
    )
    positives, fraction, se = (
        float(n) for n in re.findall(r"\d+\.?\d*", tourcheck.line(text, "simulated"))[:3]
    )
    assert positives == pytest.approx(1e6 * evidence, abs=4 * math.sqrt(1e6 * evidence))
    assert abs(fraction - once) <= 4 * se
    slope = sens * fpr / evidence**2  # d/dπ of sπ / (sπ + f(1 - π))
    assert tourcheck.numbers(tourcheck.line(text, "d P(sick | positive)"))[-1] == pytest.approx(
        slope, abs=5e-3
    )


def test_distribution_table_matches_the_textbook_moments() -> None:
    text = tourcheck.printed("distributions")
    expected = {
        "Normal(2, 0.8)": (2.0, 0.64),
        "Uniform(0, 3)": (1.5, 9 / 12),
        "Exponential(1.5)": (1 / 1.5, 1 / 1.5**2),
        "Bernoulli(0.3)": (0.3, 0.21),
        "Binomial(10, 0.4)": (4.0, 2.4),
        "Poisson(3)": (3.0, 3.0),
    }
    for name, moments in expected.items():
        line = tourcheck.line(text, name + " ")
        assert tourcheck.numbers(line[len(name) :])[:2] == pytest.approx(moments, abs=5e-4)
        assert line.count("✓") == 3  # density or mass, moments, total probability


def test_clt_standard_deviation_of_the_mean_shrinks_like_root_n() -> None:
    text = tourcheck.printed("clt")
    rows = {
        int(ln.split()[0]): tourcheck.numbers(ln)
        for ln in text.splitlines()
        if ln[:3].strip().isdigit()
    }
    assert list(rows) == [1, 2, 10, 50]
    for n, (std, bound, _skew, skew_bound) in rows.items():
        assert bound == pytest.approx(1 / math.sqrt(n), abs=5e-5)
        assert skew_bound == pytest.approx(2 / math.sqrt(n), abs=5e-4)
        se = bound * math.sqrt((2 + 6 / n) / (4 * 20_000))
        assert abs(std - bound) <= 4 * se + 5e-5
    skews = [rows[n][2] for n in rows]
    assert skews == sorted(skews, reverse=True)  # the means lose their skew as n grows


def test_expectation_rules() -> None:
    text = tourcheck.printed("expectation")
    assert tourcheck.numbers(tourcheck.line(text, "die:")) == pytest.approx(
        [3.5, 35 / 12], abs=5e-5
    )
    assert tourcheck.numbers(tourcheck.line(text, "Var(2X + 5)"))[0] == pytest.approx(
        4 * 35 / 12, abs=5e-5
    )
    assert tourcheck.numbers(tourcheck.line(text, "d/da Var"))[-1] == pytest.approx(
        4 * 35 / 12, abs=5e-5
    )
    sampled, rule, se = tourcheck.numbers(tourcheck.line(text, "E[Z]"))
    assert rule == pytest.approx(3 * 3.5 - 2 * 0.5 + 1) and abs(sampled - rule) <= 4 * se
    sampled, rule, se = tourcheck.numbers(tourcheck.line(text, "Var(Z)"))
    assert rule == pytest.approx(9 * 35 / 12 + 4 * 0.25) and abs(sampled - rule) <= 4 * se


def test_maximum_likelihood_lands_on_the_sample_mean_and_biased_std() -> None:
    text = tourcheck.printed("likelihood")
    mu, sigma = tourcheck.numbers(tourcheck.line(text, "gradient ascent"))[:2]
    draws = stats.Normal(2.0, 1.5).sample(50, rng=0)  # the stop's data
    assert (mu, sigma) == pytest.approx((draws.mean(), draws.std()), abs=5e-6)
    assert (mu, sigma) == pytest.approx(scipy.stats.norm.fit(draws), abs=5e-6)
    hessian = tourcheck.numbers(tourcheck.line(text, "Hessian"))
    assert hessian == pytest.approx([-1 / sigma**2, 0, 0, -2 / sigma**2], abs=5e-4)


@pytest.mark.parametrize(
    ("slug", "picture", "title"),
    [
        ("bayes", "bayes-posterior.svg", "A positive test means more"),
        ("distributions", "distributions-densities.svg", "masses P(X = k)"),
        ("clt", "clt-means.svg", "means of n = 50"),
        ("likelihood", "likelihood-surface.svg", "Likelihood of N(μ, σ)"),
    ],
)
def test_the_pictures_are_drawn(slug: str, picture: str, title: str, tmp_path: Path) -> None:
    _, drawn = tour.output(tourcheck.stop(slug), tmp_path)
    assert [p.name for p in drawn] == [picture]
    svg = drawn[0].read_text(encoding="utf-8")
    assert svg.count("<path") > 10 and title in svg
