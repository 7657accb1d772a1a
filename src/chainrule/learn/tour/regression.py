"""Part 6, linear regression: least squares as a projection, ridge and lasso, the lasso path.

Each stop's body is shown to the learner: keep it short, plain and commented.
"""

from __future__ import annotations

import math

import numpy
import scipy.linalg

import chainrule as cr
import chainrule.numpy as np
from chainrule.learn.tour import check, figure, show, stop
from chainrule.linalg import condition_number
from chainrule.linear_model import Lasso, LinearRegression, Ridge

PART = "regression"


@stop("least-squares", "Least squares as a projection", "the residual is orthogonal to X's columns")
def _least_squares() -> None:
    """
    Linear regression looks for weights w making Xw as close as possible to y: it minimises
    the squared error ||y - Xw||². Geometrically, the vectors Xw are the column space of X
    (a plane, for two columns), and the closest point of a plane to y is its orthogonal
    projection ŷ: the residual r = y - ŷ is perpendicular to every column, Xᵀr = 0. Those
    are the normal equations XᵀX w = Xᵀy, and they also say that the gradient
    ∇ ||y - Xw||² = -2 Xᵀr vanishes: calculus and geometry give the same answer.

    The projection is a matrix, H = X (XᵀX)⁻¹ Xᵀ, the "hat matrix" (it puts the hat on y).
    Projecting twice changes nothing, H² = H; it is symmetric, and its trace is the number
    of columns. And Pythagoras holds: ||y||² = ||ŷ||² + ||r||².

    The checks' tolerances come from rounding: a few n ε ||X|| (||y|| + ||X|| ||w||) for
    Xᵀr, and κ(XᵀX) ε for the normal equations, whose condition number κ is squared.
    """
    import matplotlib.pyplot as plt

    rng = numpy.random.default_rng(0)
    n = 20
    x = numpy.linspace(0.0, 5.0, n)
    y = 1.0 + 0.8 * x + rng.normal(scale=0.5, size=n)
    X = numpy.column_stack([numpy.ones(n), x])  # a column of ones (the intercept) and x
    eps = numpy.finfo(float).eps  # the rounding unit of float64, for the checks' tolerances

    w = LinearRegression(fit_intercept=False).fit(X, y).coef_  # by lstsq (the SVD)
    fitted = X @ w
    r = y - fitted
    print(f"w = {show(w)} (intercept, slope)")
    # tolerances from rounding: solving with XᵀX loses about κ(XᵀX) ε; Xᵀr is a sum of n terms
    solving = 10 * condition_number(X.T @ X) * eps
    norm = numpy.linalg.norm
    summing = n * eps * norm(X) * (norm(y) + norm(X) * norm(w))

    normal = scipy.linalg.solve(X.T @ X, X.T @ y)  # the normal equations, solved directly
    print(f"= the normal equations' solution {check(w, normal, solving)}")
    print(f"Xᵀr = {show(X.T @ r)}: r is orthogonal to the columns {check(X.T @ r, 0.0, summing)}")
    grad = cr.grad(lambda w: np.sum((y - X @ w) ** 2))(w)  # the gradient of the loss, at w
    print(f"gradient of ||y - Xw||² at w = -2 Xᵀr {check(grad, -2 * X.T @ r, summing)}")

    H = X @ numpy.linalg.solve(X.T @ X, X.T)  # the projection onto the column space
    print(f"H y = ŷ {check(H @ y, fitted, solving * norm(y))}", end=", ")
    print(f"H² = H {check(H @ H, H, solving)}, Hᵀ = H {check(H.T, H, solving)}", end=", ")
    print(f"trace H = {numpy.trace(H):.6f} = 2 columns {check(numpy.trace(H), 2.0, solving)}")
    y2, f2, r2 = y @ y, fitted @ fitted, r @ r  # Pythagoras: y = ŷ + r with ŷ ⟂ r
    print(f"||y||² = {y2:.4f} = ||ŷ||² + ||r||² = {f2:.4f} + {r2:.4f}", end=" ")
    print(check(y2, f2 + r2, summing))

    fig, ax = plt.subplots(figsize=(6.0, 4.0))
    ax.vlines(x, fitted, y, color="tab:red", lw=1, label="residuals r = y - ŷ")
    ax.plot(x, y, "ko", ms=4, label="data y")
    ax.plot(x, fitted, "tab:blue", label=f"ŷ = {w[0]:.2f} + {w[1]:.2f} x")
    ax.set(xlabel="x", ylabel="y", title="Least squares: the squared residuals are minimal")
    ax.legend()
    print(figure(fig, "least-squares-fit"))


