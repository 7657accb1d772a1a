"""chainrule.distributed: gradients over dask-chunked data, data-parallel training and sweeps,
on a real cluster of two worker processes (started and stopped by this module)."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import traceback
from collections.abc import Iterator
from typing import Any

import numpy
import pytest

pytest.importorskip("dask.distributed")

import dask
import dask.array as da
from dask.distributed import Client, LocalCluster

import chainrule as cr
import chainrule.numpy as np
from chainrule import data, distributed, nn, optim, train

rng = numpy.random.default_rng(7)


@contextlib.contextmanager
def two_workers() -> Iterator[Client]:
    """A client of two worker processes of one thread each, 600 MiB of memory each."""
    with (
        LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, memory_limit="600MiB",
            dashboard_address=None,
        ) as cluster,
        Client(cluster) as c,
    ):  # fmt: skip
        yield c


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with two_workers() as c:
        yield c


def logistic(w: Any, X: Any, y: Any) -> Any:
    z = X @ w["coef"] + w["bias"]
    return np.mean(np.logaddexp(0.0, z) - y * z)


def squares(w: Any, X: Any, y: Any) -> Any:
    return np.sum((X @ w - y) ** 2)


def problem(n: int, dtype: Any) -> tuple[Any, numpy.ndarray, numpy.ndarray]:
    X = rng.standard_normal((n, 5)).astype(dtype)
    y = (rng.random(n) < 0.5).astype(dtype)
    w = {"coef": rng.standard_normal(5).astype(dtype), "bias": dtype(0.3)}
    return w, X, y


@pytest.mark.parametrize("dtype", [numpy.float64, numpy.float32])
@pytest.mark.parametrize("chunks", [50, (10, 0, 90, 100)], ids=["even", "uneven-with-empty"])
def test_a_mean_over_chunks_equals_the_in_memory_gradient(
    client: Any, dtype: Any, chunks: Any
) -> None:
    w, X, y = problem(200, dtype)
    Xd, yd = da.from_array(X, chunks=(chunks, 5)), da.from_array(y, chunks=chunks)
    value, grad = distributed.value_and_grad(logistic, split_every=2)(w, Xd, yd)
    want_value, want = cr.value_and_grad(logistic)(w, X, y)
    tol = 1e-13 if dtype == numpy.float64 else 2e-6  # a few roundings of the sum's terms
    numpy.testing.assert_allclose(value, want_value, rtol=tol)
    for key in ("coef", "bias"):
        assert numpy.asarray(grad[key]).dtype == dtype
        assert numpy.shape(grad[key]) == numpy.shape(w[key])
        numpy.testing.assert_allclose(grad[key], want[key], rtol=tol * 10, atol=tol)


def test_a_sum_several_parameters_and_the_threaded_scheduler() -> None:
    X, y = rng.standard_normal((30, 3)), rng.standard_normal(30)
    w, scale = rng.standard_normal(3), numpy.float64(1.5)

    def loss(w: Any, scale: Any, X: Any, y: Any) -> Any:
        return scale * squares(w, X, y)

    with dask.config.set(scheduler="threads"):  # no cluster: threads in this process
        got = distributed.grad(loss, argnums=(0, 1), reduction="sum")(
            w, scale, da.from_array(X, chunks=7), da.from_array(y, chunks=11)
        )  # (y's chunks differ from X's: aligned on X's)
    want = cr.grad(loss, argnums=(0, 1))(w, scale, X, y)
    assert isinstance(got, tuple) and len(got) == 2
    numpy.testing.assert_allclose(got[0], want[0], rtol=1e-13)
    numpy.testing.assert_allclose(got[1], want[1], rtol=1e-13)
    assert isinstance(got[1], numpy.float64)


def test_data_larger_than_a_workers_memory(client: Any) -> None:
    # 1.5 GiB of float32 examples, made chunk by chunk on the workers (600 MiB each): each
    # holds only the chunks it is working on
    n, d = 6_000_000, 64
    seeds = da.arange(24, chunks=1)
    rows = n // 24

    def block(seed: numpy.ndarray) -> numpy.ndarray:
        return numpy.random.default_rng(int(seed[0])).standard_normal((rows, d), numpy.float32)

    X = seeds.map_blocks(block, chunks=((rows,) * 24, (d,)), new_axis=1, dtype=numpy.float32)
    y = (X[:, 0] > 0).astype(numpy.float32)
    w = numpy.zeros(d, numpy.float32)
    value, grad = distributed.value_and_grad(
        lambda w, X, y: np.mean(np.logaddexp(0.0, X @ w) - y * (X @ w))
    )(w, X, y)
    numpy.testing.assert_allclose(value, numpy.log(2.0), rtol=1e-6)  # at w = 0
    # at w = 0 the gradient is mean((1/2 - y) x): about -E|x0|/2 = -0.4 along the first axis
    assert abs(grad[0] + 0.5 * numpy.sqrt(2 / numpy.pi)) < 1e-2
    assert numpy.all(abs(grad[1:]) < 5e-3)


def test_an_error_in_the_loss_comes_back_with_its_traceback(client: Any) -> None:
    def broken_loss(w: Any, X: Any) -> Any:
        raise ValueError("the loss refuses these rows")

    with pytest.raises(ValueError, match="refuses these rows") as info:
        distributed.grad(broken_loss)(numpy.zeros(2), da.ones((4, 2), chunks=2))
    assert "broken_loss" in "".join(traceback.format_exception(info.value))


def test_bad_calls_are_refused_with_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    X = da.ones((6, 2), chunks=3)
    w = numpy.zeros(2)
    vg = distributed.value_and_grad(lambda w, X: np.mean(X @ w))
    with pytest.raises(TypeError, match="no argument is a dask"):
        vg(w, numpy.ones((6, 2)))
    with pytest.raises(TypeError, match="differentiate with respect to the parameters"):
        distributed.grad(lambda X, w: np.mean(X @ w))(X, w)
    with pytest.raises(ValueError, match="same number of examples"):
        distributed.grad(squares)(w, X, da.ones(5, chunks=5))
    with pytest.raises(ValueError, match="compute_chunk_sizes"):
        vg(w, X[X[:, 0] > 0])
    with pytest.raises(ValueError, match="reduction"):
        distributed.grad(squares, reduction="max")
    monkeypatch.setitem(sys.modules, "dask.array", None)  # as if Dask were not installed
    with pytest.raises(ImportError, match=r"pip install 'chainrule\[distributed\]'"):
        vg(w, X)


def cross_entropy(model: Any, x: Any, y: Any) -> Any:
    return nn.cross_entropy(model(x), y)


def digits(n: int = 240) -> tuple[numpy.ndarray, numpy.ndarray]:
    X, y = data.load_digits()
    return (X[:n] / 16.0).astype(numpy.float32), y[:n]


def fit(client: Any = None, **kwargs: Any) -> Any:
    X, y = digits()
    kwargs.setdefault("loss_fn", cross_entropy)
    return train.fit(
        nn.MLP([64, 32, 10], rng=0), optimizer=optim.Adam(lr=3e-3), train_data=(X[:200], y[:200]),
        val_data=(X[200:], y[200:]), epochs=3, batch_size=25, progress=False, seed=1,
        client=client, **kwargs,
    )  # fmt: skip


@pytest.mark.parametrize("jit", [True, False])
def test_data_parallel_training_follows_the_single_process_loss_curve(
    client: Any, jit: bool
) -> None:
    alone = fit(jit=jit)
    spread = fit(client, jit=jit, patience=5)
    assert spread.history["epoch"] == [1, 2, 3]
    for key in ("loss", "val_loss"):
        numpy.testing.assert_allclose(spread.history[key], alone.history[key], rtol=2e-5)
    for a, b in zip(cr.tree.leaves(spread.model), cr.tree.leaves(alone.model), strict=True):
        assert a.dtype == numpy.float32
        numpy.testing.assert_allclose(a, b, rtol=1e-4, atol=2e-6)


def test_data_parallel_training_with_checkpoints_resumes_as_one_run(
    client: Any, tmp_path: Any
) -> None:
    path = tmp_path / "run.npz"
    whole = fit(client)
    fit(client, checkpoint=path, on_epoch_end=lambda epoch, *_: epoch == 2)  # stopped at 2
    resumed = fit(client, resume=path)
    numpy.testing.assert_allclose(resumed.history["loss"], whole.history["loss"], rtol=1e-6)


def set_environment(name: str, value: str) -> None:
    os.environ[name] = value


def die_once() -> None:
    """Kill this worker process the first time it sees the marker file (one worker only:
    the other may be looking at it too), as a machine lost from a cluster would."""
    marker = os.environ.get("CHAINRULE_TEST_KILL_MARKER")
    if marker and os.path.exists(marker):
        try:
            os.remove(marker)
        except FileNotFoundError:
            return
        os._exit(1)


def dying_loss(model: Any, x: Any, y: Any) -> Any:
    die_once()
    return cross_entropy(model, x, y)


def test_a_worker_killed_mid_step_loses_no_update(tmp_path: Any) -> None:
    marker = tmp_path / "kill-me"
    alone = fit(loss_fn=cross_entropy, jit=False)

    def arm(epoch: int, *_: Any) -> None:
        if epoch == 1:
            marker.touch()  # a worker dies in the first step of epoch 2

    with two_workers() as client:  # (its own: the other tests need not wait for a restart)
        client.run(set_environment, "CHAINRULE_TEST_KILL_MARKER", str(marker))
        survived = fit(client, loss_fn=dying_loss, jit=False, on_epoch_end=arm)
    assert not marker.exists()  # a worker did die
    numpy.testing.assert_allclose(survived.history["loss"], alone.history["loss"], rtol=2e-5)


def test_an_error_in_a_workers_loss_reaches_fit_with_the_users_traceback(client: Any) -> None:
    def loss_with_a_bug(model: Any, x: Any, y: Any) -> Any:
        return nn.cross_entropy(model(x), y[:3])  # the labels of three examples only

    with pytest.raises(ValueError) as info:
        fit(client, loss_fn=loss_with_a_bug, jit=False)
    assert "loss_with_a_bug" in "".join(traceback.format_exception(info.value))
    with pytest.raises(TypeError, match=r"dask\.distributed\.Client"):
        fit("tcp://127.0.0.1:8786")
    with pytest.raises(ValueError, match="rng"):
        fit(client, loss_fn=lambda m, x, y, rng=None: cross_entropy(m, x, y))


def small_training(lr: float, width: int) -> Any:
    X, y = digits(200)
    return train.fit(
        nn.MLP([64, width, 10], rng=0), cross_entropy, optim.Adam(lr=lr), (X[:150], y[:150]),
        val_data=(X[150:], y[150:]), epochs=2, progress=False,
        metrics={"accuracy": lambda m, x, y: train.accuracy(m(x), y)},
    )  # fmt: skip


def test_a_sweep_on_the_workers_equals_the_runs_one_by_one(client: Any, tmp_path: Any) -> None:
    settings = distributed.grid(lr=[1e-3, 1e-2], width=[8, 16])
    assert settings[1] == {"lr": 1e-3, "width": 16}
    runs = distributed.sweep(small_training, settings, client=client)
    assert len(runs) == 4 and runs.metrics == ["loss", "train_accuracy", "val_loss", "val_accuracy"]
    for setting, result in zip(runs.settings, runs.results, strict=True):
        alone = small_training(**setting).history
        assert result == pytest.approx({k: v[-1] for k, v in alone.items() if k != "epoch"})
    best, result = runs.best("val_loss", mode="min")
    assert result["val_loss"] == min(r["val_loss"] for r in runs.results)
    table = runs.table("val_loss", descending=False).splitlines()
    assert table[0].split() == ["lr", "width", *runs.metrics]
    assert table[2].split()[:2] == [f"{best['lr']:.4g}", str(best["width"])]
    plot = pytest.importorskip("chainrule.learn.plot")
    with plot.offscreen():
        fig = runs.plot("val_accuracy", tmp_path / "sweep.png")
    assert (tmp_path / "sweep.png").stat().st_size > 0
    assert [ax.get_xlabel() for ax in fig.axes] == ["lr", "width"]


def test_sweep_settings_and_refusals() -> None:
    drawn = distributed.sample(3, seed=4, a=[1, 2, 3], b=["x", "y"])
    assert len(drawn) == 3 and len({repr(s) for s in drawn}) == 3
    assert drawn == distributed.sample(3, seed=4, a=[1, 2, 3], b=["x", "y"])
    assert len(distributed.sample(10, a=[1, 2])) == 2  # all of a small grid
    with pytest.raises(ValueError, match="non-empty list"):
        distributed.grid(a=[])
    with pytest.raises(ValueError, match="no settings"):
        distributed.sweep(dict, [])
    with pytest.raises(TypeError, match="dict of numbers or a FitResult"):
        distributed.sweep(lambda a: a, [{"a": 1}])
    runs = distributed.sweep(
        lambda a: {"score": float("nan") if a == 2 else a}, distributed.grid(a=[1, 2, 3])
    )
    assert runs.best("score") == ({"a": 3}, {"score": 3.0})  # a NaN never wins
    assert runs.table("score").splitlines()[-1].split() == ["2", "nan"]  # and sorts last
    with pytest.raises(KeyError, match="'score'"):
        runs.best("accuracy")


def test_the_sweep_and_train_commands_on_a_local_cluster(
    tmp_path: Any, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chainrule.cli import main
    from chainrule.cli import train as train_command

    monkeypatch.setattr(train_command, "CONNECT_TIMEOUT", 2)

    out = tmp_path / "sweep"
    status = main([
        "sweep", "--lr", "0.001", "0.01", "--hidden", "16", "--epochs", "1", "--workers", "2",
        "--out", str(out),
    ])  # fmt: skip
    assert status == 0
    text = capsys.readouterr().out
    assert "2 runs of 1 epochs" in text and "best: {'optimizer': 'adam', 'lr': 0.01" in text
    saved = json.loads((out / "sweep.json").read_text())
    assert [s["lr"] for s in saved["settings"]] == [0.001, 0.01]
    status = main([
        "train", "--hidden", "16", "--epochs", "2", "--workers", "2", "--no-progress",
        "--out", str(tmp_path / "train"),
    ])  # fmt: skip
    assert status == 0
    assert "cluster: 2 local worker processes" in capsys.readouterr().out
    alone = main([
        "train", "--hidden", "16", "--epochs", "2", "--no-progress", "--out", str(tmp_path / "one"),
    ])  # fmt: skip
    assert alone == 0
    spread = json.loads((tmp_path / "train" / "history.json").read_text())
    single = json.loads((tmp_path / "one" / "history.json").read_text())
    numpy.testing.assert_allclose(spread["loss"], single["loss"], rtol=2e-5)
    assert main(["train", "--scheduler", "tcp://127.0.0.1:1", "--out", str(tmp_path)]) == 1
    assert "cannot reach the Dask scheduler" in capsys.readouterr().err


def test_a_loss_that_cannot_be_compiled_says_jit_false(client: Any) -> None:
    def branching_loss(model: Any, x: Any, y: Any) -> Any:
        if float(np.max(y)) > 9:  # Python control flow on the labels: traced under jit
            raise ValueError("labels out of range")
        return cross_entropy(model, x, y)

    with pytest.raises(TypeError, match="jit=False"):
        fit(client, loss_fn=branching_loss)
    assert fit(client, loss_fn=branching_loss, jit=False).history["epoch"] == [1, 2, 3]


def test_a_diverged_run_of_the_sweep_command_is_a_row_of_nan() -> None:
    from chainrule.cli.sweep import run_one

    settings = distributed.grid(
        optimizer=["sgd"], lr=[0.05, 1e30], hidden=[[8]], epochs=[1], batch_size=[32], seed=[0]
    )
    runs = distributed.sweep(run_one, settings)  # (in this process: no client)
    assert all(numpy.isnan(v) for v in runs.results[1].values())  # lr 1e30 diverged
    assert runs.best("val_accuracy")[0]["lr"] == 0.05
    assert runs.table("val_accuracy").splitlines()[-1].split()[-1] == "nan"


def test_a_loss_that_is_not_a_batch_mean_is_refused_on_the_first_batch(client: Any) -> None:
    def summed(model: Any, x: Any, y: Any) -> Any:
        return nn.cross_entropy(model(x), y, reduction="sum")

    with pytest.raises(ValueError, match="must be a mean over the batch"):
        fit(client, loss_fn=summed)

    def penalised(model: Any, x: Any, y: Any) -> Any:  # a mean plus a weight penalty: fine
        return cross_entropy(model, x, y) + 1e-3 * sum(np.sum(p**2) for p in cr.tree.leaves(model))

    alone, spread = fit(loss_fn=penalised), fit(client, loss_fn=penalised)
    numpy.testing.assert_allclose(spread.history["loss"], alone.history["loss"], rtol=2e-5)


def dying_logistic(w: Any, X: Any, y: Any) -> Any:
    die_once()
    return logistic(w, X, y)


def test_a_worker_killed_mid_gradient_loses_no_chunk(tmp_path: Any) -> None:
    # The data made on the workers and kept there: the dead worker's chunks are made again.
    # (A cluster of its own: the other tests need not wait for the dead worker's restart.)
    with two_workers() as client:
        w, X, y = problem(400, numpy.float64)
        Xd = client.persist(da.from_array(X, chunks=(50, 5)))
        yd = client.persist(da.from_array(y, chunks=50))
        marker = tmp_path / "kill-me"
        client.run(set_environment, "CHAINRULE_TEST_KILL_MARKER", str(marker))
        marker.touch()
        value, grad = distributed.value_and_grad(dying_logistic, jit=False)(w, Xd, yd)
        assert not marker.exists()  # a worker did die
        want_value, want = cr.value_and_grad(logistic)(w, X, y)
        numpy.testing.assert_allclose(value, want_value, rtol=1e-13)
        numpy.testing.assert_allclose(grad["coef"], want["coef"], rtol=1e-12)
