"""The learner's checker (`cr.check_derivative`), the exercises and `chainrule exercise`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy
import pytest

import chainrule as cr
import chainrule.numpy as np
from chainrule.cli import main
from chainrule.learn import exercises, tour

NAMES = exercises.names()


def _softplus(x: Any) -> Any:
    return np.log1p(np.exp(x))


def _sigmoid(x: Any) -> Any:
    return 1 / (1 + numpy.exp(-x))


# ------------------------------------------------------------------------------ the checker


def test_a_right_derivative_passes_and_the_report_says_so() -> None:
    report = cr.check_derivative(_softplus, _sigmoid)
    assert report.ok and bool(report)
    assert str(report).startswith("✓ the derivative of `_softplus`: yours agrees at 4 points")
    assert repr(report) == str(report)


@pytest.mark.parametrize(
    ("mine", "hint"),
    [
        (lambda x: -_sigmoid(x), "wrong sign"),
        (lambda x: 2 * _sigmoid(x), "yours is 2 times the true one"),
        (lambda x: _sigmoid(x) / 2, "yours is 1/2 times the true one"),
        (lambda x: numpy.where(x > 0, _sigmoid(x), 0.5), "right at point(s)"),
        (lambda x: numpy.exp(x) / numpy.exp(x), "no simple pattern"),
    ],
)
def test_a_wrong_derivative_fails_with_the_right_hint(mine: Any, hint: str) -> None:
    report = cr.check_derivative(_softplus, mine, at=[-2.0, -0.5, 0.7, 1.5])
    assert not report.ok and not report
    assert len(report.hints) == 1 and hint in report.hints[0]
    assert str(report).startswith("✗ the derivative of `_softplus`: yours differs at")


def test_the_report_lists_the_entries_that_differ() -> None:
    x = numpy.array([0.5, -1.0, 2.0])
    mine = lambda v: numpy.array([2 * v[0], 2 * v[1], 0.0])
    report = cr.check_derivative(lambda v: np.sum(v**2), mine, x, points=1)
    assert report.checks[0].differences == ["[2]: yours 0, true 4"]
    assert "at point 1, v=[ 0.5 -1.   2. ]:\n    [2]: yours 0, true 4" in str(report)


def test_a_transposed_and_a_wrongly_shaped_gradient_are_named() -> None:
    W, x = numpy.arange(6.0).reshape(2, 3) / 4, numpy.array([1.0, -1.0, 0.5])

    def loss(W: Any, x: Any) -> Any:
        return np.sum((W @ x) ** 2)

    right = lambda W, x: 2 * numpy.outer(W @ x, x)
    assert cr.check_derivative(loss, right, W, x)
    transposed = cr.check_derivative(loss, lambda W, x: right(W, x).T, W, x)
    assert "transposed" in transposed.hints[0]
    flat = cr.check_derivative(loss, lambda W, x: right(W, x).ravel(), W, x)
    assert "wrong shape (6,): the true one has shape (2, 3), and the same numbers" in flat.hints[0]


def test_swapped_results_are_named() -> None:
    def f(x: Any, y: Any) -> Any:
        return x * y**2

    report = cr.check_derivative(f, lambda x, y: (2 * x * y, y**2), argnums=(0, 1))
    assert report.hints == (
        "swapped: your result[0] is the true result[1] and the other way round: return the "
        "results in the order of the arguments.",
    )


def test_arguments_in_another_order_are_named() -> None:
    def f(x: Any, y: Any) -> Any:
        return x * y**2

    def df(y: Any, x: Any) -> Any:  # the learner's parameters, in the other order
        return y**2

    report = cr.check_derivative(f, df, 1.5, 2.0)
    assert report.hints[0].startswith("swapped arguments? df takes (y, x) and f takes (x, y)")
    assert cr.check_derivative(f, lambda y, x: x**2, 1.5, 2.0).ok  # right for f's order


def test_a_function_returning_a_tuple_gets_a_jacobian() -> None:
    def f(x: Any) -> Any:
        return (x**2, np.sin(x))

    assert cr.check_derivative(f, lambda x: (2 * x, numpy.cos(x)))


def test_an_elementwise_derivative_for_a_jacobian_is_explained() -> None:
    report = cr.check_derivative(np.sin, numpy.cos, numpy.array([0.1, 0.2, 0.3]))
    assert "diagonal of the Jacobian" in report.hints[0]
    assert cr.check_derivative(np.sin, numpy.cos, at=[0.1, 0.2, 0.3])


def test_an_overflowing_answer_is_named() -> None:
    def overflows(x: Any) -> Any:
        return numpy.exp(x) / (1 + numpy.exp(x))

    with numpy.errstate(all="ignore"):
        report = cr.check_derivative(lambda x: np.logaddexp(0.0, x), overflows, at=[800.0])
    assert "not finite" in report.hints[0]


def test_each_result_is_judged_on_its_own_scale() -> None:
    """A bias gradient 1e9 times smaller than the weight gradient, off by a factor 2: under
    one tolerance for all (1.5e-8 times 2e6) it would pass."""

    def f(w: Any, b: Any) -> Any:
        return 1e6 * w**2 + 1e-3 * b

    report = cr.check_derivative(f, lambda w, b: (2e6 * w, 2e-3), 1.0, 0.0, argnums=(0, 1))
    assert not report.ok
    assert report.hints == ("result[1]: a constant factor: yours is 2 times the true one. A "
                            "missing or extra constant, like the 2 of d/dx x² = 2x or the 1/n "
                            "of a mean?",)  # fmt: skip


def test_the_tolerance_is_sqrt_eps_of_what_you_return() -> None:
    x = numpy.array([0.3, -1.2, 2.0])
    f = lambda v: np.sum(np.sin(v))
    # float64: a relative error of 1e-6 is a mistake, rounding is not
    assert not cr.check_derivative(f, lambda v: numpy.cos(v) * (1 + 1e-6), x)
    assert cr.check_derivative(f, lambda v: numpy.cos(v) * (1 + 4 * numpy.finfo(float).eps), x)
    # float32: its own rounding passes
    assert cr.check_derivative(f, lambda v: numpy.cos(v.astype(numpy.float32)), x)
    assert not cr.check_derivative(f, lambda v: numpy.cos(v).astype(numpy.float32) * 1.01, x)


def test_a_list_of_numbers_is_one_gradient() -> None:
    report = cr.check_derivative(
        lambda v: np.sum(v**2), lambda v: [2 * v[0], 2 * v[1]], numpy.array([1.0, 2.0])
    )
    assert report.ok


def test_a_zero_derivative_is_compared_absolutely() -> None:
    f = lambda v: np.sum(v**2)
    zero = numpy.zeros(2)
    assert cr.check_derivative(f, lambda v: 2 * v + 1e-12, at=[zero])
    assert not cr.check_derivative(f, lambda v: 2 * v + 1e-3, at=[zero])


def test_a_backward_pass_gets_g_shaped_like_the_output() -> None:
    s = numpy.array([[0.1, 2.0, -1.0], [0.5, 0.5, 0.0]])
    seen = []

    def softmax_backward(s: Any, g: Any) -> Any:
        seen.append(g.shape)
        p = numpy.exp(s) / numpy.exp(s).sum(axis=-1, keepdims=True)
        return p * (g - (g * p).sum(axis=-1, keepdims=True))

    assert cr.check_derivative(cr.nn.functional.softmax, softmax_backward, s, backward=True)
    assert seen == [(2, 3)] * 4
    wrong = lambda s, g: g
    assert not cr.check_derivative(cr.nn.functional.softmax, wrong, s, backward=True)


def test_a_pytree_backward_pass_is_checked_leaf_by_leaf() -> None:
    params = {"w": numpy.array([1.0, -2.0]), "b": numpy.array(0.5)}
    x = numpy.array([[1.0, 0.0], [0.5, 2.0], [-1.0, 1.0]])

    def loss(p: Any, x: Any) -> Any:
        return np.mean((x @ p["w"] + p["b"]) ** 2)

    def backward(p: Any, x: Any) -> Any:
        r = x @ p["w"] + p["b"]
        return {"w": 2 * x.T @ r / len(r), "b": 2 * r.sum()}  # b: the 1/n forgotten

    report = cr.check_derivative(loss, backward, params, x)
    assert [h.split(":")[0] for h in report.hints] == ["['b']"]
    assert "yours is 3 times the true one" in report.hints[0]
    assert all(d.startswith("['b']") for c in report.checks for d in c.differences)


def test_the_points_are_fixed_by_the_seed_and_stay_in_the_domain() -> None:
    f = lambda x: np.log(x)
    seen: list[float] = []
    mine = lambda x: seen.append(float(x)) or 1 / x
    assert cr.check_derivative(f, mine, 0.3, points=6)
    first = list(seen)
    assert all(x > 0 for x in first) and first[0] == 0.3
    seen.clear()
    cr.check_derivative(f, mine, 0.3, points=6)
    assert seen == first


def test_your_function_cannot_change_the_points() -> None:
    x = numpy.array([1.0, 2.0])

    def mine(v: Any) -> Any:
        out = 2 * v
        v[:] = 100.0
        return out

    assert cr.check_derivative(lambda v: np.sum(v**2), mine, x)
    assert x.tolist() == [1.0, 2.0]


def test_none_says_fill_in_the_body() -> None:
    report = cr.check_derivative(_softplus, lambda x: None)
    assert str(report).splitlines()[1] == (
        "  yours returned None: fill in the body and return the result"
    )


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"at": [1.0], "args": (1.0,)}, TypeError, "either as arguments or as at="),
        ({"at": []}, ValueError, "at= is empty"),
        ({"points": 0}, ValueError, "points must be a positive integer"),
        ({"args": (1j,)}, TypeError, "real numbers"),
        ({"args": (1.0,), "argnums": 1}, ValueError, "argnums 1 is not the position"),
        ({"at": [0.0]}, ValueError, "not finite at"),
    ],
)
def test_bad_input_gets_a_clear_error(kwargs: dict[str, Any], error: type, message: str) -> None:
    args = kwargs.pop("args", ())
    with pytest.raises(error, match=message):
        cr.check_derivative(np.sqrt, lambda x: 0.5 / numpy.sqrt(x), *args, **kwargs)


def test_the_checker_is_found_from_chainrule() -> None:
    assert "check_derivative" in cr.__all__ and "check_derivative" in dir(cr)
    assert cr.check_derivative is exercises.check_derivative


# ----------------------------------------------------------------------------- exercises


def test_there_are_exercises_for_every_part_with_lessons() -> None:
    parts = {exercises.get(n).part for n in NAMES}
    assert parts == set(tour.PARTS) - {"reading"}
    for name in ("softplus", "squared_error", "two_layer", "adam", "quadratic_form",
                 "gaussian_nll", "softmax_cross_entropy", "logsumexp", "ridge",
                 "softmax_backward"):  # fmt: skip
        assert name in NAMES


@pytest.mark.parametrize("name", NAMES)
def test_every_reference_solution_passes_its_check(name: str) -> None:
    ex = exercises.get(name)
    assert ex.check(ex.reference).ok


@pytest.mark.parametrize("name", NAMES)
def test_every_template_runs_and_its_empty_body_fails(name: str, tmp_path: Path) -> None:
    ex = exercises.get(name)
    assert ex.template.endswith('    """\n    ...\n')
    assert f"def {ex.function}(" in ex.template and ex.statement in ex.template.replace(
        "\n    ", "\n"
    )
    (tmp_path / "mine.py").write_text(ex.template)
    assert main(["exercise", name, "--check", str(tmp_path / "mine.py")]) == 1