@stop(
    "ridge-lasso", "Ridge and lasso", "an L2 penalty shrinks the weights, an L1 penalty zeroes some"
)
def _ridge_lasso() -> None:
    """
    With many features, or correlated ones, least squares fits the noise. A penalty on the
    size of w trades a little bias for much less variance. Ridge adds α ||w||²: the
    gradient of the objective, 2Xᵀ(Xw - y) + 2αw, vanishes at w = (XᵀX + αI)⁻¹ Xᵀy, a closed
    form. The weights shrink as a whole (||w|| decreases as α grows), but none becomes 0,
    and one may even grow: below, feature 3, useless but correlated with feature 0, takes
    over part of its weight. (XᵀX + αI is always invertible for α > 0: ridge also cures
    collinearity.)

    Lasso adds α ||w||₁ (scikit-learn's scaling: (1/2n) ||y - Xw||² + α ||w||₁). |w| has a
    kink at 0, and that kink is the point: at the optimum each weight either is 0, where
    the correlation cⱼ = xⱼᵀ(y - Xw)/n of its feature with the residual satisfies
    |cⱼ| ≤ α, or is nonzero with cⱼ = α sign(wⱼ) (the subgradient optimality conditions,
    which we check). The lasso selects features. The intercept is never penalised: both
    work on centred data.

    Lasso has no closed form; coordinate descent stops when its duality gap G is at most
    tol ||y||²/n, and then ||w - w*|| ≤ √(2G/μ), μ the smallest eigenvalue of XᵀX/n: that
    gives the tolerance of the check.
    """
    rng = numpy.random.default_rng(1)
    X = rng.normal(size=(50, 5))  # 50 samples, 5 features; y uses only 0, 1 and 4
    X[:, 3] += 0.8 * X[:, 0]  # a useless feature, correlated with a useful one
    y = X @ numpy.array([3.0, -2.0, 0.0, 0.0, 1.5]) + 4.0 + rng.normal(scale=1.0, size=50)
    n, p = X.shape
    Xc, yc = X - X.mean(axis=0), y - y.mean()  # centred: the intercept is not penalised
    eps = numpy.finfo(float).eps

    ols = LinearRegression().fit(X, y).coef_
    ridge = Ridge(alpha=20.0).fit(X, y).coef_
    closed = numpy.linalg.solve(Xc.T @ Xc + 20.0 * numpy.eye(p), Xc.T @ yc)  # the formula
    kappa = condition_number(Xc.T @ Xc + 20.0 * numpy.eye(p))
    print(f"ridge = (XᵀX + αI)⁻¹ Xᵀy {check(ridge, closed, 10 * kappa * eps)}")

    tol = 1e-12
    lasso = Lasso(alpha=0.3, tol=tol, max_iter=100_000).fit(X, y).coef_
    c = Xc.T @ (yc - Xc @ lasso) / n  # each feature's correlation with the residual
    eigenvalues = numpy.linalg.eigvalsh(Xc.T @ Xc / n)
    slack = eigenvalues[-1] * math.sqrt(2 * tol * (yc @ yc) / n / eigenvalues[0])
    nonzero = lasso != 0
    on_the_kink = check(c[nonzero], 0.3 * numpy.sign(lasso[nonzero]), slack)
    print(f"lasso: c = α sign(w) where w ≠ 0 {on_the_kink}", end=", ")
    print(f"|c| ≤ α where w = 0 {check(numpy.all(abs(c[~nonzero]) <= 0.3 + slack), True)}")
    print(f"{'feature':>7} {'true':>6} {'OLS':>8} {'ridge α=20':>11} {'lasso α=0.3':>12}")
    for j, true in enumerate([3.0, -2.0, 0.0, 0.0, 1.5]):
        print(f"{j:>7} {true:>6.1f} {ols[j]:>8.4f} {ridge[j]:>11.4f} {lasso[j]:>12.4f}")
    print(f"exact zeros: ridge {int(numpy.sum(ridge == 0))}, lasso {int(numpy.sum(lasso == 0))}")
    shrinks = numpy.linalg.norm(ridge) < numpy.linalg.norm(ols)  # ||w|| decreases with α
    print(f"ridge shrinks: ||w_ridge|| < ||w_OLS|| {check(shrinks, True)}")


