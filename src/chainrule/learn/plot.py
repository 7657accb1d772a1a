"""Pictures of the calculus: derivatives, gradients, optimizer paths and training curves.

`tangent` draws f, f' and the tangent line at a point; `difference_quotient` shows the central
difference converging to f' as h shrinks, until round-off takes over; `gradient_field` draws
the contours of f(x, y) with its gradient arrows; `optimizer_paths` races the optimizers of
`chainrule.learn.surfaces` on one surface, and `descent_paths` draws paths already run on any
function of one or two variables; `training_curves` (alias `loss_curves`) draws a history.

matplotlib is an optional extra (``pip install 'chainrule[plot]'``); without it, the plot
functions raise an ImportError that says how to install it. Every function returns the
matplotlib figure, and saves it when given a path (the format follows the suffix: .png, .svg,
.pdf).

The figures are pyplot's, made as ``plt.subplots`` makes them, and matplotlib's backend is
never changed: a script shows them with ``plt.show()``, and a notebook shows each one once,
when the cell ends. A returned figure is not shown a second time as the cell's value while
pyplot, in interactive mode, is about to show it. Within `offscreen()` the figures are made
without pyplot (for writing files only, as the command line does).
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import io
import numbers
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import numpy

from chainrule._validate import number, one_of
from chainrule.learn import curvature
from chainrule.learn.surfaces import OPTIMIZERS, SURFACES, Surface, descend
from chainrule.learn.surfaces import Path as DescentPath

__all__ = [
    "descent_paths",
    "difference_quotient",
    "gradient_field",
    "loss_curves",
    "offscreen",
    "optimizer_paths",
    "pyplot",
    "require_matplotlib",
    "sweep_results",
    "tangent",
    "training_curves",
]


MATPLOTLIB_NEEDED = (
    "chainrule's plots need matplotlib, an optional extra: "
    "pip install 'chainrule[plot]' (or pip install matplotlib)."
)

_OFFSCREEN: ContextVar[bool] = ContextVar("chainrule_plot_offscreen", default=False)


def require_matplotlib() -> Any:
    """The matplotlib module, or an ImportError saying how to install it (one wording for
    every picture chainrule draws)."""
    try:
        import matplotlib
    except ImportError as exc:
        raise ImportError(MATPLOTLIB_NEEDED) from exc
    return matplotlib


def pyplot() -> Any:
    """matplotlib.pyplot, with whatever backend the user has: chainrule never changes it."""
    require_matplotlib()
    import matplotlib.pyplot as plt

    return plt


@contextlib.contextmanager
def offscreen() -> Iterator[None]:
    """Within this block the plot functions make figures pyplot does not know of, drawn by Agg.

    For writing files where no window or notebook will show them (the ``chainrule`` command):
    pyplot's backend is not even chosen, and nothing needs closing.

    >>> with offscreen():
    ...     fig = loss_curves({"loss": [0.9, 0.5]})
    >>> hasattr(fig, "number")  # pyplot numbers the figures it holds
    False
    """
    token = _OFFSCREEN.set(True)
    try:
        yield
    finally:
        _OFFSCREEN.reset(token)


def _figure(**kwargs: Any) -> Any:
    """A new figure: pyplot's, as ``plt.figure`` makes it, or a detached one in `offscreen`."""
    if _OFFSCREEN.get():
        require_matplotlib()
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        fig = Figure(**kwargs)
        FigureCanvasAgg(fig)
        return fig
    fig = pyplot().figure(**kwargs)
    fig._ipython_display_ = functools.partial(_ipython_display, fig)
    return fig


def _ipython_display(fig: Any) -> None:
    """How IPython shows a figure returned as a cell's value: once.

    Interactive pyplot already shows the figures it holds (the inline backend when the cell
    ends, a GUI backend in its window), so the value adds nothing then; a figure pyplot no
    longer holds (closed, or shown in an earlier cell) is shown here as a PNG.
    """
    import matplotlib

    if fig.canvas.manager is not None and matplotlib.is_interactive():
        return
    ipython = importlib.import_module("IPython.display")  # present: IPython is asking
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    ipython.display(ipython.Image(data=buffer.getvalue(), format="png"))