def _reference(name: str) -> Any:
    return exercises.get(name).reference


@pytest.mark.parametrize(
    ("name", "wrong", "hint"),
    [
        ("softplus", lambda x: -_sigmoid(x), "wrong sign"),
        ("squared_error", lambda w, X, y: X.T @ (X @ w - y) / len(y), "1/2 times"),
        ("squared_error", lambda w, X, y: 2 * X.T @ (X @ w - y), "6 times"),
        ("quadratic_form", lambda x, A: (A + A.T).T @ x * -1, "wrong sign"),
        ("gaussian_nll", lambda mu, s, x: _reference("gaussian_nll")(mu, s, x)[::-1], "swapped"),
        (
            "softmax_cross_entropy",
            lambda z, y: y - _reference("softmax_cross_entropy")(z, 0 * y),
            "wrong sign",
        ),
        ("logsumexp", lambda x: numpy.log(numpy.sum(numpy.exp(x))), "not finite"),
        ("ridge", lambda w, X, y, a: 0.5 * _reference("ridge")(w, X, y, a), "1/2 times"),
        ("softmax_backward", lambda s, g: -_reference("softmax_backward")(s, g), "wrong sign"),
    ],
)
def test_a_wrong_answer_fails_with_the_right_hint(name: str, wrong: Any, hint: str) -> None:
    with numpy.errstate(all="ignore"):
        report = exercises.get(name).check(wrong)
    assert not report.ok
    assert any(hint in h for h in report.hints), report


