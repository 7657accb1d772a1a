"""`jit` of a whole training step: optimizers, schedules, clipping, DP-SGD and nn modules
traced into one program, replayed on new batches with the eager step's numbers; `fit` and
`chainrule train` using it by default.

Every comparison replays a program on inputs other than the traced ones (and checks that
it was replayed, not traced again), so a value frozen at trace time fails it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import data, nn, optim, train
from chainrule.optim import schedules

OPTIMIZERS = [
    optim.SGD(lr=0.1),
    optim.SGD(lr=0.1, momentum=0.9),
    optim.SGD(lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.1),
    optim.SGD(lr=0.1, momentum=0.9, nesterov=True, maximize=True),
    optim.RMSprop(lr=0.01),
    optim.RMSprop(lr=0.01, centered=True, momentum=0.5, weight_decay=0.1),
    optim.Adagrad(lr=0.1, lr_decay=0.3, initial_accumulator_value=0.1),
    optim.Adam(lr=0.1),
    optim.Adam(lr=0.1, amsgrad=True, weight_decay=0.1, maximize=True),
    optim.AdamW(lr=0.1, weight_decay=0.5),
    optim.AdamW(lr=schedules.linear_warmup(schedules.cosine(0.1, 3), 2), amsgrad=True),
    optim.SGD(lr=schedules.step(0.1, 2, 0.5), momentum=0.5),
    optim.Adam(lr=schedules.exponential(0.1, 0.7)),
]


def _params(dtype: Any) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    return {"w": rng.normal(size=(3, 2)).astype(dtype), "b": np.array(0.5, dtype)}


def _grads(rng: np.random.Generator, dtype: Any) -> dict[str, Any]:
    return {"w": rng.normal(size=(3, 2)).astype(dtype), "b": np.array(rng.normal(), dtype)}


def _assert_close(got: Any, want: Any, rtol: float) -> None:
    got_leaves, want_leaves = cr.tree.leaves(got), cr.tree.leaves(want)
    assert cr.tree.structure(got) == cr.tree.structure(want)
    for a, b in zip(got_leaves, want_leaves, strict=True):
        assert np.asarray(a).dtype == np.asarray(b).dtype
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * 1e-3)


def _tolerance(dtype: Any) -> float:
    return 1e-6 if dtype == np.float32 else 1e-13


@pytest.mark.parametrize("opt", OPTIMIZERS, ids=repr)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_jitted_step_equals_eager_steps(opt: optim.Optimizer[Any], dtype: Any) -> None:
    """Five steps on changing gradients: the step counter, Adam's bias corrections,
    SGD's first-step momentum and the schedule's rate change from call to call. The
    program runs the eager update's operations on the same values: the same bits."""
    step = cr.jit(opt.step)
    update = cr.jit(opt.update)
    eager = jitted = optimized = _params(dtype)
    eager_state = jitted_state = update_state = opt.init(eager)
    apply = cr.jit(optim.apply_updates)
    rng = np.random.default_rng(1)
    for k in range(5):
        grads = _grads(rng, dtype)
        want = opt.update(grads, update_state, optimized)
        eager, eager_state = opt.step(grads, eager_state, eager)
        jitted, jitted_state = step(grads, jitted_state, jitted)
        updates, update_state = update(grads, update_state, optimized)
        _assert_close(updates, want[0], 0.0)
        _assert_close(update_state, want[1], 0.0)
        optimized = (optim.apply_updates if k % 2 else apply)(optimized, updates)
        _assert_close(jitted, eager, 0.0)
        _assert_close(jitted_state, eager_state, 0.0)
        _assert_close(optimized, eager, _tolerance(dtype))
    assert len(step.programs()) == 1 and len(update.programs()) == 1  # replayed four times
    assert int(jitted_state.step) == 5


@pytest.mark.parametrize("opt", OPTIMIZERS, ids=repr)
def test_jitted_steps_with_closed_over_arrays_equal_eager_steps(opt: optim.Optimizer[Any]) -> None:
    """Grads, state or params closed over (constants of the program) rather than passed:
    the update is then one line running the eager one on each call, the same bits."""
    params = _params(np.float64)
    grads = _grads(np.random.default_rng(2), np.float64)
    state = opt.step(grads, opt.init(params), params)[1]  # buffers not zero
    for jitted, args in (
        (cr.jit(lambda p: opt.step(grads, state, p)), (params,)),
        (cr.jit(lambda g: opt.step(g, state, params)), (grads,)),
        (cr.jit(lambda s: opt.step(grads, s, params)), (state,)),
    ):
        for _ in range(2):
            _assert_close(jitted(*args), opt.step(grads, state, params), 0.0)