def training_curves(history: dict[str, list[float]], path: str | Path | None = None) -> Any:
    """Loss and metric curves per epoch, from the history `chainrule.train.fit` returns.

    One panel for the loss (training and, if present, validation), one per metric found as
    ``train_<name>`` / ``val_<name>`` keys.

    >>> fig = training_curves({"epoch": [1, 2], "loss": [0.9, 0.5], "val_loss": [1.0, 0.7],
    ...                        "train_accuracy": [0.6, 0.8], "val_accuracy": [0.5, 0.7]})
    >>> [ax.get_title() for ax in fig.axes]
    ['loss', 'accuracy']
    """
    epochs = history.get("epoch") or list(range(1, len(history["loss"]) + 1))
    metrics = sorted(
        {key.split("_", 1)[1] for key in history if key.startswith(("train_", "val_"))} - {"loss"}
    )
    fig = _figure(figsize=(5 * (1 + len(metrics)), 3.6))
    axes = fig.subplots(1, 1 + len(metrics), squeeze=False)
    panels = [("loss", "loss", "val_loss")] + [(m, f"train_{m}", f"val_{m}") for m in metrics]
    for ax, (title, train_key, val_key) in zip(axes[0], panels, strict=True):
        for key, label in ((train_key, "training"), (val_key, "held-out")):
            if history.get(key):
                ax.plot(epochs, history[key], marker="o", markersize=3, label=label)
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend()
    return _finish(fig, path)


def loss_curves(history: dict[str, list[float]], path: str | Path | None = None) -> Any:
    """The loss curves of a training history: another name for `training_curves`.

    >>> fig = loss_curves({"loss": [0.9, 0.5, 0.3]})
    >>> fig.axes[0].get_lines()[0].get_ydata().tolist()
    [0.9, 0.5, 0.3]
    """
    return training_curves(history, path)


def sweep_results(
    settings: Sequence[Mapping[str, Any]],
    scores: Sequence[float],
    metric: str,
    path: str | Path | None = None,
    mode: str = "max",
) -> Any:
    """A sweep's `metric` against each setting that varies, one panel each, one point per
    run, the best (highest for ``mode="max"``, lowest for ``"min"``) starred: what
    `chainrule.distributed.SweepResult.plot` draws. Numbers spanning a factor of 10 or more
    (learning rates) get a logarithmic axis; other values (optimizer names, layer widths as
    lists) are categories.

    >>> fig = sweep_results([{"lr": 0.1, "opt": "sgd"}, {"lr": 0.01, "opt": "adam"}],
    ...                     [0.9, 0.95], "val_accuracy")
    >>> [ax.get_xlabel() for ax in fig.axes], fig.axes[0].get_xscale()
    (['lr', 'opt'], 'log')
    """
    names = [k for k in settings[0] if len({repr(s[k]) for s in settings}) > 1] if settings else []
    names = names or list(settings[0])[:1] if settings else []
    fig = _figure(figsize=(4.5 * max(1, len(names)), 3.6))
    axes = fig.subplots(1, max(1, len(names)), squeeze=False)[0]
    one_of(mode, "mode", "sweep_results", ("max", "min"))
    pick = numpy.nanargmax if mode == "max" else numpy.nanargmin
    best = int(pick(scores)) if numpy.isfinite(scores).any() else None
    for ax, name in zip(axes, names, strict=False):
        values = [s[name] for s in settings]
        numeric = all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in values)
        if numeric:
            xs = numpy.asarray(values, dtype=float)
            if (xs > 0).all() and xs.max() >= 10 * xs.min():
                ax.set_xscale("log")
        else:
            labels = list(dict.fromkeys(map(str, values)))
            xs = numpy.asarray([labels.index(str(v)) for v in values], dtype=float)
            ax.set_xticks(range(len(labels)), labels)
            ax.set_xlim(-0.5, len(labels) - 0.5)
        ax.plot(xs, scores, "o", alpha=0.7)
        if best is not None:
            ax.plot(xs[best], scores[best], "*", markersize=14, label="best")
            ax.legend()
        ax.set_xlabel(name)
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
    return _finish(fig, path)