def test_the_two_layer_backward_pass_names_the_wrong_parameter() -> None:
    def backward(params: Any, x: Any, y: Any) -> Any:
        grads = _reference("two_layer")(params, x, y)
        return {**grads, "W1": grads["W1"].T, "b2": 2 * grads["b2"]}

    report = exercises.get("two_layer").check(backward)
    assert report.hints[0].startswith("['W1']: transposed")
    assert report.hints[1].startswith("['b2']: a constant factor: yours is 2 times")


def test_an_adam_step_without_bias_correction_fails_at_every_step() -> None:
    def adam_step(param, grad, m, v, t, lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8):  # type: ignore[no-untyped-def]
        m = beta1 * m + (1 - beta1) * grad
        v = beta2 * v + (1 - beta2) * grad**2
        return param - lr * m / (numpy.sqrt(v) + eps), m, v

    report = exercises.get("adam").check(adam_step)
    assert [c.ok for c in report.checks] == [False] * 5
    assert report.checks[0].differences[0].startswith(".param[0]: yours")


def test_an_unknown_exercise_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="no exercise 'softmax'; the exercises are softplus"):
        exercises.get("softmax")


# ---------------------------------------------------------------------------- the command


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_the_command_lists_the_exercises_by_part(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["exercise", "--list"], capsys)
    assert code == 0
    assert out.splitlines()[:2] == [
        "Calculus:",
        "  softplus               the derivative of softplus",
    ]
    assert all(f"  {name} " in out for name in NAMES)
    assert "Attention:\n  softmax_backward" in out


