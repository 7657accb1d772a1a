"""The differentiable namespaces: every function the project promises, and nothing extra."""

from __future__ import annotations

import numpy
import pytest
import scipy.special

import chainrule as cr
import chainrule.numpy as np
from chainrule.scipy import special

ELEMENTWISE = """add subtract multiply divide true_divide negative power square sqrt cbrt exp exp2
expm1 log log2 log10 log1p sin cos tan arcsin arccos arctan arctan2 sinh cosh tanh arcsinh arccosh
arctanh abs absolute maximum minimum fmax fmin clip where hypot logaddexp reciprocal real"""
REDUCTIONS = "sum mean prod max min amax amin var std cumsum cumprod average"
SHAPES = """reshape ravel transpose swapaxes moveaxis expand_dims squeeze concatenate stack hstack
vstack split array_split tile repeat pad flip roll broadcast_to triu tril diag diagonal trace
atleast_1d atleast_2d atleast_3d array rot90 append diff ediff1d meshgrid select full full_like
astype take take_along_axis sort partition unique bincount"""
SEQUENCES = """median quantile percentile nanmax nanmin nanprod nanvar nanstd nancumsum nancumprod
nanmedian nanquantile nanpercentile nan_to_num linspace logspace geomspace trapezoid gradient
interp polyval convolve correlate unwrap"""
PRODUCTS = "dot matmul vdot inner outer tensordot einsum kron cross"
LINALG = """inv det slogdet solve norm cholesky eigh eigvalsh svd qr pinv lstsq matrix_power
vector_norm matrix_norm svdvals cond tensorinv tensorsolve multi_dot vecdot matrix_transpose"""
SPECIAL = "expit logit logsumexp softmax log_softmax erf erfc gammaln digamma xlogy xlog1py"


@pytest.mark.parametrize(
    "name",
    (ELEMENTWISE + " " + REDUCTIONS + " " + SHAPES + " " + SEQUENCES + " " + PRODUCTS).split(),
)
def test_numpy_function_is_differentiable(name: str) -> None:
    ours = getattr(np, name)
    assert ours is not getattr(numpy, name), f"chainrule.numpy.{name} is NumPy's own"
    assert callable(ours)


@pytest.mark.parametrize("name", LINALG.split())
def test_linalg_function_is_differentiable(name: str) -> None:
    assert getattr(np.linalg, name) is not getattr(numpy.linalg, name)


@pytest.mark.parametrize("name", SPECIAL.split())
def test_special_function_is_differentiable(name: str) -> None:
    assert getattr(special, name) is not getattr(scipy.special, name)
    assert name in special.__all__


def test_sign_has_a_zero_derivative_in_both_modes() -> None:
    x = numpy.array([-2.0, 0.5])
    numpy.testing.assert_array_equal(cr.grad(lambda v: np.sum(np.sign(v) * v))(x), numpy.sign(x))
    numpy.testing.assert_array_equal(cr.jacfwd(np.sign)(x), numpy.zeros((2, 2)))


def test_no_names_beyond_numpys() -> None:
    extras = {n for n in dir(np) if not n.startswith("_") and not hasattr(numpy, n)}
    assert extras == {"rules"}  # the subpackage that holds the derivative rules
    assert {n for n in dir(np.linalg) if not n.startswith("_")} <= set(dir(numpy.linalg))


def test_non_differentiable_names_are_numpys_own_objects() -> None:
    for name in (
        "zeros",
        "ones",
        "arange",
        "eye",
        "float32",
        "pi",
        "newaxis",
        "random",
        "int64",
        "ndarray",
    ):
        assert getattr(np, name) is getattr(numpy, name), name
    assert np.fft.fftfreq is numpy.fft.fftfreq and np.fft.fft is not numpy.fft.fft


def test_modules_beyond_the_core_load_on_first_use() -> None:
    import subprocess
    import sys

    names = ("info", "integrate", "linalg", "linear_model", "numerics", "stats", "nn", "optim",
             "data", "train", "io", "learn")  # fmt: skip
    learning = ("surfaces", "curvature", "expr")  # the learning wing's, reachable from cr too
    code = (
        "import sys, chainrule as cr\n"
        f"names, learning = {names!r}, {learning!r}\n"
        "print(all(f'chainrule.{n}' not in sys.modules for n in names))\n"
        "print(all(getattr(cr, n).__name__ == f'chainrule.{n}' for n in names)\n"
        "      and all(getattr(cr, n).__name__ == f'chainrule.learn.{n}' for n in learning))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True"]


def test_tab_completion_finds_the_lazy_names() -> None:
    listed = dir(cr)
    for name in ("explain", "draw", "nn", "optim", "data", "train", "io", "stats", "grad"):
        assert name in listed, name
    assert cr.nn.Linear is not None and callable(cr.io.save) and callable(cr.train.fit)


def test_python_dash_m_chainrule_is_the_command() -> None:
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "chainrule", "--help"], capture_output=True,
                         text=True, timeout=120)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "usage: chainrule" in out.stdout


ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


def test_the_license_ships_and_the_readme_names_every_dependency() -> None:
    import re

    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    assert "MIT License" in (ROOT / "LICENSE").read_text()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license-files"] == ["LICENSE"]
    readme = (ROOT / "README.md").read_text()
    sentence = readme[readme.index("It depends on") :].split("\n\n")[0]
    names = {"numpy": "NumPy", "scipy": "SciPy", "tqdm": "tqdm", "ml_dtypes": "ml_dtypes"}
    for dependency in project["dependencies"]:
        name = re.split(r"[<>=!~ \[]", dependency)[0]
        assert names[name] in sentence, f"{name} is a dependency the README does not name"


def test_one_convention_for_np_in_the_source() -> None:
    """In chainrule's own code `np` is NumPy, and chainrule.numpy is `cnp`; only the tour's
    parts, whose code is shown to learners, write `np` for chainrule.numpy, as a user does."""
    import ast

    src = ROOT / "src" / "chainrule"
    tour_parts = {p for p in (src / "learn" / "tour").glob("*.py") if p.name != "__init__.py"}
    wrong = []
    for path in src.rglob("*.py"):
        if path == src / "__init__.py":  # where `chainrule.numpy` itself is imported
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            for alias in node.names:
                if isinstance(node, ast.ImportFrom):
                    ours = alias.name == "numpy" and (node.module == "chainrule" or node.level)
                    full = "chainrule.numpy" if ours else f"{node.module}.{alias.name}"
                else:
                    full = alias.name
                bound = alias.asname or alias.name.split(".")[0]
                if full == "chainrule.numpy":
                    expected = "np" if path in tour_parts else "cnp"
                    if bound != expected:
                        wrong.append(f"{path.relative_to(src)}: chainrule.numpy as {bound}")
                elif full == "numpy" and bound not in ("np", "numpy", "_np"):  # (_np: private)
                    wrong.append(f"{path.relative_to(src)}: numpy as {bound}")
    assert not wrong, wrong
