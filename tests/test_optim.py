"""chainrule.optim on its own: exact steps, state, purity, in place, dtypes, errors, convergence."""

from __future__ import annotations

import io
import re
from typing import Any

import numpy
import pytest

import chainrule as cr
import chainrule.numpy as np
from chainrule import nn, optim
from chainrule.optim import schedules

# Every optimizer with options that switch on all of its buffers and code paths.
CONFIGS: list[optim.Optimizer[Any]] = [
    optim.SGD(lr=0.1),
    optim.SGD(lr=0.05, momentum=0.9, dampening=0.2, weight_decay=0.01),
    optim.SGD(lr=0.05, momentum=0.9, nesterov=True, maximize=True),
    optim.RMSprop(lr=0.01),
    optim.RMSprop(lr=0.01, centered=True, momentum=0.9, weight_decay=0.01),
    optim.Adagrad(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1, weight_decay=0.01),
    optim.Adam(lr=0.01),
    optim.Adam(lr=0.01, betas=(0.3, 0.9), amsgrad=True, weight_decay=0.01, maximize=True),
    optim.AdamW(lr=0.01, amsgrad=True),
]
IDS = [repr(c) for c in CONFIGS]


def _params(dtype: Any = numpy.float32, seed: int = 0) -> dict[str, Any]:
    rng = numpy.random.default_rng(seed)
    return {
        "w": rng.standard_normal((3, 2)).astype(dtype),
        "b": [rng.standard_normal(2).astype(dtype), numpy.array(0.5, dtype=dtype)],
    }


def _grads(params: Any, rng: numpy.random.Generator) -> Any:
    return cr.tree.map(lambda x: rng.standard_normal(x.shape).astype(x.dtype), params)


def _run(opt: optim.Optimizer[Any], params: Any, state: Any, steps: int, seed: int) -> Any:
    rng = numpy.random.default_rng(seed)
    for _ in range(steps):
        params, state = opt.step(_grads(params, rng), state, params)
    return params, state


# --- exact steps ----------------------------------------------------------------------------


def test_sgd_momentum_exact() -> None:
    opt = optim.SGD(lr=0.5, momentum=0.5, dampening=0.5)
    params, state = [numpy.array([1.0])], opt.init([numpy.array([1.0])])
    seen = []
    for _ in range(3):
        params, state = opt.step([numpy.array([2.0])], state, params)
        seen.append((float(params[0][0]), float(state.momentum_buffer[0][0])))
    # buf: 2 (copied at the first step), 0.5 * 2 + 0.5 * 2 = 2, 2; p -= 0.5 * buf.
    assert seen == [(0.0, 2.0), (-1.0, 2.0), (-2.0, 2.0)]


def test_sgd_nesterov_and_weight_decay_exact() -> None:
    opt = optim.SGD(lr=0.25, momentum=0.5, nesterov=True, weight_decay=1.0)
    params, _ = opt.step([numpy.array([1.0])], opt.init([numpy.ones(1)]), [numpy.ones(1)])
    # g = 1 + 1 * 1 = 2, buf = 2, step = g + 0.5 * buf = 3, p = 1 - 0.75.
    assert params[0].tolist() == [0.25]


def test_adam_first_step_is_lr_times_sign() -> None:
    opt = optim.Adam(lr=0.1, eps=0.0)
    params, state = opt.step(
        [numpy.array([3.0, -0.5])], opt.init([numpy.zeros(2)]), [numpy.zeros(2)]
    )
    numpy.testing.assert_allclose(params[0], [-0.1, 0.1], rtol=1e-15)
    numpy.testing.assert_allclose(state.exp_avg[0], [0.3, -0.05], rtol=1e-15)
    numpy.testing.assert_allclose(state.exp_avg_sq[0], [0.009, 0.00025], rtol=1e-12)
    assert state.max_exp_avg_sq == ()


def test_adamw_decays_the_parameter_not_the_gradient() -> None:
    params = [numpy.array([2.0])]
    adamw = optim.AdamW(lr=0.1, weight_decay=0.5, eps=0.0)
    new, _ = adamw.step([numpy.array([1.0])], adamw.init(params), params)
    assert new[0].tolist() == [pytest.approx(2.0 * (1 - 0.05) - 0.1, rel=1e-15)]
    adam = optim.Adam(lr=0.1, weight_decay=0.5, eps=0.0)  # g + 0.5 p = 2: still lr * sign
    new, _ = adam.step([numpy.array([1.0])], adam.init(params), params)
    assert new[0].tolist() == [pytest.approx(1.9, rel=1e-15)]


