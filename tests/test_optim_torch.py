"""chainrule.optim against torch.optim: the same gradients give the same parameters.

Each optimizer gets the same 100 random gradients (fixed seed) for a pytree of three leaves
of different shapes (one 0-d), here and in torch (``p.grad`` set by hand, then
``opt.step()``), with pure steps, in-place ones, and optax's ``update`` followed by
``apply_updates``. The parameters must agree to
1e-6 in float32 and 1e-12 in float64, relative to each leaf's largest entry: torch's CPU
kernels fuse a multiply-add here and there, so float32 results differ by a few ulps, which
an elementwise relative error would blow up at entries that pass near zero.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable
from typing import Any

import numpy
import pytest

import chainrule as cr
from chainrule import optim
from chainrule.optim import schedules

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.oracle

STEPS = 100
TOLERANCE = {numpy.float32: 1e-6, numpy.float64: 1e-12}

# (optimizer name, keyword arguments): the same names and meanings in both libraries.
CASES: list[tuple[str, dict[str, Any]]] = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.05, "momentum": 0.5, "maximize": True}),
    ("RMSprop", {}),
    (
        "RMSprop",
        {"lr": 0.01, "alpha": 0.9, "centered": True, "momentum": 0.8, "weight_decay": 0.01},
    ),
    ("RMSprop", {"centered": True}),
    ("RMSprop", {"momentum": 0.9, "maximize": True}),
    ("Adagrad", {"lr": 0.1}),
    (
        "Adagrad",
        {"lr": 0.1, "lr_decay": 0.01, "initial_accumulator_value": 0.5, "weight_decay": 0.1},
    ),
    ("Adam", {}),
    ("Adam", {"lr": 0.01, "amsgrad": True, "weight_decay": 0.05}),
    ("Adam", {"lr": 0.01, "betas": (0.3, 0.9), "eps": 1e-6, "maximize": True}),
    ("AdamW", {}),
    ("AdamW", {"lr": 0.01, "amsgrad": True, "weight_decay": 0.1}),
]


def _params(rng: numpy.random.Generator, dtype: Any) -> dict[str, Any]:
    return {
        "w": rng.standard_normal((4, 3)).astype(dtype),
        "b": rng.standard_normal(3).astype(dtype),
        "scale": numpy.array(0.7, dtype=dtype),
    }


def _run_both(
    opt: optim.Optimizer[Any],
    make_torch: Callable[[list[Any]], Any],
    dtype: Any,
    after_step: Callable[[Any], None] = lambda torch_opt: None,
    mode: str = "pure",
) -> tuple[list[Any], list[Any]]:
    """Final parameter leaves (chainrule, torch) after STEPS updates with the same gradients."""
    rng = numpy.random.default_rng(0)
    params = _params(rng, dtype)
    tensors = [torch.tensor(x, requires_grad=True) for x in cr.tree.leaves(params)]
    torch_opt = make_torch(tensors)
    state = opt.init(params)
    for _ in range(STEPS):
        grads = cr.tree.map(lambda x: rng.standard_normal(x.shape).astype(dtype), params)
        for tensor, g in zip(tensors, cr.tree.leaves(grads), strict=True):
            tensor.grad = torch.tensor(g)
        torch_opt.step()
        after_step(torch_opt)
        if mode == "updates":
            updates, state = opt.update(grads, state, params)
            params = optim.apply_updates(params, updates)
        else:
            params, state = opt.step(grads, state, params, inplace=mode == "inplace")
    return cr.tree.leaves(params), [t.detach().numpy() for t in tensors]


def _assert_close(ours: list[Any], theirs: list[Any], dtype: Any) -> None:
    for a, b in zip(ours, theirs, strict=True):
        assert a.dtype == dtype and a.shape == b.shape
        error = numpy.max(numpy.abs(a - b)) / numpy.max(numpy.abs(b))
        assert error <= TOLERANCE[dtype], error


MODES = ["pure", "inplace", "updates"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", [numpy.float32, numpy.float64])
@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_optimizer_matches_torch(name: str, kwargs: dict[str, Any], dtype: Any, mode: str) -> None:
    opt = getattr(optim, name)(**kwargs)
    ours, theirs = _run_both(
        opt, lambda tensors: getattr(torch.optim, name)(tensors, **kwargs), dtype, mode=mode
    )
    _assert_close(ours, theirs, dtype)


def test_torch_defaults_are_ours() -> None:
    """Default hyper-parameters are torch's (argument by argument)."""
    for name in ["SGD", "RMSprop", "Adagrad", "Adam", "AdamW"]:
        ours = inspect.signature(getattr(optim, name)).parameters
        theirs = inspect.signature(getattr(torch.optim, name)).parameters
        for arg, parameter in ours.items():
            assert arg in theirs, (name, arg)
            assert parameter.default == theirs[arg].default, (name, arg)


# --- schedules ------------------------------------------------------------------------------

LR = 0.1
lr_scheduler = torch.optim.lr_scheduler

