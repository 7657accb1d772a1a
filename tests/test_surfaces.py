"""The test surfaces and `descend`: gradients at the minima, exact descent steps, errors."""

from __future__ import annotations

import math

import numpy
import pytest

import chainrule as cr
import chainrule.numpy as np
from chainrule import optim
from chainrule.learn.surfaces import (
    DEFAULT_LR,
    DIVERGENCE_RISE,
    OPTIMIZERS,
    SURFACES,
    Path,
    Surface,
    descend,
    make_optimizer,
)


def test_the_five_surfaces_and_their_formulas() -> None:
    assert set(SURFACES) == {"bowl", "narrow_bowl", "rosenbrock", "himmelblau", "saddle"}
    x, y = 1.5, -0.5
    expected = {
        "bowl": x**2 + 2 * y**2,
        "narrow_bowl": x**2 + 4 * y**2,
        "rosenbrock": (1 - x) ** 2 + 100 * (y - x**2) ** 2,
        "himmelblau": (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2,
        "saddle": x**2 - y**2,
    }
    for name, surface in SURFACES.items():
        assert surface.name == name
        assert float(surface.fn(x, y)) == pytest.approx(expected[name], rel=1e-12)
        assert set(surface.lr) == set(OPTIMIZERS)
        assert surface.xlim[0] < surface.start[0] < surface.xlim[1]
        assert surface.ylim[0] < surface.start[1] < surface.ylim[1]
    assert SURFACES["saddle"].minima == ()


@pytest.mark.parametrize("name", sorted(SURFACES))
def test_fn_is_elementwise_on_grids(name: str) -> None:
    surface = SURFACES[name]
    xs, ys = numpy.meshgrid(numpy.linspace(-2, 2, 5), numpy.linspace(-1, 3, 4))
    grid = numpy.asarray(surface.fn(xs, ys))
    assert grid.shape == (4, 5)
    one_by_one = [
        [float(surface.fn(float(a), float(b))) for a, b in zip(rx, ry, strict=True)]
        for rx, ry in zip(xs, ys, strict=True)
    ]
    numpy.testing.assert_allclose(grid, one_by_one, rtol=1e-14)


@pytest.mark.parametrize("name", ["bowl", "narrow_bowl", "rosenbrock", "himmelblau"])
def test_gradient_vanishes_at_every_minimum(name: str) -> None:
    surface = SURFACES[name]
    assert surface.minima
    for x, y in surface.minima:
        gx, gy = cr.grad(surface.fn, argnums=(0, 1))(x, y)
        assert abs(float(gx)) < 1e-10 and abs(float(gy)) < 1e-10
        assert float(surface.fn(x, y)) == pytest.approx(0.0, abs=1e-20)
        # a minimum, not a saddle: the Hessian is positive definite there
        eig = numpy.linalg.eigvalsh(cr.hessian(surface.vector_fn)(numpy.array([x, y])))
        assert eig.min() > 0


def test_saddle_gradient_vanishes_at_origin_but_it_is_no_minimum() -> None:
    surface = SURFACES["saddle"]
    assert [float(g) for g in cr.grad(surface.fn, argnums=(0, 1))(0.0, 0.0)] == [0.0, 0.0]
    eig = numpy.linalg.eigvalsh(cr.hessian(surface.vector_fn)(numpy.zeros(2)))
    numpy.testing.assert_allclose(eig, [-2.0, 2.0])


def test_gd_on_x_squared_is_exactly_geometric() -> None:
    # x_{k+1} = x_k - 0.1 * 2 x_k = 0.8 x_k
    path = descend(lambda p: p[0] ** 2, [5.0], "gd", lr=0.1, steps=20)
    assert path.points.shape == (21, 1)
    expected = 5.0 * 0.8 ** numpy.arange(21)
    numpy.testing.assert_allclose(path.points[:, 0], expected, rtol=1e-13)
    numpy.testing.assert_allclose(path.values, expected**2, rtol=1e-13)
    assert path.steps_taken == 20 and not path.converged and not path.diverged


def test_gd_on_the_bowl_converges_to_the_origin() -> None:
    bowl = SURFACES["bowl"]
    path = descend(bowl.vector_fn, (3.0, 3.0), "gd", lr=0.1, steps=1000)
    assert path.converged and not path.diverged
    assert path.steps_taken < 1000  # stopped early
    numpy.testing.assert_allclose(path.final, [0.0, 0.0], atol=1e-8)
    # the last gradient norm is below tol; the one before is not
    g = cr.grad(bowl.vector_fn)
    assert numpy.linalg.norm(g(path.points[-1])) < 1e-8 <= numpy.linalg.norm(g(path.points[-2]))


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_every_optimizer_reaches_the_bowl_minimum(optimizer: str) -> None:
    path = SURFACES["bowl"].descend(optimizer, steps=2000)
    numpy.testing.assert_allclose(path.final, [0.0, 0.0], atol=1e-3)
    assert path.values[-1] < 1e-5 < path.values[0]


def test_adam_finds_the_rosenbrock_minimum() -> None:
    rosenbrock = SURFACES["rosenbrock"]
    path = rosenbrock.descend("adam", steps=3000)
    numpy.testing.assert_allclose(path.final, [1.0, 1.0], atol=1e-2)
    assert path.lr == rosenbrock.lr["adam"]


def test_gd_escapes_the_saddle_along_y() -> None:
    saddle = SURFACES["saddle"]
    path = descend(saddle.vector_fn, (1.0, 1e-3), "gd", lr=0.1, steps=30)
    y = numpy.abs(path.points[:, 1])
    assert numpy.all(numpy.diff(y) > 0)  # |y| grows by 1.2 every step
    numpy.testing.assert_allclose(y, 1e-3 * 1.2 ** numpy.arange(31), rtol=1e-12)
    assert abs(path.final[0]) < 1e-2  # while x falls into the valley
    assert numpy.all(numpy.diff(path.values) < 0)


def test_divergence_stops_and_is_reported() -> None:
    # gd on x**2 with lr 10 multiplies x by -19 each step: f = 361**k passes 1e10 at step 4
    path = descend(lambda p: p[0] ** 2, [1.0], "gd", lr=10.0, steps=1000)
    assert path.diverged and not path.converged
    assert path.steps_taken < 1000
    assert numpy.all(numpy.isfinite(path.points)) and numpy.all(numpy.isfinite(path.values))
    numpy.testing.assert_allclose(path.points[:4, 0], [1.0, -19.0, 361.0, -6859.0])


def test_path_fields_are_consistent() -> None:
    himmelblau = SURFACES["himmelblau"]
    for optimizer in OPTIMIZERS:
        path = himmelblau.descend(optimizer, steps=40)
        assert isinstance(path, Path)
        assert path.optimizer == optimizer and path.lr == himmelblau.lr[optimizer]
        assert path.points.shape == (path.steps_taken + 1, 2)
        assert path.points.dtype == numpy.float64
        numpy.testing.assert_array_equal(path.points[0], himmelblau.start)
        numpy.testing.assert_allclose(
            path.values, himmelblau.fn(path.points[:, 0], path.points[:, 1]), rtol=1e-12
        )
        numpy.testing.assert_array_equal(path.final, path.points[-1])


def test_descend_works_in_any_dimension_and_matches_the_optimizer() -> None:
    target = numpy.array([1.0, -2.0, 3.0])

    def fn(p):
        return np.sum((p - target) ** 2)

    path = descend(fn, numpy.zeros(3), "adam", lr=0.05, steps=5)
    opt = optim.Adam(lr=0.05)
    params, state = numpy.zeros(3), opt.init(numpy.zeros(3))
    for k in range(5):
        params, state = opt.step(cr.grad(fn)(params), state, params)
        numpy.testing.assert_allclose(path.points[k + 1], params, rtol=1e-15)


def test_a_start_at_the_minimum_converges_at_once() -> None:
    path = descend(lambda p: p[0] ** 2 + p[1] ** 2, [0.0, 0.0], "momentum", steps=10)
    assert path.converged and path.steps_taken == 0 and path.points.shape == (1, 2)


def test_make_optimizer_builds_the_named_optimizers() -> None:
    assert make_optimizer("gd", 0.1) == optim.SGD(lr=0.1)
    assert make_optimizer("momentum", 0.1) == optim.SGD(lr=0.1, momentum=0.9)
    assert make_optimizer("nesterov", 0.1) == optim.SGD(lr=0.1, momentum=0.9, nesterov=True)
    assert make_optimizer("rmsprop", 0.01) == optim.RMSprop(lr=0.01)
    assert make_optimizer("adam", 0.01) == optim.Adam(lr=0.01)
    with pytest.raises(ValueError, match="make_optimizer: name must be one of 'gd', 'momentum'"):
        make_optimizer("sgd", 0.1)
    with pytest.raises(ValueError, match="make_optimizer: lr must be a finite number > 0"):
        make_optimizer("gd", 0.0)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"optimizer": "lbfgs"},
            ValueError,
            r"descend: optimizer must be one of 'gd', 'momentum', 'nesterov', 'rmsprop', 'adam'; "
            r"got 'lbfgs'\.",
        ),
        ({"steps": 0}, ValueError, "descend: steps must be at least 1, got 0"),
        ({"steps": 2.5}, TypeError, r"descend: steps must be an int, got 2\.5"),
        ({"steps": True}, TypeError, "descend: steps must be an int, got True"),
        ({"lr": 0.0}, ValueError, r"descend: lr must be a finite number > 0, got 0\.0"),
        ({"lr": -0.1}, ValueError, "lr must be a finite number > 0"),
        ({"lr": math.inf}, ValueError, "lr must be a finite number > 0"),
        ({"lr": math.nan}, ValueError, "lr must be a finite number > 0"),
        ({"lr": "0.1"}, TypeError, "descend: lr must be a real number, got '0.1'"),
        ({"tol": -1.0}, ValueError, r"descend: tol must be a finite number >= 0, got -1\.0"),
        ({"start": [1.0, math.nan]}, ValueError, r"start must be finite, got \[1.0, nan\]"),
        ({"start": [[1.0, 2.0]]}, ValueError, r"start must be a point.*shape \(1, 2\)"),
        ({"start": []}, ValueError, "start must be a point"),
        ({"start": ["a", "b"]}, ValueError, "start must be a point"),
    ],
)
def test_descend_rejects_bad_arguments(kwargs: dict, error: type, message: str) -> None:
    arguments = {"start": [1.0, 1.0], **kwargs}
    with pytest.raises(error, match=message):
        descend(SURFACES["bowl"].vector_fn, **arguments)


