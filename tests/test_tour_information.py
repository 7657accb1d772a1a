"""The information-theory part of the tour: what its stops print, checked against numbers
worked out here independently (closed forms with NumPy, SciPy), and the pictures they draw."""

from __future__ import annotations

import math
from pathlib import Path

import numpy
import pytest
import scipy.special
import scipy.stats

import tourcheck
from chainrule.learn import tour

SLUGS = ["entropy", "cross-entropy", "kl", "mutual-information"]


def test_the_part_holds_its_stops_in_order() -> None:
    stops = [s for s in tour.STOPS if s.part == "information"]
    assert [s.slug for s in stops] == SLUGS
    assert [s.number for s in stops] == list(range(stops[0].number, stops[0].number + len(SLUGS)))
    probability = [s.number for s in tour.STOPS if s.part == "probability"]
    assert not probability or max(probability) < stops[0].number


def test_coin_entropy_in_bits_and_nats() -> None:
    text = tourcheck.printed("entropy")
    rows = [tourcheck.numbers(ln) for ln in text.splitlines() if ln.startswith("coin")]
    assert [r[0] for r in rows] == [0.5, 0.9, 0.99, 1.0]
    for p, bits, nats in rows:
        expected = scipy.stats.entropy([p, 1 - p], base=2)
        assert bits == pytest.approx(expected, abs=5e-5)
        assert nats == pytest.approx(expected * math.log(2), abs=5e-5)  # 1 bit = ln 2 nats
    assert tourcheck.numbers(tourcheck.line(text, "a fair die"))[0] == pytest.approx(
        math.log2(6), abs=5e-5
    )
    assert tourcheck.numbers(tourcheck.line(text, "dH/dp at p = 0.2"))[1] == pytest.approx(
        2.0, abs=5e-5
    )


def test_cross_entropy_is_the_classification_loss() -> None:
    text = tourcheck.printed("cross-entropy")
    p, q = numpy.array([0.7, 0.2, 0.1]), numpy.array([0.5, 0.3, 0.2])
    h_pq, h_p = tourcheck.numbers(tourcheck.line(text, "H(p, q)"))
    assert (h_pq, h_p) == pytest.approx((-(p @ numpy.log(q)), scipy.stats.entropy(p)), abs=5e-5)
    logits = numpy.array([2.0, 1.0, -1.0])
    probs = scipy.special.softmax(logits)
    numbers = tourcheck.numbers(tourcheck.line(text, "softmax(logits)"))
    assert numbers == pytest.approx([*probs, -math.log(probs[0])], abs=5e-5)
    gradient = tourcheck.numbers(tourcheck.line(text, "gradient in the logits"))
    assert gradient == pytest.approx(probs - [1.0, 0.0, 0.0], abs=5e-5)
    soft = numpy.array([0.8, 0.1, 0.1])
    assert tourcheck.numbers(tourcheck.line(text, "soft target"))[-1] == pytest.approx(
        -(soft @ numpy.log(probs)), abs=5e-5
    )


def test_kl_is_asymmetric_and_its_fits_cover_or_pick_a_mode() -> None:
    text = tourcheck.printed("kl")
    p, q = numpy.array([0.45, 0.05, 0.05, 0.45]), numpy.array([0.1, 0.4, 0.4, 0.1])
    forward = tourcheck.numbers(tourcheck.line(text, "KL(p || q) ="))[0]
    backward = tourcheck.numbers(tourcheck.line(text, "KL(q || p) ="))[0]
    assert forward == pytest.approx(float(p @ numpy.log(p / q)), abs=5e-5)
    assert backward == pytest.approx(float(q @ numpy.log(q / p)), abs=5e-5)
    assert abs(forward - backward) > 0.1
    z = numpy.array([0.5, 1.0, -0.5, 0.0])
    gradient = tourcheck.numbers(tourcheck.line(text, "gradient of KL"))
    assert gradient == pytest.approx(scipy.special.softmax(z) - p, abs=5e-5)
    closed, integral = tourcheck.numbers(tourcheck.line(text, "KL(N(1, 0.5²) || N(0, 1))"))[-2:]
    assert closed == integral == pytest.approx(math.log(2) + 0.125, abs=5e-7)  # log 2 + 1.25/2 - ½
    # p is two humps N(±2, 0.5²), equally weighted: mean 0, variance 4 + 0.25.
    assert tourcheck.numbers(tourcheck.line(text, "p: mean and std")) == pytest.approx(
        [0.0, math.sqrt(4.25)], abs=5e-4
    )
    covering = tourcheck.numbers(tourcheck.line(text, "q minimising KL(p || q)"))
    assert covering[1:] == pytest.approx([0.0, math.sqrt(4.25)], abs=5e-4)
    picking = tourcheck.numbers(tourcheck.line(text, "q minimising KL(q || p)"))
    assert picking[0] == pytest.approx(math.log(2), abs=1e-3)  # q misses half of p
    assert picking[1:] == pytest.approx([2.0, 0.5], abs=1e-3)  # one hump


def test_mutual_information_of_the_weather_and_the_umbrella() -> None:
    text = tourcheck.printed("mutual-information")
    joint = numpy.array([[0.40, 0.05], [0.15, 0.15], [0.02, 0.23]])
    h_x = scipy.stats.entropy(joint.sum(axis=1), base=2)
    h_y = scipy.stats.entropy(joint.sum(axis=0), base=2)
    h_xy = scipy.stats.entropy(joint.ravel(), base=2)
    assert tourcheck.numbers(tourcheck.line(text, "H(weather)")) == pytest.approx(
        [h_x, h_y, h_xy], abs=5e-5
    )
    outer = numpy.outer(joint.sum(axis=1), joint.sum(axis=0))
    mi = float(numpy.sum(joint * numpy.log2(joint / outer)))  # the definition, by NumPy
    assert tourcheck.numbers(tourcheck.line(text, "I(weather; umbrella)"))[0] == pytest.approx(
        mi, abs=5e-5
    )
    assert abs(tourcheck.numbers(tourcheck.line(text, "independent table"))[0]) < 1e-12
    assert tourcheck.numbers(tourcheck.line(text, "Y a copy of X"))[0] == pytest.approx(
        h_x, abs=5e-5
    )


@pytest.mark.parametrize(
    ("slug", "picture", "title"),
    [("entropy", "entropy-coin.svg", "The entropy of a coin"), ("kl", "kl-fits.svg", "Covering")],
)
def test_the_pictures_are_drawn(slug: str, picture: str, title: str, tmp_path: Path) -> None:
    _, drawn = tour.output(tourcheck.stop(slug), tmp_path)
    assert [p.name for p in drawn] == [picture]
    svg = drawn[0].read_text(encoding="utf-8")
    assert svg.count("<path") > 5 and title in svg