def test_adagrad_and_rmsprop_exact() -> None:
    adagrad = optim.Adagrad(lr=1.0, lr_decay=1.0, initial_accumulator_value=5.0, eps=0.0)
    params, state = [numpy.array([0.0])], adagrad.init([numpy.zeros(1)])
    for _ in range(2):
        params, state = adagrad.step([numpy.array([2.0])], state, params)
    # sum 9 then 13; clr 1 then 1/2: p = -2/3 - 1/sqrt(13).
    assert params[0][0] == pytest.approx(-2 / 3 - 1 / 13**0.5, rel=1e-15)
    rms = optim.RMSprop(lr=0.1, alpha=0.5, eps=0.0, centered=True)
    params, state = rms.step([numpy.array([2.0])], rms.init([numpy.zeros(1)]), [numpy.zeros(1)])
    # square_avg 2, grad_avg 1, avg = sqrt(2 - 1) = 1.
    assert params[0].tolist() == [pytest.approx(-0.2, rel=1e-15)]
    assert (state.square_avg[0].tolist(), state.grad_avg[0].tolist()) == ([2.0], [1.0])


# --- the state --------------------------------------------------------------------------------


@pytest.mark.parametrize("opt", CONFIGS, ids=IDS)
def test_state_is_a_pytree_of_arrays(opt: optim.Optimizer[Any]) -> None:
    params = _params()
    state = opt.init(params)
    assert type(state).__name__.endswith("State") and state._fields[0] == "step"
    assert state.step.shape == () and state.step.dtype == numpy.int64 and int(state.step) == 0
    _, state = _run(opt, params, state, 3, seed=1)
    assert int(state.step) == 3
    for leaf in cr.tree.leaves(state):
        assert isinstance(leaf, numpy.ndarray)
    for buffer in state[1:]:
        assert isinstance(buffer, tuple) and len(buffer) in (0, 3)
        assert [b.shape for b in buffer] in ([], [(2,), (), (3, 2)])


@pytest.mark.parametrize("opt", CONFIGS, ids=IDS)
def test_save_load_and_continue_is_identical(opt: optim.Optimizer[Any]) -> None:
    params, state = _run(opt, _params(), opt.init(_params()), 4, seed=1)
    file = io.BytesIO()
    numpy.savez(file, *cr.tree.leaves(params), *cr.tree.leaves(state))
    file.seek(0)
    with numpy.load(file, allow_pickle=False) as saved:
        arrays = [saved[f"arr_{i}"] for i in range(len(saved.files))]
    n = len(cr.tree.leaves(params))
    loaded_params = cr.tree.unflatten(cr.tree.structure(params), arrays[:n])
    loaded_state = cr.tree.unflatten(cr.tree.structure(opt.init(params)), arrays[n:])
    expected = _run(opt, params, state, 4, seed=2)
    resumed = _run(opt, loaded_params, loaded_state, 4, seed=2)
    for a, b in zip(cr.tree.leaves(expected), cr.tree.leaves(resumed), strict=True):
        assert a.dtype == b.dtype
        numpy.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("opt", CONFIGS, ids=IDS)
def test_update_does_not_mutate_its_inputs(opt: optim.Optimizer[Any]) -> None:
    params, state = _run(opt, _params(), opt.init(_params()), 2, seed=1)
    grads = _grads(params, numpy.random.default_rng(3))
    copies = [cr.tree.map(numpy.copy, t) for t in (grads, state, params)]
    opt.step(grads, state, params)
    for before, after in zip(copies, (grads, state, params), strict=True):
        for a, b in zip(cr.tree.leaves(before), cr.tree.leaves(after), strict=True):
            numpy.testing.assert_array_equal(a, b)


# --- optax's update and apply_updates -----------------------------------------------------


ADDITIVE = [c for c in CONFIGS if not isinstance(c, optim.AdamW)]  # AdamW's decay: below


@pytest.mark.parametrize("opt", ADDITIVE, ids=[repr(c) for c in ADDITIVE])
@pytest.mark.parametrize("dtype", [numpy.float32, numpy.float64])
def test_update_returns_the_change_that_step_adds(opt: optim.Optimizer[Any], dtype: Any) -> None:
    """update() is optax's: ``(updates, state)``, and params + updates is step's result.

    Both compute the change once and add it once, so they agree to the last bit.
    """
    params, state = _run(opt, _params(dtype), opt.init(_params(dtype)), 3, seed=1)
    rng = numpy.random.default_rng(2)
    for _ in range(20):
        grads = _grads(params, rng)
        updates, new_state = opt.update(grads, state, params)
        stepped, step_state = opt.step(grads, state, params)
        assert cr.tree.structure(updates) == cr.tree.structure(params)
        applied = optim.apply_updates(params, updates)
        for u, p, a, b in zip(
            *map(cr.tree.leaves, (updates, params, applied, stepped)), strict=True
        ):
            assert u.dtype == a.dtype == numpy.dtype(dtype) and u.shape == p.shape
            numpy.testing.assert_array_equal(a, b)
        for a, b in zip(cr.tree.leaves(new_state), cr.tree.leaves(step_state), strict=True):
            numpy.testing.assert_array_equal(a, b)
        params, state = stepped, step_state