def tangent(
    f: Callable[[Any], Any],
    x0: float,
    xlim: tuple[float, float] | None = None,
    path: str | Path | None = None,
) -> Any:
    """f, its derivative f' (by `chainrule.derivative`) and the tangent line at `x0`.

    The tangent ``y = f(x0) + f'(x0) (x - x0)`` touches the curve at `x0` and has the slope
    the derivative panel shows there. `xlim` defaults to ``x0 - 3`` to ``x0 + 3``.

    At a kink (as |x| or relu at 0) f has no derivative and no tangent: the slopes from
    the left and from the right differ (`chainrule.learn.curvature.one_sided_slopes`). No
    line is drawn then; a shaded band holds every line through ``(x0, f(x0))`` with a slope
    between the two one-sided derivatives (for a convex f, the subgradients), and the
    derivative's jump is drawn at x0. Where both sides agree but a rule's tie convention
    gives another value at x0 (``relu(x) - relu(-x)``, which is x, gets 0 at 0), the
    tangent takes the slopes' value.

    >>> import chainrule.numpy as np
    >>> fig = tangent(np.sin, 0.0)
    >>> [text.get_text() for text in fig.axes[0].get_legend().get_texts()]
    ['f(x)', "f'(x)", "tangent at x0 = 0: slope f'(x0) = 1"]
    >>> fig = tangent(np.abs, 0.0)
    >>> fig.axes[0].get_legend().get_texts()[2].get_text()
    'no tangent at x0 = 0 (a kink): slopes from -1 to 1, shaded'
    """
    import chainrule as cr

    x0 = number(x0, "x0", "tangent")
    lo, hi = _interval((x0 - 3.0, x0 + 3.0) if xlim is None else xlim, "xlim", "tangent")
    fprime = cr.derivative(f)
    y0 = float(f(x0))
    xs = numpy.linspace(lo, hi, 401)
    ys, dys = _curve(f, xs), _curve(fprime, xs)

    fig = _figure(figsize=(6.4, 4.4))
    ax = fig.subplots()
    ax.plot(xs, ys, color="C0", linewidth=2, label="f(x)")
    ax.plot(xs, dys, color="C1", linestyle="--", label="f'(x)")
    slopes = curvature.one_sided_slopes(cr.grad(lambda p: f(p[0])), [x0])
    if slopes is None or not slopes.kink:
        # where the slopes on both sides agree but the rule's value at x0 does not (a tie
        # convention: relu(x) - relu(-x) at 0), the slopes are the derivative
        slope = float(fprime(x0)) if slopes is None else (slopes.left + slopes.right) / 2
        ax.plot(
            xs,
            y0 + slope * (xs - x0),
            color="C3",
            label=f"tangent at x0 = {x0:g}: slope f'(x0) = {slope:.4g}",
        )
    else:
        low, high = sorted((slopes.left, slopes.right))
        ax.fill_between(
            xs,
            y0 + low * (xs - x0),
            y0 + high * (xs - x0),
            color="C3",
            alpha=0.25,
            label=f"no tangent at x0 = {x0:g} (a kink): slopes from {_slope(low, high)} to "
            f"{_slope(high, low)}, shaded",
        )
        ax.plot([x0, x0], [low, high], color="C1", linewidth=3)  # f' jumps from one to other
    ax.plot([x0], [y0], "o", color="C3")
    ax.axhline(0.0, color="0.6", linewidth=0.8)
    shown = numpy.concatenate([ys, dys, [y0]])
    shown = shown[numpy.isfinite(shown)]
    if shown.size:
        bottom, top = float(shown.min()), float(shown.max())
        pad = 0.1 * (top - bottom) or 1.0
        ax.set_ylim(bottom - pad, top + pad)
    ax.set_xlim(lo, hi)
    ax.set_xlabel("x")
    drawn = "one-sided slopes" if slopes is not None and slopes.kink else "tangent"
    ax.set_title(f"{_name(f)}: value, derivative and {drawn} at x0 = {x0:g}")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    return _finish(fig, path)


def _slope(value: float, other: float) -> str:
    """A one-sided slope for a label: probed 2**-30 from the kink, so a value within
    SLOPE_RTOL of 0 (relative to the larger slope) is 0, and 4 digits are exact."""
    scale = max(1.0, abs(value), abs(other))
    return "0" if abs(value) <= curvature.SLOPE_RTOL * scale else f"{value:.4g}"