def test_descend_rejects_a_function_not_finite_at_the_start() -> None:
    with pytest.raises(ValueError, match="not finite at the start point"):
        descend(lambda p: np.log(p[0]), [-1.0])
    with pytest.raises(TypeError, match="fn must be a function"):
        descend(3.0, [1.0])  # type: ignore[arg-type]


def test_surface_descend_rejects_an_unknown_optimizer() -> None:
    with pytest.raises(
        ValueError, match=r"Surface\.descend: optimizer must be one of 'gd', 'momentum', 'nesterov'"
    ):
        SURFACES["bowl"].descend("newton")


def test_surface_learning_rates_default_and_are_checked() -> None:
    surface = Surface(
        "s",
        "x**2 + y**2",
        lambda x, y: x**2 + y**2,
        (1.0, 1.0),
        ((0.0, 0.0),),
        (-2.0, 2.0),
        (-2.0, 2.0),
        lr={"adam": 0.5},
    )
    assert surface.lr == {**DEFAULT_LR, "adam": 0.5}
    assert (
        Surface("t", "x", lambda x, y: x, (0.0, 0.0), (), (-1.0, 1.0), (-1.0, 1.0)).lr == DEFAULT_LR
    )
    with pytest.raises(ValueError, match="unknown optimizers \\['sgd'\\]"):
        Surface("s", "x", lambda x, y: x, (0.0, 0.0), (), (-1.0, 1.0), (-1.0, 1.0), lr={"sgd": 0.1})
    with pytest.raises(ValueError, match=r"Surface 's': lr\['gd'\] must be a finite number > 0"):
        Surface("s", "x", lambda x, y: x, (0.0, 0.0), (), (-1.0, 1.0), (-1.0, 1.0), lr={"gd": -1})