@pytest.mark.parametrize("dtype", [numpy.float32, numpy.float64])
def test_adamw_update_is_the_exact_difference_where_sterbenz_allows(dtype: Any) -> None:
    """torch's AdamW step is ``new = p * (1 - lr wd) + change``; its additive update is
    ``new - p``: exact where new and p are within a factor 2 (Sterbenz's lemma), so that
    ``p + update`` gives the same bits there; elsewhere one rounding, at most 1 ulp of new."""
    opt = optim.AdamW(lr=0.05, weight_decay=0.5)
    params = {"w": numpy.linspace(-1.0, 1.0, 101).astype(dtype)}  # some cross zero
    state = opt.init(params)
    grads = {"w": numpy.cos(numpy.arange(101.0)).astype(dtype)}
    updates, _ = opt.update(grads, state, params)
    stepped, _ = opt.step(grads, state, params)
    old, new = params["w"], stepped["w"]
    applied = optim.apply_updates(params, updates)["w"]
    close = (old / 2 <= new) & (new <= 2 * old) | (2 * old <= new) & (new <= old / 2)
    assert close.sum() > 80
    numpy.testing.assert_array_equal(applied[close], new[close])
    assert numpy.all(numpy.abs(applied - new) <= numpy.spacing(numpy.abs(new)))
    with pytest.raises(ValueError, match=r"AdamW\.update needs params for its weight decay"):
        opt.update(grads, state)


def test_update_matches_optax_sign_convention() -> None:
    """optax: updates are added; plain SGD's update is -lr * g, whatever the parameters."""
    opt = optim.SGD(lr=0.5)
    grads = {"w": numpy.array([2.0, -4.0], numpy.float32)}
    updates, state = opt.update(grads, opt.init(grads))  # params are optional, as in optax
    assert updates["w"].tolist() == [-1.0, 2.0] and updates["w"].dtype == numpy.float32
    assert int(state.step) == 1
    new = optim.apply_updates({"w": numpy.ones(2, numpy.float32)}, updates)
    assert new["w"].tolist() == [0.0, 3.0] and new["w"].dtype == numpy.float32
    with pytest.raises(TypeError, match="gradient leaf 0 has dtype int64: without params"):
        opt.update({"w": numpy.array([1, 2])}, state)


def test_apply_updates_keeps_dtypes_and_checks_its_arguments() -> None:
    params = {"w": numpy.array([1.0, 2.0], numpy.float32), "b": numpy.array(0.5)}
    updates = {"w": numpy.array([1e-8, 0.25]), "b": numpy.array(0.25)}
    new = optim.apply_updates(params, updates)
    # float32 + float64 is computed in float64 and rounded once to float32, as optax's cast.
    assert new["w"].dtype == numpy.float32 and new["w"].tolist() == [1.0, 2.25]
    assert isinstance(new["b"], numpy.ndarray) and new["b"].shape == () and new["b"] == 0.75
    assert params["w"].tolist() == [1.0, 2.0]  # nothing changed in place
    with pytest.raises(ValueError, match="updates must have the structure of params"):
        optim.apply_updates(params, {"w": updates["w"]})
    with pytest.raises(ValueError, match=r"updates leaf 1 has shape \(3,\), its parameter \(2,\)"):
        optim.apply_updates(params, {"w": numpy.zeros(3), "b": numpy.array(0.0)})
    with pytest.raises(TypeError, match="updates leaf 0 has dtype complex128"):
        optim.apply_updates(params, {"w": numpy.array(0.0), "b": numpy.zeros(2, complex)})


# --- in place ---------------------------------------------------------------------------------