def test_the_command_walks_a_learner_through_an_exercise(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(["exercise", "softplus"], capsys)
    assert code == 0 and "def softplus_grad(x):" in out and "--check mine.py" in out
    code, template, _ = _run(["exercise", "softplus", "--template"], capsys)
    assert code == 0 and template == exercises.get("softplus").template
    mine = tmp_path / "mine.py"
    mine.write_text(template.replace("    ...\n", "    return -1 / (1 + np.exp(-x))\n"))
    code, out, _ = _run(["exercise", "softplus", "--check", str(mine)], capsys)
    assert code == 1 and out.startswith("✗") and "hint: wrong sign" in out
    mine.write_text(template.replace("    ...\n", "    return 1 / (1 + np.exp(-x))\n"))
    code, out, _ = _run(["exercise", "softplus", "--check", str(mine)], capsys)
    assert code == 0 and out.startswith("✓ the derivative of `softplus`: yours agrees at 7")
    code, out, _ = _run(["exercise", "softplus", "--solution"], capsys)
    assert code == 0 and out == exercises.get("softplus").solution
    assert "return 1.0 / (1.0 + np.exp(-x))" in out


def test_checking_runs_the_file_but_not_its_main_block(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mine = tmp_path / "mine.py"
    mine.write_text(
        exercises.get("ridge").solution
        + '\nif __name__ == "__main__":\n    raise SystemExit("the main block ran")\n'
    )
    code, out, _ = _run(["exercise", "ridge", "--check", str(mine)], capsys)
    assert code == 0 and out.startswith("✓")


def test_the_file_may_import_its_neighbours(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "helpers_for_softplus.py").write_text(
        "import numpy as np\n\ndef sigmoid(x):\n    return 1 / (1 + np.exp(-x))\n"
    )
    mine = tmp_path / "mine.py"
    mine.write_text("from helpers_for_softplus import sigmoid as softplus_grad\n")
    code, out, _ = _run(["exercise", "softplus", "--check", str(mine)], capsys)
    assert code == 0 and out.startswith("✓")
    assert str(tmp_path) not in sys.path


@pytest.mark.parametrize(
    ("text", "code", "message"),
    [
        ("def softplus_grad(x)\n", 1, "running"),
        ("def other(x):\n    return x\n", 1, "defines no function softplus_grad"),
        ("def softplus_grad(x):\n    return x.nope\n", 1, "your softplus_grad raised an error"),
    ],
)
def test_a_broken_file_gets_a_message_not_a_crash(
    text: str, code: int, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mine = tmp_path / "mine.py"
    mine.write_text(text)
    got, _, err = _run(["exercise", "softplus", "--check", str(mine)], capsys)
    assert got == code and message in err


def test_a_missing_file_or_exercise_is_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(["exercise", "softplus", "--check", str(tmp_path / "none.py")], capsys)
    assert code == 2 and "no file" in err
    code, _, err = _run(["exercise", "nope"], capsys)
    assert code == 2 and "no exercise 'nope'; the exercises are softplus" in err
    with pytest.raises(SystemExit) as exit_:
        main(["exercise", "softplus", "--solution", "--template"])
    assert exit_.value.code == 2


def test_help_on_chainrule_shows_the_checker() -> None:
    import pydoc

    text = pydoc.render_doc(cr, renderer=pydoc.plaintext)
    assert "check_derivative(f" in text
    assert "Compare your derivative `df` of `f` with chainrule's" in text