def difference_quotient(
    f: Callable[[Any], Any],
    x0: float,
    hs: Sequence[float] | numpy.ndarray | None = None,
    path: str | Path | None = None,
) -> Any:
    """The error of the central difference ``(f(x0+h) - f(x0-h)) / 2h`` against h, log-log.

    The exact f'(x0) comes from `chainrule.derivative`. As h shrinks the error first falls
    like h² (truncation, about ``|f'''(x0)| h²/6``), then grows like ``ε |f(x0)| / h``
    (round-off: f(x0+h) and f(x0-h) agree in more and more digits); both guides are drawn.
    `hs` defaults to ``10**-k`` for k = 0..12. Errors of exactly 0 are left out.

    >>> import chainrule.numpy as np
    >>> fig = difference_quotient(np.sin, 1.0, hs=[1e-1, 1e-2])
    >>> line = fig.axes[0].get_lines()[0]
    >>> [f"{e:.1e}" for e in line.get_ydata()]
    ['9.0e-04', '9.0e-06']
    """
    import chainrule as cr

    x0 = number(x0, "x0", "difference_quotient")
    h = numpy.array([10.0**-k for k in range(13)] if hs is None else hs, dtype=numpy.float64)
    if h.ndim != 1 or h.size == 0 or not numpy.all(numpy.isfinite(h)) or numpy.any(h <= 0):
        raise ValueError(
            "difference_quotient: hs must be a non-empty list of positive finite step sizes, "
            f"got {hs!r}"
        )
    h = numpy.sort(h)[::-1]
    exact = float(cr.derivative(f)(x0))
    central = numpy.array([(float(f(x0 + s)) - float(f(x0 - s))) / (2 * s) for s in h])
    error = numpy.abs(central - exact)
    shown = error > 0

    fig = _figure(figsize=(6.4, 4.4))
    ax = fig.subplots()
    ax.loglog(h[shown], error[shown], "o-", color="C0", label="|central difference − f'(x0)|")
    third = abs(float(cr.derivative(cr.derivative(cr.derivative(f)))(x0)))
    if third > 0:
        ax.loglog(h, third * h**2 / 6, ":", color="C2", label="truncation |f'''(x0)| h²/6")
    size = abs(float(f(x0)))
    if size > 0:
        eps = numpy.finfo(numpy.float64).eps
        ax.loglog(h, eps * size / h, ":", color="C3", label="round-off ε |f(x0)| / h")
    if shown.any():
        low, high = float(error[shown].min()), float(error[shown].max())
        ax.set_ylim(low / 10, high * 10)
    ax.set_xlabel("h")
    ax.set_ylabel("error")
    ax.set_title(f"{_name(f)}: central difference at x0 = {x0:g}, f'(x0) = {exact:.6g}")
    ax.grid(alpha=0.3, which="both")
    ax.legend(loc="best", fontsize="small")
    return _finish(fig, path)