@pytest.mark.parametrize("opt", CONFIGS, ids=IDS)
@pytest.mark.parametrize("dtype", [numpy.float32, numpy.float64])
def test_inplace_is_bit_identical_to_pure_and_keeps_the_arrays(
    opt: optim.Optimizer[Any], dtype: Any
) -> None:
    pure, pure_state = _params(dtype), opt.init(_params(dtype))
    params = _params(dtype)
    state = opt.init(params)
    arrays = cr.tree.leaves((params, state[1:]))  # the 0-d parameter leaf included
    other = numpy.float64 if dtype == numpy.float32 else numpy.float32
    rng = numpy.random.default_rng(1)
    for k in range(100):
        grads = _grads(params, rng)
        if k % 10 == 3:  # gradients of another float dtype are cast, in both modes
            grads = cr.tree.map(lambda x: x.astype(other), grads)
        pure, pure_state = opt.step(grads, pure_state, pure)
        new, state = opt.step(grads, state, params, inplace=True)
        assert new is params and int(state.step) == k + 1
        for a, b in zip(cr.tree.leaves((new, state[1:])), arrays, strict=True):
            assert a is b
    assert int(state.step) == int(pure_state.step) == 100
    for a, b in zip(
        cr.tree.leaves((pure, pure_state)), cr.tree.leaves((params, state)), strict=True
    ):
        assert a.dtype == b.dtype and a.shape == b.shape
        numpy.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("opt", CONFIGS, ids=IDS)