def test_jitted_steps_give_arrays_back_as_eager_steps_do() -> None:
    """0-d leaves and the step count come back as 0-d arrays (an in-place step can take
    them next), and the count is an int64 whatever the given one's type, as eagerly: a
    uint8 count does not wrap to 0 (which would restart Adam's bias correction)."""
    opt = optim.Adam(lr=0.1)
    params = _params(np.float32)
    step = cr.jit(opt.step)
    for count in (np.array(255, np.uint8), np.array(4, np.int32)):
        state = opt.init(params)._replace(step=count)
        got, want = step(params, state, params), opt.step(params, state, params)
        _assert_close(got, want, 0.0)
        assert isinstance(got[0]["b"], np.ndarray) and isinstance(got[1].step, np.ndarray)
        assert got[1].step.dtype == np.int64 and int(got[1].step) == int(count) + 1
        opt.step(params, got[1], got[0], inplace=True)


def test_a_bad_learning_rate_raises_under_jit_even_when_the_update_is_unread() -> None:
    opt = optim.SGD(lr=lambda step: 0.1 if step < 2 else -1.0)
    params = [np.ones(2)]
    counts = cr.jit(lambda g, s, p: opt.step(g, s, p)[1].step)  # the new count alone
    state = opt.init(params)
    for _ in range(2):
        state = state._replace(step=counts(params, state, params))
    with pytest.raises(ValueError, match="at step 2\\) must be a finite number >= 0"):
        counts(params, state, params)


def test_training_loops_in_a_scan_under_vmap_equal_a_loop_of_them() -> None:
    """An optimizer's step in a loop's body, the body replayed under `vmap` (an ensemble
    of inner training loops): its scalars line then takes traced step counts."""
    opt = optim.Adam(lr=0.1)

    def train(w0: Any, xs: Any) -> Any:
        def body(carry: Any, x: Any) -> Any:
            w, state = carry
            return opt.step(2 * (w - x), state, w), None

        (w, _), _ = cr.scan(body, (w0, opt.init(w0)), xs)
        return w

    xs, starts = np.arange(6.0).reshape(3, 2), np.array([[1.0, 2.0], [3.0, 4.0]])
    want = np.array([train(w, xs) for w in starts])
    for batched in (cr.vmap(train, (0, None)), cr.jit(cr.vmap(train, (0, None)))):
        np.testing.assert_allclose(batched(starts, xs), want, rtol=1e-14)


@pytest.mark.parametrize("opt", OPTIMIZERS, ids=repr)
def test_a_step_with_plain_buffers_is_differentiated_and_batched(
    opt: optim.Optimizer[Any],
) -> None:
    """Through a step whose state is a plain array (a meta-gradient, MAML's inner step),
    `grad` and `jit(grad)` agree with central differences; `vmap` over the gradients and
    parameters alone, with one plain state, equals a loop. (The formulas' in-place steps
    make new values where a plain buffer meets a traced gradient.)"""
    params = _params(np.float64)
    g0 = _grads(np.random.default_rng(3), np.float64)
    state = opt.step(g0, opt.init(params), params)[1]  # buffers not zero

    def meta(q: Any) -> Any:
        grads = {k: v * q[i] for i, (k, v) in enumerate(sorted(g0.items()))}
        new = opt.step(grads, state, params)[0]
        return sum(cnp.sum(v**2) for v in cr.tree.leaves(new))

    q = np.array([0.7, 1.3])
    want = np.array([
        (float(meta(q + e)) - float(meta(q - e))) / 2e-6 for e in np.eye(2) * 1e-6
    ])  # fmt: skip
    for got in (cr.grad(meta)(q), cr.jit(cr.grad(meta))(q)):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9)
    stack = {"w": np.stack([params["w"], -params["w"]]), "b": np.array([0.5, -0.5])}
    grads = {"w": np.stack([g0["w"], 2 * g0["w"]]), "b": np.array([0.1, 0.2])}
    batched = cr.vmap(lambda g, p: opt.step(g, state, p)[0])(grads, stack)
    for i in range(2):
        one = opt.step(
            {k: v[i] for k, v in grads.items()}, state, {k: v[i] for k, v in stack.items()}
        )[0]
        _assert_close({k: v[i] for k, v in batched.items()}, one, 1e-14)