def gradient_field(
    f: Callable[[Any, Any], Any],
    xlim: tuple[float, float],
    ylim: tuple[float, float],
    point: tuple[float, float] | None = None,
    path: str | Path | None = None,
) -> Any:
    """Contours of f(x, y) with its gradient field, and the gradient at `point` if given.

    `f` is written with `chainrule.numpy` and works on arrays elementwise. The small arrows
    show the gradient's direction (uphill, across the contours), all of one length and
    coloured by the gradient's length |∇f| (the colour bar); the large one at `point` is ∇f
    there, scaled to fit the window, unless f has a kink there (as |x| at x = 0): then f has
    no gradient, and the legend gives the slopes on either side instead. The axes are equal
    (one unit is as long across as up), so the arrows meet the contours at right angles, as
    the gradient does.

    >>> fig = gradient_field(lambda x, y: x**2 + 2 * y**2, (-3, 3), (-2, 2), point=(1, 1))
    >>> fig.axes[0].get_legend().get_texts()[0].get_text()
    '∇f(1, 1) = (2, 4)'
    >>> fig.axes[0].get_aspect(), fig.axes[1].get_ylabel()
    (1.0, '|∇f|')
    """
    import chainrule as cr

    where = "gradient_field"
    (x_lo, x_hi), (y_lo, y_hi) = _interval(xlim, "xlim", where), _interval(ylim, "ylim", where)
    fig = _figure(figsize=(6.4, 5.2))
    ax = fig.subplots()
    _contours(ax, f, (x_lo, x_hi), (y_lo, y_hi))

    qx, qy = numpy.meshgrid(numpy.linspace(x_lo, x_hi, 21), numpy.linspace(y_lo, y_hi, 21))
    with numpy.errstate(all="ignore"):  # where f has no gradient (a cone's tip): no arrow
        gx, gy = (numpy.asarray(g) for g in cr.elementwise_grad(f, argnums=(0, 1))(qx, qy))
    size = numpy.hypot(gx, gy)
    with numpy.errstate(invalid="ignore", divide="ignore"):
        ux, uy = numpy.where(size > 0, gx / size, 0.0), numpy.where(size > 0, gy / size, 0.0)
    arrows = ax.quiver(
        qx,
        qy,
        ux,
        uy,
        size,
        cmap="autumn",
        angles="xy",
        pivot="mid",
        width=0.004,
        edgecolor="black",
        linewidth=0.4,  # an outline: arrows show on any contour colour
    )
    fig.colorbar(arrows, ax=ax, label="|∇f|", shrink=0.8)

    if point is not None:
        px, py = number(point[0], "point[0]", where), number(point[1], "point[1]", where)
        _gradient_arrow(ax, f, px, py, 0.25 * min(x_hi - x_lo, y_hi - y_lo))
    ax.set_xlim(x_lo, x_hi)
    ax.set_ylim(y_lo, y_hi)
    ax.set_aspect("equal")  # else the arrows would not cross the contours at right angles
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(f"{_name(f)}: contours and gradient field")
    return _finish(fig, path)


def _gradient_arrow(
    ax: Any, f: Callable[[Any, Any], Any], px: float, py: float, size: float
) -> None:
    """∇f at (px, py) as an arrow `size` long, or, at a kink, no arrow and a label saying so."""
    import chainrule as cr

    slopes = curvature.one_sided_slopes(cr.grad(lambda p: f(p[0], p[1])), [px, py])
    if slopes is not None and slopes.kink:
        low, high = sorted((slopes.left, slopes.right))
        where = f"({px:g}, {py:g}): a kink along {'xy'[slopes.index]}"
        label = f"no gradient at {where}, slopes {_slope(low, high)} to {_slope(high, low)}"
        ax.plot([px], [py], "o", color="C0", label=label)
    else:
        dx, dy = (float(g) for g in cr.grad(f, argnums=(0, 1))(px, py))
        length = float(numpy.hypot(dx, dy))
        scale = size / length if length > 0 else 0.0
        label = f"∇f({px:g}, {py:g}) = ({dx:.4g}, {dy:.4g})"
        arrow = {"angles": "xy", "scale_units": "xy", "scale": 1, "width": 0.008}
        ax.quiver([px], [py], [dx * scale], [dy * scale], color="C0", label=label, **arrow)
        ax.plot([px], [py], "o", color="C0")
    ax.legend(loc="upper right", fontsize="small")


def optimizer_paths(
    surface: Surface | str,
    optimizers: Sequence[str] = OPTIMIZERS,
    lr: float | Mapping[str, float] | None = None,
    steps: int = 200,
    start: Sequence[float] | None = None,
    path: str | Path | None = None,
) -> Any:
    """The paths of several optimizers from one start on a `Surface`, over its contours.

    `surface` is a `Surface` or a name in `chainrule.learn.surfaces.SURFACES`. `lr` is one
    learning rate for all, a dict of them by optimizer name, or None for the surface's own
    (``surface.lr``). The legend gives each optimizer's step count; minima are starred.

    >>> fig = optimizer_paths("bowl", optimizers=("gd", "adam"), steps=50)
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    ['gd (50 steps)', 'adam (50 steps)', 'start', 'end', 'minimum']
    """
    if isinstance(surface, str):
        if surface not in SURFACES:
            raise ValueError(
                f"unknown surface {surface!r}; choose one of {', '.join(SURFACES)} "
                "or pass a chainrule.learn.surfaces.Surface"
            )
        surface = SURFACES[surface]
    if isinstance(optimizers, str):
        optimizers = (optimizers,)
    unknown = [name for name in optimizers if name not in OPTIMIZERS]
    if unknown or not optimizers:
        raise ValueError(
            f"optimizers must be names among {', '.join(OPTIMIZERS)}; got {list(optimizers)}"
        )
    origin = surface.start if start is None else start
    paths = []
    for name in optimizers:
        if lr is None:
            rate = surface.lr[name]
        elif isinstance(lr, Mapping):
            rate = lr.get(name, surface.lr[name])
        else:
            rate = lr
        paths.append(descend(surface.vector_fn, origin, name, lr=rate, steps=steps))
    title = f"f(x, y) = {surface.formula}"
    return descent_paths(
        surface.fn,
        paths,
        xlim=surface.xlim,
        ylim=surface.ylim,
        minima=surface.minima,
        title=title if surface.name == surface.formula else f"{surface.name}: {title}",
        path=path,
    )