@pytest.mark.parametrize("mode", ["step", "inplace", "update"])
def test_large_leaves_update_block_by_block_with_the_same_bits(
    opt: optim.Optimizer[Any], mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chainrule.core import blocks
    from chainrule.optim import optimizers

    def run(block_bytes: int) -> Any:
        monkeypatch.setattr(blocks, "BLOCK_BYTES", block_bytes)
        rng = numpy.random.default_rng(3)
        params = {  # 37 rows of 20 bytes: blocks of 8 rows and one of 5; a vector; a number
            "w": rng.standard_normal((37, 5)).astype(numpy.float32),
            "b": [rng.standard_normal(50), numpy.array(0.5)],
        }
        state = opt.init(params)
        for _ in range(3):  # (SGD's momentum starts at the gradient on the first step)
            grads = _grads(params, rng)
            if mode == "update":
                updates, state = opt.update(grads, state, params)
                params = optim.apply_updates(params, updates)
            else:
                params, state = opt.step(grads, state, params, inplace=mode == "inplace")
        return cr.tree.leaves((params, state))

    whole, blocked = run(1 << 30), run(160)
    assert optimizers._row_blocks(numpy.zeros((37, 5), numpy.float32)) is not None
    for a, b in zip(whole, blocked, strict=True):
        numpy.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("opt", CONFIGS, ids=IDS)
def test_inplace_writes_into_params_and_state_only(opt: optim.Optimizer[Any]) -> None:
    params, state = _run(opt, _params(), opt.init(_params()), 2, seed=1)
    grads = _grads(params, numpy.random.default_rng(3))
    grad_copies = cr.tree.map(numpy.copy, grads)
    expected = opt.step(grads, state, params)
    _, new_state = opt.step(grads, state, params, inplace=True)
    assert int(state.step) == 3 and new_state.step is state.step  # counted in place too
    for a, b in zip(cr.tree.leaves(grads), cr.tree.leaves(grad_copies), strict=True):
        numpy.testing.assert_array_equal(a, b)
    for a, b in zip(cr.tree.leaves(expected), cr.tree.leaves((params, new_state)), strict=True):
        numpy.testing.assert_array_equal(a, b)


def _bad_for_inplace(case: str) -> tuple[list[Any], Any, str]:
    """Parameters and Adam state that an in-place update must refuse, and the error."""
    params: list[Any] = [numpy.ones((2, 4)), numpy.zeros(4), numpy.array(0.5)]
    state = optim.Adam().init(params)
    if case == "read-only parameter":
        params[1].flags.writeable = False
        return params, state, r"parameter leaf 1 is read-only"
    if case == "read-only buffer":
        state.exp_avg_sq[2].flags.writeable = False
        return params, state, r"state\.exp_avg_sq\[2\] is read-only"
    if case == "not contiguous":
        params[0] = numpy.ones((2, 8))[:, ::2]
        return params, state, r"parameter leaf 0 is not contiguous"
    if case == "python float":
        params[2] = 0.5
        return params, state, r"parameter leaf 2 is a float, not a NumPy array"
    if case == "numpy scalar":
        params[2] = numpy.float64(0.5)
        return params, state, r"parameter leaf 2 is a float64, not a NumPy array"
    assert case == "shared buffer"
    params[2] = numpy.zeros(4)
    state = optim.Adam().init(params)
    state = state._replace(exp_avg=(state.exp_avg[0], state.exp_avg[1], state.exp_avg[1]))
    return params, state, r"state\.exp_avg\[2\] is the same array as state\.exp_avg\[1\]"


@pytest.mark.parametrize(
    "case",
    [
        "read-only parameter",
        "read-only buffer",
        "not contiguous",
        "python float",
        "numpy scalar",
        "shared buffer",
    ],
)
def test_inplace_refuses_arrays_it_cannot_write(case: str) -> None:
    params, state, match = _bad_for_inplace(case)
    opt = optim.Adam(lr=0.1)
    grads = [numpy.ones(numpy.shape(p)) for p in params]
    before = [numpy.copy(x) for x in cr.tree.leaves((params, state))]
    with pytest.raises(ValueError, match=match + r": inplace=True writes .*use inplace=False"):
        opt.step(grads, state, params, inplace=True)
    for a, b in zip(before, cr.tree.leaves((params, state)), strict=True):
        numpy.testing.assert_array_equal(a, b)  # nothing written, not even the other leaves
    new, _ = opt.step(grads, state, params)  # a pure update takes them
    numpy.testing.assert_allclose(new[0], 0.9, rtol=1e-7)


def test_inplace_counts_the_step_in_place_as_torch_does() -> None:
    """A torch-style loop that ignores the state returned goes on with the right count
    (the moments advanced in place while the count stayed at 0 gave every step the first
    step's bias correction)."""
    opt = optim.Adam(lr=0.1)
    g = [numpy.array([0.5, -1.0])]
    p, state = [numpy.array([1.0, 2.0])], opt.init([numpy.array([1.0, 2.0])])
    q, pure = [numpy.array([1.0, 2.0])], opt.init([numpy.array([1.0, 2.0])])
    for _ in range(3):
        opt.step(g, state, p, inplace=True)
        q, pure = opt.step(g, pure, q)
    assert int(state.step) == 3
    numpy.testing.assert_array_equal(p[0], q[0])
    for step, what in (
        (3, "int"),
        (numpy.int64(3), "int64"),
        (numpy.array(3), "a read-only array"),
    ):
        if isinstance(step, numpy.ndarray):
            step.flags.writeable = False
        with pytest.raises(ValueError, match=f"state.step is {what}: inplace=True counts the step"):
            opt.step(g, state._replace(step=step), p, inplace=True)
    numpy.testing.assert_array_equal(p[0], q[0])  # nothing written
    full = state._replace(step=numpy.array(255, numpy.uint8))  # (a count that would wrap)
    with pytest.raises(OverflowError, match=r"state.step \(uint8\) cannot count past 255"):
        opt.step(g, full, p, inplace=True)
    numpy.testing.assert_array_equal(p[0], q[0])


def test_inplace_refuses_the_same_parameter_twice() -> None:
    w = numpy.ones(3)
    opt = optim.SGD(lr=0.1)
    with pytest.raises(ValueError, match="parameter leaf 1 is the same array as parameter leaf 0"):
        opt.step([w, w], opt.init([w, w]), [w, w], inplace=True)
    assert w.tolist() == [1.0, 1.0, 1.0]


@pytest.mark.parametrize("opt", CONFIGS, ids=IDS)
@pytest.mark.parametrize("dtype", [numpy.float32, numpy.float64])
def test_dtype_is_kept(opt: optim.Optimizer[Any], dtype: Any) -> None:
    params = _params(dtype)
    params, state = _run(opt, params, opt.init(params), 2, seed=1)
    # float64 gradients for float32 parameters are cast, not allowed to upcast.
    grads = cr.tree.map(lambda x: numpy.ones(x.shape), params)
    params, state = opt.step(grads, state, params)
    assert {x.dtype for x in cr.tree.leaves(params)} == {numpy.dtype(dtype)}
    assert {x.dtype for x in cr.tree.leaves(state[1:])} <= {numpy.dtype(dtype)}
    assert isinstance(params["b"][1], numpy.ndarray) and params["b"][1].shape == ()


class _Line(nn.Module):
    w: Any
    b: Any
    name: str = "line"

    def __call__(self, x: Any) -> Any:
        return x @ self.w + self.b


@pytest.mark.parametrize("inplace", [False, True])
def test_updates_an_nn_module(inplace: bool) -> None:
    model = _Line(numpy.ones((2, 1), numpy.float32), numpy.zeros(1, numpy.float32), "fit")
    first = model
    x = numpy.array([[1.0, 2.0], [3.0, -1.0]], numpy.float32)
    y = numpy.array([[1.0], [0.0]], numpy.float32)

    def loss(m: _Line) -> Any:
        return np.mean((m(x) - y) ** 2)

    opt = optim.SGD(lr=0.05, momentum=0.9)
    state = opt.init(model)
    for _ in range(300):
        model, state = opt.step(cr.grad(loss)(model), state, model, inplace=inplace)
    assert (model is first) == inplace
    assert isinstance(model, _Line) and model.name == "fit"
    assert model.w.dtype == numpy.float32
    assert float(loss(model)) < 1e-10


# --- learning rate schedules ------------------------------------------------------------------


def test_schedule_as_lr_is_evaluated_at_the_update_count() -> None:
    calls = []

    def halving(step: int) -> float:
        calls.append(step)
        return 1.0 / 2**step

    opt = optim.SGD(lr=halving)
    params, state = [numpy.array([0.0])], opt.init([numpy.zeros(1)])
    for _ in range(3):
        params, state = opt.step([numpy.array([1.0])], state, params)
    assert calls == [0, 1, 2] and params[0].tolist() == [-1.75]


def test_schedule_as_lr_in_adam_matches_changing_a_constant_lr() -> None:
    schedule = schedules.exponential(0.1, gamma=0.5)
    params = _params(numpy.float64)
    scheduled, state = params, optim.Adam(lr=schedule).init(params)
    manual, manual_state = params, state
    rng = numpy.random.default_rng(5)
    for k in range(4):
        grads = _grads(params, rng)
        scheduled, state = optim.Adam(lr=schedule).step(grads, state, scheduled)
        manual, manual_state = optim.Adam(lr=0.1 * 0.5**k).step(grads, manual_state, manual)
    for a, b in zip(cr.tree.leaves(scheduled), cr.tree.leaves(manual), strict=True):
        numpy.testing.assert_array_equal(a, b)


def test_schedule_values() -> None:
    assert [schedules.step(1.0, 3, 0.5)(k) for k in (0, 2, 3, 5, 6)] == [1, 1, 0.5, 0.5, 0.25]
    assert schedules.exponential(2.0, 0.5)(3) == 0.25
    cos = schedules.cosine(1.0, total_steps=2, min_lr=0.5)
    assert [cos(k) for k in range(4)] == [1.0, 0.75, 0.5, 0.5]
    warm = schedules.linear_warmup(schedules.step(1.0, 2, 0.5), warmup_steps=4)
    assert [warm(k) for k in range(9)] == [0.0, 0.25, 0.5, 0.75, 1.0, 1.0, 0.5, 0.5, 0.25]
    assert schedules.linear_warmup(0.3, 0)(0) == 0.3
    assert schedules.constant(0.1)(numpy.int64(7)) == 0.1


def test_schedule_repr() -> None:
    warm = schedules.linear_warmup(schedules.cosine(0.1, 100), warmup_steps=10)
    assert repr(warm) == (
        "linear_warmup(schedule_or_lr=cosine(lr=0.1, total_steps=100, min_lr=0.0), "
        "warmup_steps=10, start_factor=0.0)"
    )
    assert repr(schedules.step(0.1, 30)) == "step(lr=0.1, step_size=30, gamma=0.1)"


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: schedules.constant(-0.1), ValueError, "lr must be"),
        (lambda: schedules.constant("0.1"), TypeError, "lr must be a real number"),
        (lambda: schedules.step(0.1, 0), ValueError, "step_size must be at least 1"),
        (lambda: schedules.step(0.1, 2.5), TypeError, "step: step_size must be an int"),
        (lambda: schedules.exponential(0.1, float("nan")), ValueError, "gamma must be"),
        (lambda: schedules.cosine(0.1, 0), ValueError, "total_steps must be at least 1"),
        (lambda: schedules.linear_warmup(0.1, -1), ValueError, "warmup_steps must be"),
        (lambda: schedules.linear_warmup(0.1, 5, 1.5), ValueError, "start_factor must be"),
        (lambda: schedules.constant(0.1)(-1), ValueError, "step must be at least 0"),
        (lambda: schedules.constant(0.1)(True), TypeError, "constant: step must be an int"),
    ],
)
def test_schedule_errors(make: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        make()


# --- repr and errors --------------------------------------------------------------------------


def test_repr() -> None:
    assert repr(optim.SGD(lr=0.1, momentum=0.9, nesterov=True)) == (
        "SGD(lr=0.1, momentum=0.9, dampening=0.0, nesterov=True, weight_decay=0.0, maximize=False)"
    )
    assert repr(optim.AdamW(lr=schedules.cosine(1e-3, 10))) == (
        "AdamW(lr=cosine(lr=0.001, total_steps=10, min_lr=0.0), betas=(0.9, 0.999), "
        "eps=1e-08, weight_decay=0.01, amsgrad=False, maximize=False)"
    )
    assert repr(optim.Adagrad(lr_decay=numpy.float64(0.5))) == (
        "Adagrad(lr=0.01, lr_decay=0.5, weight_decay=0.0, initial_accumulator_value=0.0, "
        "eps=1e-10, maximize=False)"
    )
    assert repr(optim.RMSprop(centered=True)) == (
        "RMSprop(lr=0.01, alpha=0.99, eps=1e-08, weight_decay=0.0, momentum=0.0, "
        "centered=True, maximize=False)"
    )


def test_hyper_parameters_are_python_floats_and_frozen() -> None:
    opt = optim.Adam(lr=numpy.float32(0.5), betas=[0.5, numpy.float64(0.75)])
    assert type(opt.lr) is float and opt.betas == (0.5, 0.75)
    assert all(type(b) is float for b in opt.betas)
    with pytest.raises(AttributeError):
        opt.lr = 0.1  # type: ignore[misc]
    assert optim.Adam(lr=0.5) == optim.Adam(lr=0.5) != optim.AdamW(lr=0.5)


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: optim.SGD(lr=-0.1), ValueError, "lr must be"),
        (lambda: optim.SGD(lr=float("inf")), ValueError, "lr must be"),
        (lambda: optim.SGD(lr=0.1, momentum=-0.9), ValueError, "momentum must be"),
        (lambda: optim.SGD(lr=0.1, nesterov=True), ValueError, "Nesterov momentum requires"),
        (
            lambda: optim.SGD(lr=0.1, momentum=0.9, dampening=0.1, nesterov=True),
            ValueError,
            "zero dampening",
        ),
        (lambda: optim.SGD(lr=0.1, nesterov=1), TypeError, "nesterov must be True or False"),
        (lambda: optim.SGD(0.1, 0.9), TypeError, "positional"),
        (lambda: optim.RMSprop(alpha=-0.5), ValueError, "alpha must be"),
        (lambda: optim.RMSprop(eps=-1e-8), ValueError, "eps must be"),
        (lambda: optim.Adagrad(lr_decay=-1.0), ValueError, "lr_decay must be"),
        (
            lambda: optim.Adagrad(initial_accumulator_value=-1.0),
            ValueError,
            "initial_accumulator_value must be",
        ),
        (lambda: optim.Adam(betas=(1.0, 0.999)), ValueError, r"betas\[0\] must be"),
        (lambda: optim.Adam(betas=(0.9, -0.1)), ValueError, r"betas\[1\] must be"),
        (lambda: optim.Adam(betas=0.9), TypeError, "betas must be a pair"),
        (lambda: optim.AdamW(weight_decay=-0.01), ValueError, "weight_decay must be"),
        (lambda: optim.Adam(amsgrad="yes"), TypeError, "amsgrad must be True or False"),
    ],
)
def test_bad_hyper_parameters(make: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        make()


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (
            lambda: optim.Adam(betas=(1.0, 0.999)),
            ValueError,
            "Adam: betas[0] must be a finite number in [0, 1), got 1.0.",
        ),
        (lambda: optim.SGD(lr="0.1"), TypeError, "SGD: lr must be a real number, got '0.1'."),
        (
            lambda: optim.RMSprop(centered=1),
            TypeError,
            "RMSprop: centered must be True or False, got 1.",
        ),
        (
            lambda: schedules.cosine(0.1, 2.5),
            TypeError,
            "cosine: total_steps must be an int, got 2.5.",
        ),
        (
            lambda: schedules.linear_warmup(0.1, 5, 1.5),
            ValueError,
            "linear_warmup: start_factor must be a finite number in [0, 1], got 1.5.",
        ),
        (
            lambda: optim.clip_by_value([numpy.ones(2)], float("nan")),
            ValueError,
            "clip_by_value: clip_value must be a finite number >= 0, got nan.",
        ),
    ],
)
def test_errors_name_the_function_in_chainrule_validate_wording(
    make: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=f"^{re.escape(message)}$"):
        make()


