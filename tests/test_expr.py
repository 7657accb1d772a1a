"""The safe expression parser: values, precedence, gradients, errors with carets, and fuzzing."""

from __future__ import annotations

import inspect
import math
import pickle
from collections.abc import Callable
from typing import Any

import numpy
import pytest
import scipy.special
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule.learn.expr import (
    MAX_DEPTH,
    MAX_LENGTH,
    Binary,
    Call,
    Constant,
    Expression,
    ExpressionError,
    Negate,
    Number,
    Variable,
    parse,
)

X, Y = 0.7, -1.3

# ---------------------------------------------------------------- values


VALUES: list[tuple[str, Callable[[float, float], float]]] = [
    ("2**3**2", lambda x, y: 512.0),
    ("(2**3)**2", lambda x, y: 64.0),
    ("-x**2", lambda x, y: -(x**2)),
    ("(-x)**2", lambda x, y: x**2),
    ("-2**2", lambda x, y: -4.0),
    ("2*-3", lambda x, y: -6.0),
    ("2**-1", lambda x, y: 0.5),
    ("--x", lambda x, y: x),
    ("-+-x", lambda x, y: x),
    ("+x", lambda x, y: x),
    ("- - -x * 2", lambda x, y: -2 * x),
    ("1 - 2 - 3", lambda x, y: -4.0),
    ("1 - (2 - 3)", lambda x, y: 2.0),
    ("8 / 4 / 2", lambda x, y: 1.0),
    ("8 / (4 / 2)", lambda x, y: 4.0),
    ("2 + 3 * 4", lambda x, y: 14.0),
    ("(2 + 3) * 4", lambda x, y: 20.0),
    ("x*y + y/x - x", lambda x, y: x * y + y / x - x),
    ("1e-3 + 2.5E2 + .5 + 3.", lambda x, y: 0.001 + 250.0 + 0.5 + 3.0),
    ("pi", lambda x, y: math.pi),
    ("e", lambda x, y: math.e),
    ("2*pi*x + e**y", lambda x, y: 2 * math.pi * x + math.e**y),
    ("sin(x) + cos(y) * tan(x)", lambda x, y: numpy.sin(x) + numpy.cos(y) * numpy.tan(x)),
    ("exp(-x**2) / sqrt(abs(y))", lambda x, y: numpy.exp(-(x**2)) / numpy.sqrt(abs(y))),
    ("log(x) + tanh(y)", lambda x, y: numpy.log(x) + numpy.tanh(y)),
    ("sigmoid(y)", lambda x, y: 1 / (1 + numpy.exp(-y))),
    ("relu(x) + relu(y)", lambda x, y: max(x, 0.0) + max(y, 0.0)),
    ("softplus(y)", lambda x, y: numpy.log1p(numpy.exp(y))),
    ("sin(cos(exp(x)))**2", lambda x, y: numpy.sin(numpy.cos(numpy.exp(x))) ** 2),
    ("\tx\n*\r y ", lambda x, y: x * y),
]


@pytest.mark.parametrize(("text", "expected"), VALUES, ids=[t for t, _ in VALUES])
def test_values_match_numpy(text: str, expected: Callable[[float, float], float]) -> None:
    f = parse(text)
    names = dict(zip(("x", "y"), (X, Y), strict=True))
    value = f(**{v: names[v] for v in f.variables})
    assert isinstance(value, float)
    assert value == pytest.approx(expected(X, Y), rel=1e-13, abs=1e-15)


def test_values_on_arrays_elementwise() -> None:
    xs = numpy.linspace(-2.0, 2.0, 7)
    f = parse("x**2 * sigmoid(x) + relu(y)")
    got = f(xs, 0.5)
    numpy.testing.assert_allclose(got, xs**2 * scipy.special.expit(xs) + 0.5, rtol=1e-14)
    assert got.shape == (7,)
    numpy.testing.assert_allclose(parse("2*x")(x=[1.0, 2.0]), [2.0, 4.0])


def test_integers_are_evaluated_as_floats() -> None:
    # NumPy refuses integers to negative integer powers; a formula should not care.
    assert parse("x**y")(2, -1) == 0.5
    numpy.testing.assert_allclose(parse("x**-1")(numpy.array([1, 2, 4])), [1.0, 0.5, 0.25])
    assert parse("x/y")(1, 2) == 0.5