def descent_paths(
    f: Callable[..., Any],
    paths: Sequence[DescentPath],
    xlim: tuple[float, float] | None = None,
    ylim: tuple[float, float] | None = None,
    minima: Sequence[Sequence[float]] = (),
    title: str | None = None,
    path: str | Path | None = None,
) -> Any:
    """Paths from `chainrule.learn.surfaces.descend` drawn on f, a function of one or two variables.

    One variable: the curve y = f(x) with each path's points on it. Two: the contours of
    f(x, y) with each path over them. `f` works elementwise on arrays (written with
    `chainrule.numpy`). The window defaults to the paths' finite points, padded; `minima`
    are starred; a path that diverged is drawn up to its first point far off the window.
    Paths that overlap stay legible: each has its own colour, marker and line style, drawn
    a little transparent; the start is a hollow square, each path's end its marker, large.

    >>> from chainrule.learn.surfaces import descend
    >>> run = descend(lambda p: p[0] ** 2, [2.0], "gd", lr=0.2, steps=5)
    >>> fig = descent_paths(lambda x: x**2, [run])
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    ['f(x)', 'gd (5 steps)', 'start', 'end']
    """
    if not paths:
        raise ValueError(
            "descent_paths needs at least one path from chainrule.learn.surfaces.descend"
        )
    dims = {p.points.shape[1] for p in paths}
    if not dims <= {1, 2} or len(dims) != 1:
        raise ValueError(
            f"descent_paths draws paths of one or two variables, all alike; got {sorted(dims)}"
        )
    two = dims == {2}
    finite = numpy.concatenate([p.points for p in paths])
    finite = finite[numpy.all(numpy.isfinite(finite), axis=1)]
    lo, hi = finite.min(axis=0), finite.max(axis=0)
    pad = numpy.maximum(0.25 * (hi - lo), 0.5)
    where = "descent_paths"
    xlim = _interval((lo[0] - pad[0], hi[0] + pad[0]) if xlim is None else xlim, "xlim", where)
    fig = _figure(figsize=(7.0, 5.6) if two else (6.4, 4.4))
    ax = fig.subplots()
    if two:
        y_lim = _interval((lo[1] - pad[1], hi[1] + pad[1]) if ylim is None else ylim, "ylim", where)
        _contours(ax, f, xlim, y_lim)
        ax.set_ylim(*y_lim)
        centre = numpy.array([sum(xlim) / 2, sum(y_lim) / 2])
        far = 3.0 * max(xlim[1] - xlim[0], y_lim[1] - y_lim[0])
    else:
        xs = numpy.linspace(xlim[0], xlim[1], 401)
        ax.plot(xs, _curve(f, xs), color="0.3", linewidth=1.5, label="f(x)")
        centre, far = numpy.array([sum(xlim) / 2]), 3.0 * (xlim[1] - xlim[0])
    for i, p in enumerate(paths):
        outside = numpy.nonzero(numpy.abs(p.points - centre).max(axis=1) > far)[0]
        end = outside[0] + 1 if outside.size else len(p.points)  # not out to 1e300
        xs, ys = (
            (p.points[:end, 0], p.points[:end, 1]) if two else (p.points[:end, 0], p.values[:end])
        )
        label = f"{p.optimizer} ({p.steps_taken} steps{', diverged' if p.diverged else ''})"
        # overlapping paths stay apart: each its colour, marker and dash, a little see-through
        colour, marker = f"C{i % 10}", _MARKERS[i % len(_MARKERS)]
        style = _DASHES[i % len(_DASHES)]
        ax.plot(xs, ys, color=colour, marker=marker, linestyle=style, markersize=4,
                linewidth=1.6, alpha=0.8, label=label)  # fmt: skip
        ax.plot(xs[-1:], ys[-1:], marker=marker, color=colour, markersize=11,
                markeredgecolor="black", linestyle="none")  # its end, large  # fmt: skip
    first = paths[0]
    start_y = first.points[0, 1] if two else first.values[0]
    ax.plot([first.points[0, 0]], [start_y], "s", color="black", markersize=9, label="start",
            markerfacecolor="none", markeredgewidth=2)  # fmt: skip
    ax.plot([], [], "o", color="0.6", markersize=11, markeredgecolor="black", label="end")
    if len(minima):
        stars = numpy.array(minima, dtype=float)
        ax.plot(
            stars[:, 0],
            stars[:, 1] if two else _curve(f, stars[:, 0]),
            "*",
            color="gold",
            markeredgecolor="black",
            markersize=14,
            label="minimum",
        )
    ax.set_xlim(*xlim)
    ax.set_xlabel("x")
    if two:
        ax.set_ylabel("y")
    else:
        ax.set_ylabel("f(x)")
        ax.grid(alpha=0.3)
    ax.set_title(title if title is not None else f"{_name(f)}: optimizer paths")
    ax.legend(loc="best", fontsize="small")
    return _finish(fig, path)