def test_zero_dimensional_arrays_are_numbers_and_counts() -> None:
    opt = optim.SGD(lr=numpy.array(0.5))
    params = {"w": numpy.ones(2)}
    state = opt.init(params)._replace(step=numpy.array(3))
    assert opt.lr == 0.5 and type(opt.lr) is float
    new, state = opt.step({"w": numpy.ones(2)}, state, params)
    assert new["w"].tolist() == [0.5, 0.5] and state.step == 4


def test_bad_update_arguments() -> None:
    opt = optim.SGD(lr=0.1, momentum=0.9)
    params = {"w": numpy.zeros((2, 3))}
    state = opt.init(params)
    with pytest.raises(ValueError, match="grads must have the structure of params"):
        opt.step({"v": numpy.zeros((2, 3))}, state, params)
    with pytest.raises(ValueError, match=r"gradient leaf 0 has shape \(3, 2\)"):
        opt.step({"w": numpy.zeros((3, 2))}, state, params)
    with pytest.raises(TypeError, match="parameter leaf 0 has dtype int64"):
        opt.init({"w": numpy.zeros(3, dtype=numpy.int64)})
    with pytest.raises(TypeError, match="needs a SGDState, got AdamState"):
        opt.step(params, optim.Adam().init(params), params)
    with pytest.raises(ValueError, match=r"state\.momentum_buffer holds 0 arrays, expected 1"):
        opt.step(params, optim.SGD(lr=0.1).init(params), params)
    with pytest.raises(ValueError, match=r"state.momentum_buffer\[0\] is float64\[2, 3\]"):
        opt.step({"w": numpy.zeros(2)}, state, {"w": numpy.zeros(2)})
    with pytest.raises(ValueError, match=r"state\.step must be at least 0"):
        opt.step(params, state._replace(step=numpy.array(-1)), params)
    negative = optim.SGD(lr=lambda step: -1.0)
    with pytest.raises(ValueError, match="lr \\(the schedule's value at step 0\\) must be"):
        negative.step(params, negative.init(params), params)