@pytest.mark.parametrize("opt", OPTIMIZERS, ids=repr)
def test_a_step_differentiated_in_one_state_buffer_is_right_on_every_call(
    opt: optim.Optimizer[Any],
) -> None:
    """Only one buffer of the state traced, the rest plain: a traced update writes into
    none of its arrays, as a compiled program keeps the plain values its lines read (a
    write would change them for the next call)."""
    params = _params(np.float64)
    grads = _grads(np.random.default_rng(4), np.float64)
    state = opt.step(grads, opt.init(params), params)[1]
    for column in range(1, len(state)):
        if not state[column]:
            continue

        def f(q: Any, column: int = column) -> Any:
            scaled = tuple(b * q for b in state[column])
            new = opt.step(grads, state._replace(**{state._fields[column]: scaled}), params)
            return sum(cnp.sum(v**2) for v in cr.tree.leaves(new[0]))

        jitted = cr.jit(cr.grad(f))
        for q in (1.5, 2.5, 1.5):
            want = (float(f(q + 1e-6)) - float(f(q - 1e-6))) / 2e-6
            np.testing.assert_allclose(jitted(q), want, rtol=1e-6, atol=1e-9)


def test_a_first_momentum_step_is_differentiated() -> None:
    """SGD's first step with momentum starts its buffer at the gradient itself."""
    opt = optim.SGD(lr=0.1, momentum=0.9, nesterov=True)
    params = _params(np.float64)
    grads = _grads(np.random.default_rng(5), np.float64)

    def f(q: Any) -> Any:
        new = opt.step({k: v * q for k, v in grads.items()}, opt.init(params), params)[0]
        return sum(cnp.sum(v**2) for v in cr.tree.leaves(new))

    want = (float(f(1.0 + 1e-6)) - float(f(1.0 - 1e-6))) / 2e-6
    for grad in (cr.grad(f), cr.jit(cr.grad(f))):
        np.testing.assert_allclose(grad(1.0), want, rtol=1e-6)
    np.testing.assert_allclose(cr.vmap(f)(np.array([1.0, 2.0])), [f(1.0), f(2.0)], rtol=1e-14)


def test_a_schedule_is_recomputed_on_every_call_under_jit() -> None:
    for schedule in [
        schedules.cosine(0.1, total_steps=4, min_lr=0.01),
        schedules.linear_warmup(schedules.step(1.0, 2, 0.5), warmup_steps=3, start_factor=0.2),
        schedules.exponential(0.5, 0.9),
        schedules.constant(0.3),
    ]:
        rate = cr.jit(schedule)
        for k in [0, 1, 2, 3, 4, 7, 10]:
            assert float(rate(np.array(k))) == pytest.approx(schedule(k), rel=1e-15)
        assert len(rate.programs()) == 1


def test_a_jitted_step_with_a_learning_rate_schedule_and_clipping() -> None:
    """A whole step, gradients and clipping included, under a cosine schedule: the batches
    alternate between gradients that are clipped and gradients that are not."""
    opt = optim.Adam(lr=schedules.cosine(0.2, total_steps=4))

    def loss(w: Any, x: Any, y: Any) -> Any:
        return cnp.mean((x @ w - y) ** 2)

    def step(w: Any, state: Any, x: Any, y: Any) -> Any:
        value, grads = cr.value_and_grad(loss)(w, x, y)
        return (*opt.step(optim.clip_by_global_norm(grads, 1.0), state, w), value)

    jitted = cr.jit(step)
    rng = np.random.default_rng(2)
    w = rng.normal(size=3).astype(np.float32)
    eager, eager_state = w, opt.init(w)
    compiled, compiled_state = w, opt.init(w)
    norms = []
    for k in range(6):
        x = rng.normal(size=(8, 3)).astype(np.float32) * (10.0 if k % 2 else 0.01)
        y = rng.normal(size=8).astype(np.float32)
        norms.append(optim.global_norm(cr.grad(loss)(eager, x, y)))
        eager, eager_state, eager_loss = step(eager, eager_state, x, y)
        compiled, compiled_state, compiled_loss = jitted(compiled, compiled_state, x, y)
        _assert_close((compiled, compiled_state), (eager, eager_state), 1e-6)
        assert float(compiled_loss) == pytest.approx(float(eager_loss), rel=1e-6)
    assert min(norms) < 1.0 < max(norms) and len(jitted.programs()) == 1