# (our schedule, torch scheduler factory for an optimizer with lr=LR, steps compared)
SCHEDULES: list[tuple[str, schedules.Schedule, Callable[[Any], Any], int]] = [
    ("constant", schedules.constant(LR), lambda o: lr_scheduler.ConstantLR(o, factor=1.0), 20),
    ("step", schedules.step(LR, 7, gamma=0.5), lambda o: lr_scheduler.StepLR(o, 7, 0.5), 40),
    (
        "exponential",
        schedules.exponential(LR, 0.93),
        lambda o: lr_scheduler.ExponentialLR(o, 0.93),
        60,
    ),
    ("cosine", schedules.cosine(LR, 30), lambda o: lr_scheduler.CosineAnnealingLR(o, 30), 31),
    (
        "cosine_min",
        schedules.cosine(LR, 25, min_lr=0.01),
        lambda o: lr_scheduler.CosineAnnealingLR(o, 25, eta_min=0.01),
        26,
    ),
    (
        "warmup_cosine",
        schedules.linear_warmup(schedules.cosine(LR, 20, 0.001), 5, 0.2),
        lambda o: lr_scheduler.SequentialLR(
            o,
            [
                lr_scheduler.LinearLR(o, start_factor=0.2, total_iters=5),
                lr_scheduler.CosineAnnealingLR(o, 20, eta_min=0.001),
            ],
            milestones=[5],
        ),
        26,
    ),
    (
        "warmup_constant",
        schedules.linear_warmup(LR, 8, start_factor=0.5),
        lambda o: lr_scheduler.LinearLR(o, start_factor=0.5, total_iters=8),
        20,
    ),
]


def _torch_rates(make: Callable[[Any], Any], steps: int) -> list[float]:
    """The lr of each of `steps` updates: torch advances the scheduler after each step."""
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=LR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SequentialLR's deprecation chatter
        scheduler = make(opt)
        rates = []
        for _ in range(steps):
            rates.append(opt.param_groups[0]["lr"])
            opt.step()
            scheduler.step()
    return rates


@pytest.mark.parametrize(
    ("schedule", "make", "steps"), [s[1:] for s in SCHEDULES], ids=[s[0] for s in SCHEDULES]
)
def test_schedule_matches_torch(schedule: Any, make: Callable[[Any], Any], steps: int) -> None:
    theirs = _torch_rates(make, steps)
    ours = [schedule(k) for k in range(steps)]
    numpy.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", [numpy.float32, numpy.float64])
def test_adam_with_schedule_matches_torch_scheduler(dtype: Any, mode: str) -> None:
    schedule = schedules.linear_warmup(schedules.cosine(0.01, STEPS - 10), 10, 0.1)
    schedulers: list[Any] = []

    def make(tensors: list[Any]) -> Any:
        opt = torch.optim.Adam(tensors, lr=0.01)
        schedulers.append(
            lr_scheduler.SequentialLR(
                opt,
                [
                    lr_scheduler.LinearLR(opt, start_factor=0.1, total_iters=10),
                    lr_scheduler.CosineAnnealingLR(opt, STEPS - 10),
                ],
                milestones=[10],
            )
        )
        return opt

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, theirs = _run_both(
            optim.Adam(lr=schedule), make, dtype, lambda _: schedulers[0].step(), mode
        )
    _assert_close(ours, theirs, dtype)


# --- clipping -------------------------------------------------------------------------------


def _grads(dtype: Any, scale: float) -> list[Any]:
    rng = numpy.random.default_rng(1)
    return [(scale * rng.standard_normal(s)).astype(dtype) for s in [(50, 20), (20,), ()]]


def _with_grads(grads: list[Any]) -> list[Any]:
    """Torch parameters whose ``.grad`` are copies of `grads`."""
    tensors = [torch.zeros(g.shape, dtype=torch.tensor(g).dtype, requires_grad=True) for g in grads]
    for tensor, g in zip(tensors, grads, strict=True):
        tensor.grad = torch.tensor(g)
    return tensors


@pytest.mark.parametrize("dtype", [numpy.float32, numpy.float64])
@pytest.mark.parametrize("max_norm", [0.5, 3.0, 1e3])
def test_clip_by_global_norm_matches_torch(dtype: Any, max_norm: float) -> None:
    grads = _grads(dtype, 0.1)
    tensors = _with_grads(grads)
    total = torch.nn.utils.clip_grad_norm_(tensors, max_norm)
    tol = 1e-6 if dtype == numpy.float32 else 1e-13
    assert optim.global_norm(grads) == pytest.approx(float(total), rel=tol)
    clipped = optim.clip_by_global_norm(grads, max_norm)
    for ours, tensor in zip(clipped, tensors, strict=True):
        assert ours.dtype == dtype
        numpy.testing.assert_allclose(ours, tensor.grad.numpy(), rtol=tol, atol=0)


@pytest.mark.parametrize("dtype", [numpy.float32, numpy.float64])
def test_clip_by_value_matches_torch(dtype: Any) -> None:
    grads = _grads(dtype, 1.0)
    tensors = _with_grads(grads)
    torch.nn.utils.clip_grad_value_(tensors, 0.8)
    for ours, tensor in zip(optim.clip_by_value(grads, 0.8), tensors, strict=True):
        assert ours.dtype == dtype
        numpy.testing.assert_array_equal(ours, tensor.grad.numpy())