# --- convergence ------------------------------------------------------------------------------

TARGET = {"w": numpy.array([[1.0, -2.0], [0.5, 3.0]]), "b": numpy.array(-1.5)}
CURVATURE = {"w": numpy.array([[1.0, 4.0], [0.25, 2.0]]), "b": numpy.array(9.0)}


def _bowl(params: Any) -> Any:
    """An anisotropic quadratic bowl with its minimum 0 at TARGET."""
    terms = cr.tree.map(lambda p, c, t: np.sum(c * (p - t) ** 2), params, CURVATURE, TARGET)
    return 0.5 * sum(cr.tree.leaves(terms))


@pytest.mark.parametrize(
    ("opt", "steps"),
    [
        (optim.SGD(lr=0.1), 300),
        (optim.SGD(lr=0.05, momentum=0.9, nesterov=True), 300),
        (optim.RMSprop(lr=schedules.cosine(0.05, 400)), 400),
        (optim.RMSprop(lr=0.01, centered=True, momentum=0.5), 400),
        (optim.Adagrad(lr=0.5), 400),
        (optim.Adam(lr=schedules.linear_warmup(schedules.cosine(0.1, 450), 50)), 500),
        (optim.AdamW(lr=schedules.cosine(0.1, 500), weight_decay=0.0, amsgrad=True), 500),
    ],
    ids=repr,
)
def test_converges_on_a_quadratic_bowl(opt: optim.Optimizer[Any], steps: int) -> None:
    params = cr.tree.map(numpy.zeros_like, TARGET)
    state = opt.init(params)
    grad = cr.grad(_bowl)
    for _ in range(steps):
        params, state = opt.step(grad(params), state, params)
    assert float(_bowl(params)) < 1e-6
    for p, t in zip(cr.tree.leaves(params), cr.tree.leaves(TARGET), strict=True):
        numpy.testing.assert_allclose(p, t, atol=1e-3)