def test_global_norm_and_clipping_under_jit() -> None:
    clip = cr.jit(lambda g: optim.clip_by_global_norm(g, 1.0))
    norm = cr.jit(optim.global_norm)
    for scale in [0.1, 10.0, 0.5, 3.0]:
        grads = [np.array([3.0, 4.0], np.float32) * scale, np.array(0.0, np.float32)]
        _assert_close(clip(grads), optim.clip_by_global_norm(grads, 1.0), 1e-6)
        assert float(norm(grads)) == pytest.approx(5.0 * scale, rel=1e-6)
    assert len(clip.programs()) == 1 and len(norm.programs()) == 1


def test_dp_aggregate_draws_new_noise_on_every_jitted_call() -> None:
    dp = optim.differentially_private_aggregate(l2_norm_clip=1.0, noise_multiplier=1.1, seed=3)
    update = cr.jit(dp.update)
    eager_state = jitted_state = dp.init()
    rng = np.random.default_rng(4)
    results = []
    for k in range(4):
        grads = {"w": rng.normal(size=(5, 2, 3)).astype(np.float32) * 10.0 ** (k - 2)}
        want, eager_state = dp.update(grads, eager_state)
        got, jitted_state = update(grads, jitted_state)
        # (B clipped gradients, each of norm <= C, plus noise of scale sigma C, over B: the
        # rounding is a few float32 ulps of those terms, not of their cancelled sum)
        scale = (5 * 1.0 + 4 * 1.1 * 1.0) / 5
        atol = 4 * float(np.finfo(np.float32).eps) * scale
        np.testing.assert_allclose(got["w"], want["w"], rtol=1e-6, atol=atol)
        assert got["w"].dtype == want["w"].dtype
        results.append(got["w"])
    assert len(update.programs()) == 1 and int(jitted_state.step) == 4


def test_dpsgd_step_under_jit() -> None:
    opt = optim.dpsgd(0.5, l2_norm_clip=1.0, noise_multiplier=0.5, seed=0, momentum=0.5)

    def loss(w: Any, x: Any, y: Any) -> Any:
        return (cnp.sum(w * x) - y) ** 2

    def step(w: Any, state: Any, x: Any, y: Any) -> Any:
        return opt.step(cr.vmap(cr.grad(loss), in_axes=(None, 0, 0))(w, x, y), state, w)

    jitted = cr.jit(step)
    rng = np.random.default_rng(5)
    eager = compiled = np.zeros(2)
    eager_state = compiled_state = opt.init(eager)
    for _ in range(4):
        x, y = rng.normal(size=(6, 2)), rng.normal(size=6)
        eager, eager_state = step(eager, eager_state, x, y)
        compiled, compiled_state = jitted(compiled, compiled_state, x, y)
        _assert_close((compiled, compiled_state), (eager, eager_state), 1e-12)
    assert len(jitted.programs()) == 1


def test_an_in_place_step_under_jit_is_refused() -> None:
    opt = optim.SGD(lr=0.1)
    params = [np.ones(2)]
    with pytest.raises(ValueError, match="use the default inplace=False"):
        cr.jit(lambda g, s, p: opt.step(g, s, p, inplace=True))(
            [np.ones(2)], opt.init(params), params
        )


