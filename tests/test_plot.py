"""Every plot renders to a non-blank image, and draws the numbers it claims to draw."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import numpy
import pytest

pytest.importorskip("matplotlib")

import chainrule.numpy as np
from chainrule import plot
from chainrule.learn.surfaces import OPTIMIZERS, SURFACES, descend

plt = plot.pyplot()


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


def assert_not_blank(png: Path) -> None:
    """The file is a real picture: many distinct colours and a spread of pixel values."""
    import matplotlib.image

    image = matplotlib.image.imread(png)
    assert image.ndim == 3 and image.shape[0] > 200 and image.shape[1] > 200
    rgb = image[..., :3].reshape(-1, 3)
    assert rgb.std() > 0.05
    assert len(numpy.unique(numpy.round(rgb * 255).astype(int), axis=0)) > 50


def legend_texts(ax) -> list[str]:
    return [text.get_text() for text in ax.get_legend().get_texts()]


def line_labelled(ax, prefix: str):
    (line,) = [ln for ln in ax.get_lines() if ln.get_label().startswith(prefix)]
    return line


def cubic(x):
    return x**3 - 2 * x


def test_tangent_renders_and_has_the_derivative_as_slope(tmp_path: Path) -> None:
    fig = plot.tangent(cubic, 1.5, path=tmp_path / "tangent.png")
    assert_not_blank(tmp_path / "tangent.png")
    ax = fig.axes[0]
    line = line_labelled(ax, "tangent")
    xs, ys = numpy.asarray(line.get_xdata()), numpy.asarray(line.get_ydata())
    slope = numpy.polyfit(xs, ys, 1)[0]
    assert slope == pytest.approx(3 * 1.5**2 - 2, rel=1e-10)  # f'(1.5) = 4.75
    # it touches the curve at x0
    assert numpy.interp(1.5, xs, ys) == pytest.approx(1.5**3 - 3.0, abs=1e-10)
    # the derivative curve is f'
    fx = line_labelled(ax, "f'(x)")
    numpy.testing.assert_allclose(fx.get_ydata(), 3 * numpy.asarray(fx.get_xdata()) ** 2 - 2)
    assert ax.get_xlim() == (-1.5, 4.5)  # x0 ± 3 by default
    assert "slope f'(x0) = 4.75" in legend_texts(ax)[2]
    plt.close(fig)


def relu(x):
    return np.maximum(x, 0.0)


@pytest.mark.parametrize(
    ("f", "x0", "low", "high"),
    [
        (np.abs, 0.0, -1.0, 1.0),
        (relu, 0.0, 0.0, 1.0),
        (lambda x: np.abs(x - 0.5) + x**2, 0.5, 0.0, 2.0),  # 2x ∓ 1 at 0.5
        (lambda x: np.sin(x) - np.abs(x), 0.0, 0.0, 2.0),  # a concave kink
    ],
)
def test_tangent_draws_no_tangent_at_a_kink_but_the_band_of_slopes(f, x0, low, high) -> None:
    fig = plot.tangent(f, x0)
    ax = fig.axes[0]
    assert not [t for t in legend_texts(ax) if t.startswith("tangent")]
    (text,) = [t for t in legend_texts(ax) if "kink" in t]
    assert f"slopes from {low:.4g} to {high:.4g}" in text
    (band,) = ax.collections
    # the band's edges at the window's end x0 + 3 are f(x0) + 3 low and f(x0) + 3 high; the
    # slopes are f' probed h = 2**-30 from x0, off by h |f''| <= 2**-29 here, times 3
    vertices = band.get_paths()[0].vertices
    at = numpy.unique(vertices[vertices[:, 0] == x0 + 3.0][:, 1])
    y0 = float(f(x0))
    numpy.testing.assert_allclose(at, [y0 + 3 * low, y0 + 3 * high], atol=3 * 2.0**-29)
    assert "one-sided slopes" in ax.get_title()
    plt.close(fig)


def test_tangent_at_a_tie_convention_takes_the_slopes_of_both_sides() -> None:
    # relu(x) - relu(-x) is x, but the rules' convention at 0 gives it the derivative 0
    fig = plot.tangent(lambda x: relu(x) - relu(-x), 0.0)
    line = line_labelled(fig.axes[0], "tangent")
    numpy.testing.assert_allclose(line.get_ydata(), line.get_xdata(), atol=3 * 2.0**-30)
    assert "slope f'(x0) = 1" in line.get_label()


@pytest.mark.parametrize(
    ("f", "x0"),
    [(cubic, 1.5), (np.exp, 0.0), (lambda x: np.exp(40 * x), 0.0), (np.sin, 1e6)],
)
def test_smooth_functions_have_a_tangent_not_a_kink(f, x0) -> None:
    # steep (e^40x) or far out, the slopes on both sides agree: no kink
    texts = legend_texts(plot.tangent(f, x0).axes[0])
    assert texts[2].startswith("tangent at x0") and not [t for t in texts if "kink" in t]


def test_tangent_takes_xlim_and_functions_of_scalars_only(tmp_path: Path) -> None:
    def scalar_only(x):
        if not numpy.ndim(x) == 0:
            raise TypeError("scalars only")
        return np.sin(x)

    fig = plot.tangent(scalar_only, 0.0, xlim=(-1.0, 2.0), path=tmp_path / "t.png")
    assert fig.axes[0].get_xlim() == (-1.0, 2.0)
    line = line_labelled(fig.axes[0], "tangent")
    numpy.testing.assert_allclose(line.get_ydata(), line.get_xdata())  # slope cos 0 = 1
    assert_not_blank(tmp_path / "t.png")


def test_difference_quotient_shows_the_error_falling_then_rising(tmp_path: Path) -> None:
    fig = plot.difference_quotient(np.sin, 1.0, path=tmp_path / "dq.png")
    assert_not_blank(tmp_path / "dq.png")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    line = line_labelled(ax, "|central difference")
    h, error = numpy.asarray(line.get_xdata()), numpy.asarray(line.get_ydata())
    numpy.testing.assert_allclose(h, [10.0**-k for k in range(13)])
    at = {k: error[numpy.argmin(abs(numpy.log10(h) + k))] for k in range(13)}
    assert at[1] > at[2] > at[3] > at[4]  # truncation error ~ h^2 / 6 * cos(1)
    assert at[2] == pytest.approx(math.cos(1.0) * 1e-4 / 6, rel=1e-3)
    assert at[12] > 100 * at[5]  # round-off takes over for tiny h
    plt.close(fig)


def test_difference_quotient_takes_hs_and_checks_them(tmp_path: Path) -> None:
    fig = plot.difference_quotient(np.exp, 0.0, hs=[1e-4, 1e-1, 1e-2])
    line = line_labelled(fig.axes[0], "|central difference")
    h, error = line.get_xdata(), line.get_ydata()
    assert list(h) == [1e-1, 1e-2, 1e-4]
    expected = [abs((math.exp(s) - math.exp(-s)) / (2 * s) - 1.0) for s in h]
    # math.exp and NumPy's (SIMD) exp may each be a few ulps off: allowing 4 ulps per value,
    # the two quotients differ by up to 4 eps cosh(h) / h, far below the errors for these h.
    bound = 4 * numpy.finfo(float).eps * numpy.cosh(h) / h
    numpy.testing.assert_array_less(numpy.abs(error - numpy.array(expected)), bound)
    for bad in ([], [0.1, -1e-3], [0.0], [math.nan]):
        with pytest.raises(ValueError, match="hs must be a non-empty list of positive"):
            plot.difference_quotient(np.exp, 0.0, hs=bad)


def test_gradient_field_renders_with_the_gradient_at_the_point(tmp_path: Path) -> None:
    def f(x, y):
        return x**2 + 3 * x * y + np.sin(y)

    fig = plot.gradient_field(
        f, (-2.0, 2.0), (-1.0, 3.0), point=(1.0, 0.0), path=tmp_path / "g.png"
    )
    assert_not_blank(tmp_path / "g.png")
    ax = fig.axes[0]
    assert legend_texts(ax) == ["∇f(1, 0) = (2, 4)"]  # (2x + 3y, 3x + cos y)
    assert ax.get_xlim() == (-2.0, 2.0) and ax.get_ylim() == (-1.0, 3.0)
    field, arrow = [c for c in ax.collections if type(c).__name__ == "Quiver"]
    assert arrow.U[0] / arrow.V[0] == pytest.approx(0.5)  # the arrow points along ∇f
    # the field's arrows point along the gradient at each grid point
    x, y = field.X.ravel(), field.Y.ravel()
    gx, gy = 2 * x + 3 * y, 3 * x + numpy.cos(y)
    norm = numpy.hypot(gx, gy)
    numpy.testing.assert_allclose(field.U.ravel(), gx / norm, atol=1e-12)
    numpy.testing.assert_allclose(field.V.ravel(), gy / norm, atol=1e-12)


def test_gradient_field_draws_no_gradient_at_a_kink() -> None:
    fig = plot.gradient_field(lambda x, y: np.abs(x) + y**2, (-2, 2), (-2, 2), point=(0, 1))
    ax = fig.axes[0]
    assert legend_texts(ax) == ["no gradient at (0, 1): a kink along x, slopes -1 to 1"]
    assert len([c for c in ax.collections if type(c).__name__ == "Quiver"]) == 1  # the field
    fig = plot.gradient_field(lambda x, y: np.abs(x) + y**2, (-2, 2), (-2, 2), point=(1, 1))
    assert legend_texts(fig.axes[0]) == ["∇f(1, 1) = (1, 2)"]


def _display_directions(ax, vectors: numpy.ndarray) -> numpy.ndarray:
    """Unit directions on the screen of data-space vectors (rows), as the figure draws them."""
    linear = ax.transData.get_affine().get_matrix()[:2, :2]
    shown = vectors @ linear.T
    return shown / numpy.linalg.norm(shown, axis=1, keepdims=True)


def test_gradient_field_arrows_cross_the_contours_at_right_angles() -> None:
    # f is linear, so its contours are straight lines, found exactly by marching squares;
    # on the screen the arrows must be perpendicular to them (only equal axes make it so,
    # on this 6 by 4 window).
    fig = plot.gradient_field(lambda x, y: x + 2 * y, (-3.0, 3.0), (-2.0, 2.0))
    fig.canvas.draw()  # apply the aspect
    ax, bar = fig.axes
    assert ax.get_aspect() == 1.0 and bar.get_ylabel() == "|∇f|"
    (field,) = [c for c in ax.collections if type(c).__name__ == "Quiver"]
    arrows = _display_directions(ax, numpy.column_stack([field.U, field.V]))
    lines = [c for c in ax.collections if type(c).__name__.endswith("ContourSet")][-1]
    segments = numpy.concatenate(
        [numpy.diff(path.vertices, axis=0) for path in lines.get_paths() if len(path) > 1]
    )
    segments = segments[numpy.linalg.norm(segments, axis=1) > 1e-3]
    tangents = _display_directions(ax, segments)
    # |cos| of the angle between every arrow and every contour piece: 0, up to rounding
    cosines = numpy.abs(arrows @ tangents.T)
    assert cosines.max() < 1e-9
    # the arrows are coloured by |∇f| = √5 everywhere
    numpy.testing.assert_allclose(field.get_array(), math.sqrt(5.0), rtol=1e-15)


def test_gradient_field_colours_the_arrows_by_the_gradient_length() -> None:
    fig = plot.gradient_field(lambda x, y: x**2 + y**2, (-2.0, 2.0), (-1.0, 1.0))
    (field,) = [c for c in fig.axes[0].collections if type(c).__name__ == "Quiver"]
    numpy.testing.assert_allclose(
        field.get_array(), 2 * numpy.hypot(field.X, field.Y), rtol=1e-14, atol=1e-14
    )
    assert len(set(numpy.round(field.to_rgba(field.get_array())[:, :3].sum(axis=1), 6))) > 5


def test_gradient_field_without_a_point_and_bad_limits(tmp_path: Path) -> None:
    fig = plot.gradient_field(SURFACES["himmelblau"].fn, (-5, 5), (-5, 5), path=tmp_path / "h.png")
    assert fig.axes[0].get_legend() is None
    assert_not_blank(tmp_path / "h.png")
    with pytest.raises(ValueError, match="xlim must be \\(low, high\\) with low < high"):
        plot.gradient_field(SURFACES["bowl"].fn, (2, -2), (-1, 1))
    with pytest.raises(ValueError, match="ylim must be a pair"):
        plot.gradient_field(SURFACES["bowl"].fn, (-2, 2), 1.0)


@pytest.mark.parametrize("name", sorted(SURFACES))
def test_optimizer_paths_render_with_step_counts(name: str, tmp_path: Path) -> None:
    surface = SURFACES[name]
    fig = plot.optimizer_paths(name, steps=60, path=tmp_path / f"{name}.png")
    assert_not_blank(tmp_path / f"{name}.png")
    ax = fig.axes[0]
    texts = legend_texts(ax)
    for optimizer in OPTIMIZERS:
        path = descend(surface.vector_fn, surface.start, optimizer, surface.lr[optimizer], 60)
        label = f"{optimizer} ({path.steps_taken} steps)"
        assert label in texts
        line = line_labelled(ax, label)
        drawn = numpy.column_stack([line.get_xdata(), line.get_ydata()])
        numpy.testing.assert_array_equal(drawn, path.points[: len(drawn)])
        assert len(drawn) >= 2
    assert "start" in texts
    assert ("minimum" in texts) == bool(surface.minima)
    assert ax.get_xlim() == surface.xlim and ax.get_ylim() == surface.ylim
    assert surface.formula in ax.get_title()
    plt.close(fig)


def test_optimizer_paths_counts_early_stops_and_options(tmp_path: Path) -> None:
    bowl = SURFACES["bowl"]
    fig = plot.optimizer_paths(bowl, optimizers=("gd",), lr=0.1, steps=500, start=(3.0, 3.0))
    expected = descend(bowl.vector_fn, (3.0, 3.0), "gd", lr=0.1, steps=500)
    assert expected.converged and expected.steps_taken < 500
    assert legend_texts(fig.axes[0])[0] == f"gd ({expected.steps_taken} steps)"
    fig = plot.optimizer_paths("bowl", optimizers=("gd", "adam"), lr={"adam": 0.5}, steps=5)
    adam = line_labelled(fig.axes[0], "adam")
    step = descend(bowl.vector_fn, bowl.start, "adam", lr=0.5, steps=1).points[1]
    assert (adam.get_xdata()[1], adam.get_ydata()[1]) == tuple(step)


def test_optimizer_paths_mark_divergence_and_reject_bad_names() -> None:
    fig = plot.optimizer_paths("bowl", optimizers=("gd",), lr=5.0, steps=1000)
    (text,) = [t for t in legend_texts(fig.axes[0]) if t.startswith("gd")]
    assert text.endswith("steps, diverged)")
    with pytest.raises(ValueError, match="unknown surface 'bowel'; choose one of bowl"):
        plot.optimizer_paths("bowel")
    with pytest.raises(ValueError, match="optimizers must be names among gd, momentum"):
        plot.optimizer_paths("bowl", optimizers=("gd", "sgd"))


def test_loss_curves_render(tmp_path: Path) -> None:
    history = {"epoch": [1, 2, 3], "loss": [1.0, 0.6, 0.4], "val_loss": [1.1, 0.8, 0.7]}
    fig = plot.loss_curves(history, path=tmp_path / "loss.png")
    assert_not_blank(tmp_path / "loss.png")
    lines = fig.axes[0].get_lines()
    assert [list(line.get_ydata()) for line in lines] == [[1.0, 0.6, 0.4], [1.1, 0.8, 0.7]]


def test_every_plot_saves_svg(tmp_path: Path) -> None:
    figures = {
        "tangent": plot.tangent(np.tanh, 0.5, path=tmp_path / "tangent.svg"),
        "dq": plot.difference_quotient(np.exp, 1.0, path=tmp_path / "dq.svg"),
        "field": plot.gradient_field(
            SURFACES["saddle"].fn, (-1, 1), (-1, 1), point=(0.5, 0.5), path=tmp_path / "field.svg"
        ),
        "paths": plot.optimizer_paths("saddle", steps=20, path=tmp_path / "paths.svg"),
        "loss": plot.loss_curves({"loss": [1.0, 0.5]}, path=tmp_path / "loss.svg"),
    }
    for name, fig in figures.items():
        text = (tmp_path / f"{name}.svg").read_text()
        assert text.lstrip().startswith("<?xml") and "<svg" in text and text.count("<path") > 5
        plt.close(fig)


def test_bad_points_are_rejected() -> None:
    with pytest.raises(ValueError, match="tangent: x0 must be a finite number, got inf"):
        plot.tangent(np.sin, math.inf)
    with pytest.raises(TypeError, match="difference_quotient: x0 must be a real number"):
        plot.difference_quotient(np.sin, "1.0")
    with pytest.raises(TypeError, match=r"gradient_field: point\[1\] must be a real number"):
        plot.gradient_field(lambda x, y: x * y, (-1, 1), (-1, 1), point=(0.0, None))
    with pytest.raises(ValueError, match="xlim must be \\(low, high\\)"):
        plot.tangent(np.sin, 0.0, xlim=(1.0, 1.0))


# --------------------------------------------------------------------------- issue 10


def _every_plot(tmp_path: Path) -> dict[str, object]:
    """Every public plot function, each saving a file as well."""
    run = descend(lambda p: p[0] ** 2, [2.0], "gd", lr=0.2, steps=5)
    return {
        "tangent": plot.tangent(np.sin, 0.5, path=tmp_path / "t.png"),
        "difference_quotient": plot.difference_quotient(np.exp, 1.0, path=tmp_path / "d.png"),
        "gradient_field": plot.gradient_field(
            SURFACES["bowl"].fn, (-1, 1), (-1, 1), point=(0.5, 0.5), path=tmp_path / "g.png"
        ),
        "optimizer_paths": plot.optimizer_paths("bowl", steps=10, path=tmp_path / "o.png"),
        "descent_paths": plot.descent_paths(lambda x: x**2, [run], path=tmp_path / "p.png"),
        "training_curves": plot.training_curves({"loss": [1.0, 0.5]}, path=tmp_path / "c.png"),
        "loss_curves": plot.loss_curves({"loss": [1.0, 0.5]}),
    }


@pytest.fixture
def svg_backend() -> Iterator[str]:
    """pyplot on a backend chainrule did not choose (the old code replaced it with Agg)."""
    import matplotlib

    before = matplotlib.get_backend()
    plt.switch_backend("svg")
    try:
        yield "svg"
    finally:
        plt.close("all")
        plt.switch_backend(before)


def test_plots_never_change_the_backend(svg_backend: str, tmp_path: Path) -> None:
    import matplotlib

    for name, fig in _every_plot(tmp_path).items():
        assert matplotlib.get_backend() == svg_backend, name
        assert type(fig.canvas).__module__.endswith("backend_svg"), name  # pyplot's canvas


def test_figures_are_pyplots_so_plt_show_shows_them(tmp_path: Path) -> None:
    figures = _every_plot(tmp_path)
    numbers = plt.get_fignums()
    for name, fig in figures.items():
        assert fig.number in numbers and plt.figure(fig.number) is fig, name


def test_offscreen_figures_stay_out_of_pyplot(tmp_path: Path) -> None:
    before = plt.get_fignums()
    with plot.offscreen():
        figures = _every_plot(tmp_path)
    assert plt.get_fignums() == before
    for name, fig in figures.items():
        assert not hasattr(fig, "number"), name
    assert_not_blank(tmp_path / "o.png")
    assert plot.tangent(np.sin, 0.0).number in plt.get_fignums()  # the block has ended


@pytest.fixture
def ipython_display(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """A stand-in for IPython.display that records the PNGs shown."""
    import sys
    import types

    shown: list[bytes] = []
    module = types.ModuleType("IPython.display")
    module.Image = lambda data, format: (format, data)  # type: ignore[attr-defined]
    module.display = lambda image: shown.append(image[1])  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "IPython", types.ModuleType("IPython"))
    monkeypatch.setitem(sys.modules, "IPython.display", module)
    return shown


@pytest.mark.parametrize("interactive", [True, False])
def test_a_returned_figure_shows_once_in_ipython(
    interactive: bool, ipython_display: list[bytes]
) -> None:
    import matplotlib

    before = matplotlib.is_interactive()
    matplotlib.interactive(interactive)
    try:
        fig = plot.tangent(np.sin, 0.0)
        # IPython shows a cell's value by its _ipython_display_ when it has one
        fig._ipython_display_()
        if interactive:  # interactive pyplot shows it itself (inline: when the cell ends)
            assert ipython_display == []
        else:  # nothing else will show it: the value does
            assert len(ipython_display) == 1
        plt.close(fig)  # the inline backend closes figures once shown
        fig._ipython_display_()  # shown again in a later cell: from the value only
        assert len(ipython_display) == (1 if interactive else 2)
        assert all(png.startswith(b"\x89PNG") for png in ipython_display)
    finally:
        matplotlib.interactive(before)


def test_without_matplotlib_every_plot_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError) as info:
        plot.tangent(np.sin, 0.0)
    assert str(info.value) == plot.MATPLOTLIB_NEEDED
    with plot.offscreen(), pytest.raises(ImportError, match=r"pip install 'chainrule\[plot\]'"):
        plot.loss_curves({"loss": [1.0]})


def test_overlapping_optimizer_paths_stay_apart() -> None:
    # on the bowl every optimizer starts at one point and ends at the same minimum
    fig = plot.optimizer_paths("bowl", steps=40)
    ax = fig.axes[0]
    texts = legend_texts(ax)
    assert texts[-3:] == ["start", "end", "minimum"]
    paths = [line_labelled(ax, name) for name in OPTIMIZERS]
    styles = [(p.get_color(), p.get_marker(), p.get_linestyle()) for p in paths]
    for k in range(3):  # each path its own colour, marker and dash (4 dashes: cycles)
        assert len({style[k] for style in styles}) == min(len(paths), 4 if k == 2 else 10)
    assert all(0 < p.get_alpha() < 1 for p in paths)  # see-through where they cross
    ends = [
        line
        for line in ax.get_lines()
        if line.get_label().startswith("_") and line.get_markersize() > 10
    ]
    assert len(ends) == len(paths)
    for path, end in zip(paths, ends, strict=True):
        assert (end.get_color(), end.get_marker()) == (path.get_color(), path.get_marker())
        assert (end.get_xdata()[0], end.get_ydata()[0]) == (
            path.get_xdata()[-1],
            path.get_ydata()[-1],
        )


def test_descent_paths_on_a_curve() -> None:
    gd = descend(lambda p: p[0] ** 2, [2.0], "gd", lr=0.2, steps=5)
    wild = descend(lambda p: p[0] ** 2, [2.0], "gd", lr=5.0, steps=50)
    fig = plot.descent_paths(lambda x: x**2, [gd, wild], xlim=(-3.0, 3.0))
    ax = fig.axes[0]
    line = line_labelled(ax, "gd (5 steps)")
    numpy.testing.assert_array_equal(line.get_xdata(), gd.points[:, 0])
    numpy.testing.assert_array_equal(line.get_ydata(), gd.values)  # on the curve y = f(x)
    assert wild.diverged and f"gd ({wild.steps_taken} steps, diverged)" in legend_texts(ax)
    assert ax.get_xlim() == (-3.0, 3.0) and ax.get_ylabel() == "f(x)"


def test_descent_paths_on_contours_match_optimizer_paths() -> None:
    bowl = SURFACES["bowl"]
    run = descend(bowl.vector_fn, bowl.start, "adam", lr=0.1, steps=30)
    fig = plot.descent_paths(bowl.fn, [run])
    line = line_labelled(fig.axes[0], "adam (30 steps)")
    drawn = numpy.column_stack([line.get_xdata(), line.get_ydata()])
    numpy.testing.assert_array_equal(drawn, run.points)
    lo, hi = run.points.min(axis=0), run.points.max(axis=0)
    x_lo, x_hi = fig.axes[0].get_xlim()
    assert x_lo < lo[0] and x_hi > hi[0]  # the window holds the path, padded
    with pytest.raises(ValueError, match="at least one path"):
        plot.descent_paths(bowl.fn, [])
    three = descend(lambda p: (p**2).sum(), [1.0, 1.0, 1.0], "gd", steps=3)
    with pytest.raises(ValueError, match="one or two variables"):
        plot.descent_paths(bowl.fn, [three])