def test_divergence_is_caught_before_overflow_with_its_step() -> None:
    # gd with lr 2 on x**2 maps x to -3x: f = 25 * 9**k rises above 25 + 1e10 * 25 at k = 11
    # (the old path ran all 1000 steps and ended at x = -7e153 without a word)
    path = descend(lambda p: p[0] ** 2, [5.0], "gd", lr=2.0, steps=1000)
    assert path.diverged and path.diverged_at == 11 and path.steps_taken == 11
    assert path.values[-1] > DIVERGENCE_RISE * path.values[0] > path.values[-2]
    assert not path.converged
    # a step to a point that is not finite is not recorded: it diverged after the last
    path = descend(lambda p: np.exp(p[0] ** 2), [3.0], "gd", lr=1.0, steps=10)
    assert path.diverged_at == 1 and path.steps_taken == 0 and path.points.shape == (1, 1)


def test_a_falling_function_does_not_diverge() -> None:
    path = descend(lambda p: -(p[0] ** 2), [1.0], "gd", lr=0.1, steps=200)
    assert not path.diverged and path.steps_taken == 200 and path.values[-1] < -1e30


@pytest.mark.parametrize("max_points", [2, 3, 7, 50])
def test_a_long_run_keeps_a_bounded_path(max_points: int) -> None:
    fn = SURFACES["rosenbrock"].vector_fn
    full = descend(fn, (-1.2, 1.0), "adam", lr=0.01, steps=300)
    kept = descend(fn, (-1.2, 1.0), "adam", lr=0.01, steps=300, max_points=max_points)
    assert len(kept.points) <= max_points and kept.steps_taken == full.steps_taken == 300
    steps = kept.step_numbers
    assert steps[0] == 0 and steps[-1] == 300 and numpy.all(numpy.diff(steps) > 0)
    numpy.testing.assert_array_equal(kept.points, full.points[steps])
    numpy.testing.assert_array_equal(kept.values, full.values[steps])
    numpy.testing.assert_array_equal(kept.final, full.final)
    assert full.stride == 1 and numpy.array_equal(full.step_numbers, numpy.arange(301))


def test_max_points_is_checked() -> None:
    for bad in (1, 0):
        with pytest.raises(ValueError, match="descend: max_points must be at least 2"):
            descend(lambda p: p[0] ** 2, [1.0], max_points=bad)
    for bad in (2.5, True):
        with pytest.raises(TypeError, match="descend: max_points must be an int"):
            descend(lambda p: p[0] ** 2, [1.0], max_points=bad)