def test_division_by_zero_and_bad_powers_give_inf_and_nan() -> None:
    with numpy.errstate(all="ignore"):
        assert parse("1/0")() == math.inf
        assert parse("0**-1")() == math.inf
        assert math.isnan(parse("(-8)**(1/3)")())
        assert math.isnan(parse("log(-1)")())


def test_variables_in_order_of_first_appearance() -> None:
    assert parse("b*a + c - a*b + sin(d)").variables == ("b", "a", "c", "d")
    assert parse("x_1 + X2 + x_1").variables == ("x_1", "X2")
    assert parse("2*pi + e").variables == ()
    # Python's builtins are only names here: nothing is looked up or called.
    assert parse("open + exec + print").variables == ("open", "exec", "print")


def test_positional_and_keyword_binding() -> None:
    f = parse("x - 2*y")
    assert f(1.0, 2.0) == -3.0
    assert f(1.0, y=2.0) == -3.0
    assert f(y=2.0, x=1.0) == -3.0
    assert parse("self + x")(self=1.0, x=2.0) == 3.0


@pytest.mark.parametrize(
    ("args", "kwargs", "fragment"),
    [
        ((1.0,), {}, "missing a value for variable 'y'"),
        ((), {"x": 1.0}, "missing a value for variable 'y'"),
        ((1.0, 2.0, 3.0), {}, "takes 2 value(s) (variables: x, y), got 3"),
        ((1.0, 2.0), {"z": 3.0}, "has no variable 'z' (variables: x, y)"),
        ((1.0, 2.0), {"x": 3.0}, "variable 'x' was given twice"),
    ],
)
def test_binding_errors_name_the_variable(
    args: tuple[float, ...], kwargs: dict[str, float], fragment: str
) -> None:
    with pytest.raises(ValueError) as info:
        parse("x - 2*y")(*args, **kwargs)
    assert fragment in str(info.value)
    assert not isinstance(info.value, ExpressionError)


# ---------------------------------------------------------------- gradients


def test_grad_of_function_matches_hand_derivative() -> None:
    f = parse("x**2 + 2*y**2").function()
    dx, dy = cr.grad(f, argnums=(0, 1))(3.0, 4.0)
    assert (dx, dy) == (6.0, 16.0)
    assert cr.grad(f, argnums=1)(3.0, 4.0) == 16.0


GRADIENTS: list[tuple[str, Callable[[float], float]]] = [
    ("sin(x)", math.cos),
    ("cos(x)", lambda x: -math.sin(x)),
    ("tan(x)", lambda x: 1 / math.cos(x) ** 2),
    ("exp(2*x)", lambda x: 2 * math.exp(2 * x)),
    ("log(x)", lambda x: 1 / x),
    ("sqrt(x)", lambda x: 0.5 / math.sqrt(x)),
    ("abs(-x)", lambda x: 1.0),
    ("tanh(x)", lambda x: 1 - math.tanh(x) ** 2),
    ("sigmoid(x)", lambda x: scipy.special.expit(x) * (1 - scipy.special.expit(x))),
    ("relu(x)", lambda x: 1.0),
    ("relu(-x)", lambda x: 0.0),
    ("softplus(x)", lambda x: scipy.special.expit(x)),
    ("x**3 - 1/x", lambda x: 3 * x**2 + 1 / x**2),
    ("e**x * pi", lambda x: math.pi * math.exp(x)),
    ("x**x", lambda x: x**x * (math.log(x) + 1)),
]


@pytest.mark.parametrize(("text", "derivative"), GRADIENTS, ids=[t for t, _ in GRADIENTS])
def test_derivatives_of_each_function(text: str, derivative: Callable[[float], float]) -> None:
    f = parse(text).function()
    assert cr.derivative(f)(0.8) == pytest.approx(derivative(0.8), rel=1e-12)


def test_second_derivatives_and_hessian() -> None:
    d2 = cr.derivative(cr.derivative(parse("sin(x) * x").function()))
    assert d2(0.5) == pytest.approx(2 * math.cos(0.5) - 0.5 * math.sin(0.5), rel=1e-12)
    f = parse("x**2*y + y**3")
    h = cr.hessian(lambda p: f(p[0], p[1]))(numpy.array([1.0, 2.0]))
    numpy.testing.assert_allclose(h, [[4.0, 2.0], [2.0, 12.0]])


def test_function_signature_and_name() -> None:
    f = parse("a*sin(b) + c").function()
    assert f.__name__ == "f"
    assert list(inspect.signature(f).parameters) == ["a", "b", "c"]
    assert f.__doc__ == "f(a, b, c) = a*sin(b) + c"
    assert f(2.0, 0.0, c=1.0) == 1.0