def test_a_python_schedule_is_called_on_every_jitted_step_not_frozen() -> None:
    """Under jit the scalars of an update (its learning rate, Adam's bias corrections) are
    one line of the program, computed from each call's step count as an eager update
    computes them: a schedule written with a Python `if` on the step works. The leaves'
    formulas are lines of their own, which the program's buffers and blocks serve."""
    calls = []

    def halving_from_3(step: int) -> float:
        calls.append(step)
        return 1.0 if step < 3 else 0.5

    opt = optim.SGD(lr=halving_from_3)
    step = cr.jit(opt.step)
    params, state = [np.ones(2)], opt.init([np.ones(2)])
    for _ in range(5):
        params, state = step([np.ones(2)], state, params)
    assert calls == [0, 1, 2, 3, 4] and len(step.programs()) == 1  # traced at 0, then replayed
    np.testing.assert_array_equal(params[0], [-3.0, -3.0])  # 1 - 3 * 1.0 - 2 * 0.5
    names = [eq.name for eq in step.programs()[0].equations]
    assert names.count("SGD.scalars") == 1 and "multiply" in names


def test_an_optimizer_step_under_vmap_inside_jit_equals_a_loop() -> None:
    """Above the jit a vmap (an ensemble of models) takes the traced formulas of the update:
    each member's step count, moments and schedule as a loop of eager steps."""
    opt = optim.Adam(lr=schedules.cosine(0.1, 4), amsgrad=True)
    rng = np.random.default_rng(7)
    members = np.stack([_params(np.float32)["w"] * k for k in (1.0, -2.0, 0.5)])
    states = cr.vmap(opt.init)(members)
    step = cr.jit(cr.vmap(opt.step))
    loop = [(m, opt.init(m)) for m in members]
    for _ in range(4):
        grads = rng.normal(size=members.shape).astype(np.float32)
        members, states = step(grads, states, members)
        loop = [opt.step(g, s, m) for g, (m, s) in zip(grads, loop, strict=True)]
        _assert_close(members, np.stack([m for m, _ in loop]), 1e-6)
        _assert_close(states.exp_avg_sq[0], np.stack([s.exp_avg_sq[0] for _, s in loop]), 1e-6)
    assert len(step.programs()) == 1


def test_dropout_with_a_generator_is_refused_under_jit() -> None:
    model = nn.Sequential(nn.Linear(4, 8, rng=0), nn.relu, nn.Dropout(0.5), nn.Linear(8, 1, rng=1))
    gen = np.random.default_rng(0)
    x = np.ones((3, 4), np.float32)
    with pytest.raises(TypeError, match="Dropout under jit"):
        cr.jit(lambda m, x: m(x, rng=gen))(model, x)
    with pytest.raises(TypeError, match="Dropout under jit"):  # below a grad, inside the jit
        cr.jit(cr.grad(lambda m, x: cnp.sum(m(x, rng=gen))))(model, x)
    evaluation = cr.jit(lambda m, x: m(x))  # without rng, dropout is the identity
    np.testing.assert_array_equal(evaluation(model, 2 * x), model(2 * x))


def test_nn_modules_and_losses_under_jit_equal_eager_on_new_inputs() -> None:
    mlp = nn.MLP([4, 16, 3], rng=0)
    norm = nn.LayerNorm(3)
    attention = nn.MultiHeadAttention(8, 2, rng=0)
    embed = nn.Embedding(10, 8, rng=0)

    def loss(params: Any, x: Any, ids: Any, labels: Any) -> Any:
        mlp, norm, attention, embed = params
        logits = norm(mlp(x))
        h = attention(embed(ids))
        return (
            nn.cross_entropy(logits, labels)
            + nn.mse(cnp.mean(h, axis=(1, 2)), cnp.ones(len(ids), np.float32))
            + nn.huber(logits[:, 0], logits[:, 1])
            + nn.binary_cross_entropy_with_logits(logits[:, 2], labels > 0)  # a bool target
            + nn.binary_cross_entropy(nn.sigmoid(logits[:, 1]), labels == 1)  # a custom_jvp
        )

    step = cr.jit(cr.value_and_grad(loss))
    rng = np.random.default_rng(6)
    params = (mlp, norm, attention, embed)
    for _ in range(3):
        x = rng.normal(size=(5, 4)).astype(np.float32)
        ids, labels = rng.integers(0, 10, (5, 6)), rng.integers(0, 3, 5)
        _assert_close(
            step(params, x, ids, labels), cr.value_and_grad(loss)(params, x, ids, labels), 1e-6
        )
    assert len(step.programs()) == 1


class _Line(nn.Module):
    w: np.ndarray
    b: np.ndarray

    def __call__(self, x: Any, *, rng: Any = None) -> Any:
        return x @ self.w + self.b