# --- clipping ---------------------------------------------------------------------------------


def test_global_norm() -> None:
    grads = {"a": numpy.array([3.0]), "b": [numpy.array([[4.0, 12.0]])], "c": numpy.array(0.0)}
    assert optim.global_norm(grads) == 13.0
    assert optim.global_norm([]) == 0.0


def test_clip_by_global_norm() -> None:
    grads = {"a": numpy.array([3.0], numpy.float32), "b": numpy.array([4.0], numpy.float32)}
    clipped = optim.clip_by_global_norm(grads, 1.0)
    scale = 1.0 / (5.0 + 1e-6)
    assert clipped["a"].dtype == numpy.float32
    assert clipped["a"].tolist() == [numpy.float32(3.0 * scale)]
    assert clipped["b"].tolist() == [numpy.float32(4.0 * scale)]
    assert grads["a"].tolist() == [3.0]  # not mutated
    # Torch's formula: a norm equal to max_norm still scales, by 5 / (5 + 1e-6).
    assert optim.clip_by_global_norm(grads, 5.0)["a"].tolist() == [numpy.float32(2.9999995)]
    assert optim.clip_by_global_norm(grads, 5.00001) is grads
    with pytest.raises(ValueError, match="max_norm must be"):
        optim.clip_by_global_norm(grads, -1.0)


def test_clip_by_value() -> None:
    grads = [numpy.array([-2.0, 0.25, 7.0], numpy.float32), numpy.array(-0.5, numpy.float32)]
    clipped = optim.clip_by_value(grads, 0.5)
    assert clipped[0].tolist() == [-0.5, 0.25, 0.5] and clipped[0].dtype == numpy.float32
    assert clipped[1].tolist() == -0.5
    assert grads[0].tolist() == [-2.0, 0.25, 7.0]
    with pytest.raises(ValueError, match="clip_value must be"):
        optim.clip_by_value(grads, -0.5)