# ---------------------------------------------------------------- text and tree


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ("x**2+2*y**2", "x**2 + 2*y**2"),
        ("-(x**2)", "-x**2"),
        ("(-x)**2", "(-x)**2"),
        ("-(-x)", "--x"),
        ("+x", "x"),
        ("2**(3**2)", "2**3**2"),
        ("(2**3)**2", "(2**3)**2"),
        ("a-(b-c)", "a - (b - c)"),
        ("(a-b)-c", "a - b - c"),
        ("a/(b*c)", "a/(b*c)"),
        ("-(a+b)*c", "-(a + b)*c"),
        ("2**(-x)", "2**-x"),
        ("1.50 + 1e-3 + 1E16 + 007", "1.5 + 0.001 + 1e+16 + 7"),
        ("sin ( x )", "sin(x)"),
    ],
)
def test_normalised_text(text: str, normal: str) -> None:
    f = parse(text)
    assert str(f) == normal
    assert repr(f) == f"Expression({normal!r})"
    assert f.text == text
    assert parse(normal) == f
    assert hash(parse(normal)) == hash(f)


def test_tree_is_immutable_and_shaped_by_precedence() -> None:
    tree = parse("-x**2 + sin(pi)").tree
    assert isinstance(tree, Binary) and tree.op == "+"
    assert isinstance(tree.left, Negate) and isinstance(tree.left.operand, Binary)
    assert tree.left.operand.op == "**"
    assert tree.left.operand.left == Variable("x", 1)
    assert tree.left.operand.right == Number(2.0, 4)
    assert tree.right == Call("sin", Constant("pi", 12), 8)
    with pytest.raises(AttributeError):
        tree.op = "-"  # type: ignore[misc]


def test_long_flat_sums_do_not_recurse() -> None:
    # 5,000 terms: a left-leaning tree deeper than Python's recursion limit.
    f = parse("+".join(["x"] * 5000))
    assert f(1.0) == 5000.0
    assert str(f).count("x") == 5000
    assert cr.grad(f.function())(2.0) == 5000.0


def test_nesting_up_to_the_limit_is_accepted() -> None:
    depth = MAX_DEPTH - 1
    assert parse("(" * depth + "x" + ")" * depth)(3.0) == 3.0
    assert parse("sin(" * depth + "x" + ")" * depth)(0.0) == 0.0
    assert parse("-" * depth + "x")(1.0) == -1.0
    assert parse("1**" * depth + "x")(5.0) == 1.0


# ---------------------------------------------------------------- errors with carets

ERRORS = [
    ("(x + 1", 0, "unclosed '('"),
    ("sin(x", 0, "unclosed sin("),
    ("x + 1)", 5, "unmatched ')'"),
    ("()", 1, "unexpected ')'"),
    ("x +", 3, "expression ends early"),
    ("x * / y", 4, "unexpected '/'"),
    ("foo(x)", 0, "'foo' is not a known function"),
    ("x(y)", 0, "'x' is not a known function"),
    ("x(y)", 0, "(to multiply, write x*(...))"),  # nothing is close to 'x': multiplying is
    ("sine(x)", 0, "did you mean sin(...)?"),
    ("Exp(x)", 0, "did you mean exp(...)?"),
    ("sigmod(x)", 0, "did you mean sigmoid(...)?"),
    ("sqr(x)", 0, "did you mean sqrt(...)?"),
    ("lg(x)", 0, "did you mean log(...)?"),
    ("ln x", 0, "ln is a function: call it, as in ln(x)"),
    ("pi(2)", 0, "'pi' is a constant"),
    ("sin + 1", 0, "sin is a function: call it"),
    ("sin()", 4, "sin() needs one argument"),
    ("sin(x, y)", 5, "sin() takes exactly one argument"),
    ("x.real", 1, "attribute access is not allowed"),
    ("(1).real", 3, "attribute access is not allowed"),
    ("__import__('os')", 0, "names may not start with '_'"),
    ("x + __class__", 4, "names may not start with '_'"),
    ("a[0]", 1, "brackets are not allowed"),
    ("{x}", 0, "braces are not allowed"),
    ("x, y", 1, "without commas"),
    ("'abc'", 0, "strings are not allowed"),
    ('x + "1"', 4, "strings are not allowed"),
    ("2 3", 2, "missing operator before '3'"),
    ("2x", 1, "missing operator before 'x'"),
    ("1.5.2", 3, "missing operator before '.2'"),
    ("x y", 2, "missing operator before 'y'"),
    ("(x)(y)", 3, "missing operator before '('"),
    ("", 0, "empty expression"),
    ("   ", 3, "empty expression"),
    ("lambda x: x", 0, "'lambda' is a Python keyword"),
    ("import os", 0, "'import' is a Python keyword"),
    ("x if y else 1", 2, "'if' is a Python keyword"),
    ("2^3", 1, "write ** for a power"),
    ("x = 1", 2, "'=' is not allowed"),
    ("x % 2", 2, "unexpected character '%'"),
    ("x // 2", 3, "unexpected '/'"),
    ("x²", 1, "unexpected character '²'"),
    ("1e999", 0, "too large for a float"),
]