def _classification() -> tuple[np.ndarray, np.ndarray]:
    X, y = data.make_blobs(150, centers=3, n_features=4, random_state=0)
    return X.astype(np.float32), y


@pytest.mark.parametrize(
    "opt",
    [optim.Adam(schedules.cosine(0.01, 15)), optim.SGD(0.1, momentum=0.9), optim.RMSprop(0.01)],
    ids=repr,
)
def test_fit_with_jit_equals_eager_fit(opt: Any) -> None:
    X, y = _classification()
    model = nn.MLP([4, 16, 3], rng=0, dtype=np.float32)

    def loss(m: Any, x: Any, y: Any) -> Any:
        return nn.cross_entropy(m(x), y)

    runs = [
        train.fit(
            model,
            loss,
            opt,
            (X, y),
            epochs=3,
            batch_size=32,
            progress=False,
            clip_norm=1.0,
            jit=jit,
        )
        for jit in (True, False)
    ]  # 150 rows in batches of 32: a last batch of 22, a second program
    compiled, eager = runs
    _assert_close((compiled.model, compiled.opt_state), (eager.model, eager.opt_state), 1e-6)
    np.testing.assert_allclose(compiled.history["loss"], eager.history["loss"], rtol=1e-6)
    assert all(isinstance(leaf, np.ndarray) for leaf in cr.tree.leaves(compiled.opt_state))
    assert int(compiled.opt_state.step) == 15


def test_fit_takes_a_random_loss_eagerly() -> None:
    """A loss that takes an rng (dropout) would have its draws frozen in a program: fit runs
    its step eagerly, with jit=True the same as with jit=False."""
    X, y = _classification()
    model = nn.Sequential(nn.Linear(4, 8, rng=0), nn.relu, nn.Dropout(0.3), nn.Linear(8, 3, rng=1))

    def loss(m: Any, x: Any, y: Any, rng: Any = None) -> Any:
        return nn.cross_entropy(m(x, rng=rng), y)

    a, b = (
        train.fit(model, loss, optim.Adam(0.01), (X, y), epochs=2, progress=False, jit=jit)
        for jit in (True, False)
    )
    _assert_close(a.model, b.model, 0.0)


def test_fit_says_how_to_run_an_untraceable_step_eagerly() -> None:
    X, y = _classification()
    model = _Line(np.zeros((4, 1), np.float32), np.zeros(1, np.float32))

    def loss(m: Any, x: Any, y: Any) -> Any:
        out = m(x)
        scale = 2.0 if float(cr.stop_gradient(cnp.mean(out))) > 0 else 1.0  # eager only
        return scale * cnp.mean(out**2)

    with pytest.raises(TypeError, match=r"(?s)float\(\) of a traced value.*jit=False"):
        train.fit(model, loss, optim.SGD(0.1), (X, y), epochs=1, progress=False)
    train.fit(model, loss, optim.SGD(0.1), (X, y), epochs=1, progress=False, jit=False)
    with pytest.raises(TypeError, match="jit must be"):
        train.fit(model, loss, optim.SGD(0.1), (X, y), epochs=1, progress=False, jit="yes")  # type: ignore[arg-type]


def test_fit_with_jit_keeps_a_protocol_optimizers_python_state() -> None:
    """A hand-written optimizer whose state is a Python int gets an int back, as eagerly
    (a compiled step returns arrays; a checkpoint is loaded back into the int's place)."""

    class CountingSGD:
        def init(self, params: Any) -> int:
            return 0

        def step(self, grads: Any, state: int, params: Any) -> tuple[Any, int]:
            return cr.tree.map(lambda p, g: p - 0.1 * g, params, grads), state + 1

    X, y = _classification()
    model = _Line(np.zeros((4, 3), np.float32), np.zeros(3, np.float32))

    def loss(m: Any, x: Any, y: Any) -> Any:
        return nn.cross_entropy(m(x), y)

    compiled, eager = (
        train.fit(model, loss, CountingSGD(), (X, y), epochs=2, progress=False, jit=jit)
        for jit in (True, False)
    )
    assert type(compiled.opt_state) is int and compiled.opt_state == eager.opt_state == 10
    _assert_close(compiled.model, eager.model, 1e-6)