_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
_DASHES = ("-", "--", "-.", ":")


def _finish(fig: Any, path: str | Path | None) -> Any:
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig


def _interval(limits: Any, what: str, where: str) -> tuple[float, float]:
    try:
        lo, hi = limits
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: {what} must be a pair (low, high), got {limits!r}") from exc
    lo, hi = number(lo, f"{what}[0]", where), number(hi, f"{what}[1]", where)
    if not lo < hi:
        raise ValueError(f"{where}: {what} must be (low, high) with low < high, got {limits!r}")
    return lo, hi


def _name(f: Any) -> str:
    name = getattr(f, "__name__", "")
    return "f" if not name or name == "<lambda>" else name.lstrip("_")


def _curve(f: Callable[[Any], Any], xs: numpy.ndarray) -> numpy.ndarray:
    """f on a grid: all at once if f is elementwise, else point by point."""
    try:
        with numpy.errstate(all="ignore"):
            ys = numpy.asarray(f(xs), dtype=numpy.float64)
        if ys.shape == xs.shape:
            return ys
    except Exception:  # f may take scalars only; the loop below raises its real error
        pass
    with numpy.errstate(all="ignore"):
        return numpy.array([float(f(x)) for x in xs])


def _contours(
    ax: Any, f: Callable[[Any, Any], Any], xlim: tuple[float, float], ylim: tuple[float, float]
) -> None:
    """Filled contours of f(x, y), with levels at quantiles so steep valleys still show."""
    gx, gy = numpy.meshgrid(
        numpy.linspace(xlim[0], xlim[1], 240), numpy.linspace(ylim[0], ylim[1], 240)
    )
    with numpy.errstate(all="ignore"):
        z = numpy.asarray(f(gx, gy), dtype=numpy.float64)
    if z.shape != gx.shape:
        raise ValueError(
            f"f must work elementwise on arrays (written with chainrule.numpy): on two "
            f"{gx.shape} grids it returned shape {z.shape}"
        )
    z = numpy.ma.masked_invalid(z)
    levels = numpy.unique(numpy.quantile(z.compressed(), numpy.linspace(0, 1, 25)))
    if levels.size < 2:  # a constant function: no contours to draw
        ax.imshow(z, extent=(*xlim, *ylim), origin="lower", cmap="viridis", aspect="auto")
        return
    from matplotlib.colors import BoundaryNorm

    norm = BoundaryNorm(levels, ncolors=256)  # colours by level index, not by value
    ax.contourf(gx, gy, z, levels=levels, cmap="viridis", norm=norm, alpha=0.75)
    ax.contour(gx, gy, z, levels=levels, colors="white", linewidths=0.4, alpha=0.6)