@pytest.mark.parametrize(("text", "position", "fragment"), ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_point_at_the_problem(text: str, position: int, fragment: str) -> None:
    with pytest.raises(ExpressionError) as info:
        parse(text)
    err = info.value
    assert isinstance(err, ValueError)
    assert (err.text, err.position) == (text, position)
    assert fragment in err.message
    shown = "".join(" " if c.isspace() else c for c in text)
    assert str(err).split("\n") == [err.message, "  " + shown, "  " + " " * position + "^"]


def test_caret_text_exactly() -> None:
    with pytest.raises(ExpressionError) as info:
        parse("x**2 + foo(y)")
    assert str(info.value) == (
        "'foo' is not a known function; the functions are sin, cos, tan, exp, log, ln, sqrt, abs, "
        "tanh, sigmoid, relu, softplus (to multiply, write foo*(...))\n"
        "  x**2 + foo(y)\n"
        "         ^"
    )


def test_caret_lines_up_with_wide_and_control_characters() -> None:
    with pytest.raises(ExpressionError) as info:
        parse("日本 + \x00")
    assert info.value.position == 0
    with pytest.raises(ExpressionError) as info:
        parse("x +\x00")
    lines = str(info.value).split("\n")
    assert lines[1:] == ["  x +?", "     ^"]


def test_long_text_is_shown_as_a_window_around_the_caret() -> None:
    text = "x + " * 100 + "$" + " + x" * 100
    with pytest.raises(ExpressionError) as info:
        parse(text)
    err = info.value
    assert err.position == 400
    _, line, caret = str(err).split("\n")
    assert line.startswith("  ...") and line.endswith("...")
    assert line[caret.index("^")] == "$"


def test_too_long_and_too_deep() -> None:
    with pytest.raises(ExpressionError, match="too long") as info:
        parse("x+" * MAX_LENGTH + "x")
    assert info.value.position == MAX_LENGTH
    for text, position in [
        ("(" * 1000 + "x" + ")" * 1000, MAX_DEPTH),
        ("sin(" * 1000 + "x" + ")" * 1000, 4 * MAX_DEPTH),
        ("-" * 1000 + "x", MAX_DEPTH - 1),
        ("x**" * 1000 + "x", 3 * MAX_DEPTH),
    ]:
        with pytest.raises(ExpressionError, match="nested too deeply") as info:
            parse(text)
        assert info.value.position == position


def test_non_string_input_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="as a str, got int"):
        parse(3)  # type: ignore[arg-type]


def test_expression_error_pickles() -> None:
    with pytest.raises(ExpressionError) as info:
        parse("x +")
    again = pickle.loads(pickle.dumps(info.value))
    assert (again.message, again.text, again.position) == (
        "expression ends early: expected a number, a variable, a function call or '('",
        "x +",
        3,
    )
    assert str(again) == str(info.value)


# ---------------------------------------------------------------- fuzzing

TOKENS = [
    *"0123456789",
    *"xyzabe",
    "pi",
    "sin",
    "exp",
    "relu",
    "foo",
    "lambda",
    "_",
    "__import__",
    "1.5",
    "1e3",
    "1e-3",
    "1e999",
    "+",
    "-",
    "*",
    "**",
    "/",
    "(",
    ")",
    ".",
    ",",
    "'",
    '"',
    "[",
    "]",
    "^",
    " ",
    "\t",
]


def _evaluate_anyhow(f: Expression, data: st.DataObject) -> None:
    """Evaluating at any floats gives a number or an array, never another exception."""
    values = {
        name: data.draw(st.floats() | st.just(numpy.array([0.5, -2.0, numpy.inf])), label=name)
        for name in f.variables
    }
    with numpy.errstate(all="ignore"):
        result = f(**values)
    assert isinstance(result, (float, numpy.ndarray))
    if f.variables:
        with pytest.raises(ValueError, match=f"missing a value for variable '{f.variables[0]}'"):
            f()
    again = parse(str(f))  # the normalised text parses to the same thing
    assert str(again) == str(f)
    assert again.variables == f.variables


