"""chainrule._validate: one checker per kind of value, one wording per kind of error."""

from __future__ import annotations

import re
from typing import Any

import ml_dtypes
import numpy
import pytest

import chainrule as cr
from chainrule import _validate as v


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: v.count(2.0, "n", "f"), TypeError, "f: n must be an int, got 2.0."),
        (lambda: v.count(True, "n", "f"), TypeError, "f: n must be an int, got True."),
        (
            lambda: v.count(numpy.True_, "n", "f"),
            TypeError,
            f"f: n must be an int, got {numpy.True_!r}.",
        ),
        (lambda: v.count("3", "n", "f"), TypeError, "f: n must be an int, got '3'."),
        (
            lambda: v.count(numpy.ones(1, int), "n", "f"),
            TypeError,
            "f: n must be an int, got array([1]).",
        ),
        (lambda: v.count(0, "n", "f"), ValueError, "f: n must be at least 1, got 0."),
        (
            lambda: v.count(4, "k", "f", maximum=3, why="the rank"),
            ValueError,
            "f: k must be between 1 and 3 (the rank), got 4.",
        ),
        (lambda: v.number("1", "lr", "f"), TypeError, "f: lr must be a real number, got '1'."),
        (
            lambda: v.number(float("nan"), "lr", "f"),
            ValueError,
            "f: lr must be a finite number, got nan.",
        ),
        (
            lambda: v.number(0.0, "lr", "f", minimum=0.0, exclusive=True),
            ValueError,
            "f: lr must be a finite number > 0, got 0.0.",
        ),
        (
            lambda: v.number(1.0, "p", "f", minimum=0.0, maximum=1.0, exclusive=True),
            ValueError,
            "f: p must be a finite number in (0, 1), got 1.0.",
        ),
        (
            lambda: v.number(2, "p", "f", minimum=0.0, maximum=1.0),
            ValueError,
            "f: p must be a finite number in [0, 1], got 2.",
        ),
        (
            lambda: v.number(1.0, "rate", "f", minimum=0.0, maximum=1.0, exclusive="maximum"),
            ValueError,
            "f: rate must be a finite number in [0, 1), got 1.0.",
        ),
        (
            lambda: v.number(0.0, "eps", "f", minimum=0.0, maximum=1.0, exclusive="minimum"),
            ValueError,
            "f: eps must be a finite number in (0, 1], got 0.0.",
        ),
        (
            lambda: v.number(-1.0, "lr", "f", minimum=0.0, exclusive="maximum"),
            ValueError,
            "f: lr must be a finite number >= 0, got -1.0.",
        ),
        (
            lambda: v.number(numpy.array(True), "lr", "f"),
            TypeError,
            "f: lr must be a real number, got array(True).",
        ),
        (
            lambda: v.number(numpy.ones(1), "lr", "f"),
            TypeError,
            "f: lr must be a real number, got array([1.]).",
        ),
        (lambda: v.flag(1, "shuffle", "f"), TypeError, "f: shuffle must be True or False, got 1."),
        (
            lambda: v.one_of(1, "reduction", "f", ("mean", "sum")),
            ValueError,
            "f: reduction must be one of 'mean', 'sum'; got 1.",
        ),
        (
            lambda: v.float_array(numpy.ones(2, complex), "x", "f"),
            TypeError,
            "f: x must hold real floating-point numbers, got dtype complex128.",
        ),
        (
            lambda: v.float_dtype(numpy.int32, "dtype", "f"),
            TypeError,
            "f: dtype must be a floating-point dtype, got int32.",
        ),
        (
            lambda: v.matrix(numpy.ones((0, 3)), "X", "fit"),
            ValueError,
            "fit: X has 0 sample(s) (shape=(0, 3)) while a minimum of 1 is required.",
        ),
    ],
)
def test_one_wording_per_kind_of_error(call: Any, error: type, message: str) -> None:
    with pytest.raises(error, match=f"^{re.escape(message)}$"):
        call()


def test_numbers_and_counts_come_back_as_python_ones() -> None:
    assert type(v.count(numpy.array(3), "n", "f")) is int
    assert type(v.count(numpy.int8(3), "n", "f")) is int
    assert v.number(numpy.array(0.5, numpy.float32), "lr", "f") == 0.5
    assert type(v.number(numpy.float32(0.5), "lr", "f")) is float
    assert v.number(0.0, "rate", "f", minimum=0.0, maximum=1.0, exclusive="maximum") == 0.0
    assert v.number(1.0, "eps", "f", minimum=0.0, maximum=1.0, exclusive="minimum") == 1.0


def test_float_array_converts_plain_values_and_keeps_floats() -> None:
    assert v.float_array([1, 2], "x", "f").dtype == numpy.float64
    assert v.float_array(numpy.array([True]), "x", "f").dtype == numpy.float64
    assert v.float_array(numpy.ones(2, numpy.float32), "x", "f").dtype == numpy.float32
    bf16 = numpy.ones(2, ml_dtypes.bfloat16)
    assert v.float_array(bf16, "x", "f").dtype == bf16.dtype
    assert v.float_dtype(ml_dtypes.bfloat16, "dtype", "f") == bf16.dtype
    assert v.finite(bf16, "x", "f") is bf16
    objects = numpy.array([1, 2.5], dtype=object)
    numpy.testing.assert_array_equal(v.float_array(objects, "x", "f"), [1.0, 2.5])
    with pytest.raises(TypeError, match=r"f: x must hold real numbers \(float\(\) argument"):
        v.float_array(numpy.array([{}, 1.0], dtype=object), "x", "f")


def test_float_array_passes_traced_values_and_lists_of_them() -> None:
    def f(x: Any) -> Any:
        stacked = v.float_array([x, 2.0 * x], "x", "f")
        return (v.finite(v.float_array(x, "x", "f"), "x", "f") * stacked).sum()

    assert cr.grad(f)(1.5) == pytest.approx(9.0, rel=1e-15)  # d(3x²)/dx = 6x
    with pytest.raises(ValueError, match=r"f: x contains NaN or infinity \(first at index \(\)\)"):
        cr.grad(lambda x: v.finite(x, "x", "f"))(numpy.nan)


def test_sparse_input_is_named() -> None:
    sparse = pytest.importorskip("scipy.sparse")
    with pytest.raises(TypeError, match=r"f: X is a scipy sparse matrix.*X\.toarray\(\)"):
        v.float_array(sparse.csr_matrix(numpy.eye(2)), "X", "f")


def test_matrix_reshape_hint() -> None:
    with pytest.raises(ValueError, match=r"X must be a 2-D array, got shape \(3,\)\. Reshape"):
        v.matrix(numpy.ones(3), "X", "fit")
    stack = numpy.ones((2, 3, 3))
    assert v.matrix(stack, "M", "rank", stacks=True) is stack