@stop("lasso-path", "The lasso path", "coefficients against the penalty, and where they reach 0")
def _lasso_path() -> None:
    """
    Follow the lasso's weights as α shrinks from large to small: the lasso path. For
    α ≥ α_max = maxⱼ |xⱼᵀy| / n (centred data) every weight is 0: at w = 0 each
    correlation cⱼ = xⱼᵀy / n already satisfies |cⱼ| ≤ α. Just below α_max exactly one
    feature enters, the one most correlated with y; then others join one by one (and may
    leave again), each weight a piecewise linear function of α. As α → 0 the path ends at
    least squares: from the optimality conditions, ||w_α - w_OLS|| ≤ α √p / μ.

    The order in which features enter ranks them: that is how the lasso is used for
    feature selection, and the path is the picture to look at before choosing α (by
    cross-validation, usually).
    """
    import matplotlib.pyplot as plt

    rng = numpy.random.default_rng(1)
    X = rng.normal(size=(50, 5))  # 50 samples, 5 features; y uses only 0, 1 and 4
    X[:, 3] += 0.8 * X[:, 0]  # a useless feature, correlated with a useful one
    y = X @ numpy.array([3.0, -2.0, 0.0, 0.0, 1.5]) + 4.0 + rng.normal(scale=1.0, size=50)
    n, p = X.shape
    Xc, yc = X - X.mean(axis=0), y - y.mean()
    alpha_max = numpy.max(abs(Xc.T @ yc)) / n
    eps = numpy.finfo(float).eps
    first = int(numpy.argmax(abs(Xc.T @ yc)))
    print(f"α_max = max |xⱼᵀy| / n = {alpha_max:.4f}, reached by feature {first}")
    at_max = Lasso(alpha=alpha_max).fit(X, y).coef_
    below = Lasso(alpha=0.95 * alpha_max).fit(X, y).coef_
    rounding = n * eps * numpy.max(abs(Xc).T @ abs(yc)) / numpy.min(numpy.sum(Xc**2, axis=0))
    print(f"at α_max all weights are 0 {check(at_max, 0.0, rounding)}", end=", ")
    print(f"at 0.95 α_max only feature {first}: {show(below)}", end=" ")
    print(check(numpy.flatnonzero(below), [first]))

    alphas = alpha_max * numpy.logspace(0, -3, 40)  # from α_max down to α_max / 1000
    path = numpy.array([Lasso(alpha=a, tol=1e-7).fit(X, y).coef_ for a in alphas])
    enters = [alphas[numpy.flatnonzero(path[:, j])[0]] for j in range(p)]  # first α: w_j ≠ 0
    order = numpy.argsort(enters)[::-1]
    print("features enter in the order", order.tolist(), "(first α of the grid where w ≠ 0:")
    print(f"  {show(numpy.sort(enters)[::-1])})")
    ols = LinearRegression().fit(X, y).coef_
    mu = numpy.linalg.eigvalsh(Xc.T @ Xc / n)[0]
    solver = math.sqrt(2 * 1e-7 * (yc @ yc) / n / mu)  # the solver's own tolerance
    distance = numpy.linalg.norm(path[-1] - ols)
    print(f"at α = {alphas[-1]:.4f}: ||w - w_OLS|| = {distance:.2e} ≤ α √p / μ", end=" ")
    print(check(distance <= alphas[-1] * math.sqrt(p) / mu + solver, True))

    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for j in range(p):
        line = ax.semilogx(alphas, path[:, j], label=f"w{j}")[0]
        ax.axvline(enters[j], color=line.get_color(), ls=":", lw=1)
    ax.axvline(alpha_max, color="k", ls="--", lw=1, label="α_max: all 0 beyond")
    ax.axhline(0.0, color="gray", lw=0.5)
    ax.invert_xaxis()  # strong penalty on the left, least squares on the right
    ax.set(xlabel="α (log scale, decreasing)", ylabel="coefficient", title="The lasso path")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    print(figure(fig, "lasso-path"))