def _parse_or_documented_error(text: str) -> Expression | None:
    try:
        return parse(text)
    except ExpressionError as err:
        assert err.text == text
        assert 0 <= err.position <= len(text)
        assert str(err).endswith("^")
        return None


FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.text(), st.data())
def test_random_text_parses_or_raises_expression_error(text: str, data: st.DataObject) -> None:
    f = _parse_or_documented_error(text)
    if f is not None:
        _evaluate_anyhow(f, data)


@FUZZ
@given(st.lists(st.sampled_from(TOKENS), max_size=40).map("".join), st.data())
def test_random_tokens_parse_or_raise_expression_error(text: str, data: st.DataObject) -> None:
    f = _parse_or_documented_error(text)
    if f is not None:
        _evaluate_anyhow(f, data)


# Well-formed formulas built together with the same computation in plain NumPy: the oracle.
ORACLE_FUNCTIONS: dict[str, Callable[[Any], Any]] = {
    "sin": numpy.sin,
    "cos": numpy.cos,
    "tan": numpy.tan,
    "exp": numpy.exp,
    "log": numpy.log,
    "ln": numpy.log,
    "sqrt": numpy.sqrt,
    "abs": numpy.abs,
    "tanh": numpy.tanh,
    "sigmoid": scipy.special.expit,
    "relu": lambda v: numpy.maximum(v, 0.0),
    "softplus": lambda v: numpy.logaddexp(v, 0.0),
}
ORACLE_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "+": numpy.add,
    "-": numpy.subtract,
    "*": numpy.multiply,
    "/": numpy.divide,
    "**": numpy.power,
}
Formula = tuple[str, Callable[[dict[str, float]], Any]]


def _leaf() -> st.SearchStrategy[Formula]:
    number = st.floats(0.0, 1e6, allow_nan=False).map(lambda v: (repr(v), lambda env, v=v: v))
    variable = st.sampled_from("xyz").map(lambda n: (n, lambda env, n=n: env[n]))
    constant = st.sampled_from(["pi", "e"]).map(
        lambda n: (n, lambda env, n=n: {"pi": math.pi, "e": math.e}[n])
    )
    return number | variable | constant


def _grow(inner: st.SearchStrategy[Formula]) -> st.SearchStrategy[Formula]:
    def binary(op: str, a: Formula, b: Formula) -> Formula:
        return f"({a[0]}){op}({b[0]})", lambda env: ORACLE_BINARY[op](a[1](env), b[1](env))

    def call(name: str, a: Formula) -> Formula:
        return f"{name}( {a[0]} )", lambda env: ORACLE_FUNCTIONS[name](a[1](env))

    def negate(a: Formula) -> Formula:
        return f"-({a[0]})", lambda env: -a[1](env)

    return (
        st.builds(binary, st.sampled_from(list(ORACLE_BINARY)), inner, inner)
        | st.builds(call, st.sampled_from(list(ORACLE_FUNCTIONS)), inner)
        | st.builds(negate, inner)
    )


@FUZZ
@given(st.recursive(_leaf(), _grow, max_leaves=12), st.data())
def test_well_formed_formulas_match_numpy(formula: Formula, data: st.DataObject) -> None:
    text, oracle = formula
    f = parse(text)
    env = {name: data.draw(st.floats(-10, 10), label=name) for name in "xyz"}
    with numpy.errstate(all="ignore"):
        got = f(**{name: env[name] for name in f.variables})
        expected = oracle(env)
        again = parse(str(f))(**{name: env[name] for name in f.variables})
    numpy.testing.assert_allclose(got, expected, rtol=1e-12, equal_nan=True)
    numpy.testing.assert_array_equal(again, got)


def test_ln_is_the_natural_log_as_in_the_guides() -> None:
    f = parse("ln(x) + log(x)")
    assert str(f) == "ln(x) + log(x)"
    assert float(f(math.e)) == 2.0
    import chainrule as cr

    assert float(cr.grad(parse("ln(x**2)").function())(4.0)) == 0.5  # 2/x


def test_a_suggestion_replaces_the_multiplication_hint() -> None:
    with pytest.raises(ExpressionError) as info:
        parse("2 * sine(x)")
    assert "to multiply" not in info.value.message
    assert info.value.position == 4
