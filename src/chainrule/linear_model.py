"""Linear models with scikit-learn's fit / predict / score conventions, fitted with chainrule.

- `LinearRegression`: least squares, by ``lstsq``, the normal equation, or gradient descent.
- `Ridge`: least squares plus ``alpha ||w||²``, in closed form or by gradient descent.
- `Lasso`: least squares plus ``alpha ||w||₁``, by coordinate descent (exact zeros).
- `LogisticRegression`: binary or multinomial, L2-penalised, by L-BFGS or Newton's method,
  with gradients and Hessians from `chainrule`.

As in scikit-learn, ``fit(X, y)`` returns the model, X is 2-D ``(n_samples, n_features)``,
y is 1-D, fitted attributes end in ``_`` (``coef_``, ``intercept_``, ``n_iter_``...),
``score`` is R² for the regressors and accuracy for the classifier, and the intercept is
never penalised. The regressors fit it by *centring*: for any fixed w the best intercept is
``mean(y) - mean(X, axis=0) @ w``, and putting it back leaves the same problem in w on the
centred data, so the solvers never see it.

They are scikit-learn estimators (``get_params``, ``set_params``, ``clone``, ``Pipeline``,
``GridSearchCV``) without importing scikit-learn: the constructor stores the
hyper-parameters unchanged, and ``fit`` checks them.

>>> import numpy as np
>>> from chainrule.linear_model import LinearRegression
>>> X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0], [3.0, 1.0]])
>>> y = X @ np.array([2.0, -1.0]) + 0.5
>>> model = LinearRegression().fit(X, y)
>>> print(model.coef_.round(6) + 0.0, round(model.intercept_, 6), model.score(X, y))
[ 2. -1.] 0.5 1.0
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

import numpy as np
import scipy.linalg
import scipy.optimize

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import optim
from chainrule._estimator import DataConversionWarning, Estimator, NotFittedError
from chainrule._validate import count, finite, flag, float_array, matrix, number, one_of
from chainrule.core.trace import Tracer
from chainrule.scipy import special

__all__ = [
    "ConvergenceWarning",
    "DataConversionWarning",
    "Lasso",
    "LinearRegression",
    "LogisticRegression",
    "NotFittedError",
    "Ridge",
]

MAX_CONDITION = 1e12
"""Largest condition number of ``X^T X (+ alpha I)`` the closed-form solvers accept.

Solving with a matrix of condition number κ can lose about log10(κ) of the 16 digits of
float64; beyond 1e12 fewer than 4 would be left, and the answer is refused instead."""


class ConvergenceWarning(UserWarning):
    """An iterative solver stopped at ``max_iter`` (or stalled) before reaching ``tol``.

    >>> issubclass(ConvergenceWarning, UserWarning)
    True
    """


# ----------------------------------------------------------------------- checking input


def _real_array(value: Any, name: str, where: str) -> np.ndarray:
    """`value` as a finite float64 array (the models compute in float64)."""
    return finite(float_array(value, name, where), name, where).astype(np.float64)


def _check_X(X: Any, where: str, fitted: _Linear | None = None) -> np.ndarray:
    """X as a finite float64 matrix, with as many columns as `fitted` was fitted with."""
    X = matrix(X, "X", where).astype(np.float64)
    if fitted is not None and X.shape[1] != fitted.n_features_in_:
        raise ValueError(
            f"{where}: X has {X.shape[1]} features, but {type(fitted).__name__} is expecting "
            f"{fitted.n_features_in_} features as input (the number it was fitted with)."
        )
    return X


def _check_y(y: Any, n_samples: int, where: str) -> np.ndarray:
    """y as a 1-D array of `n_samples` entries (any dtype: the caller checks the values).

    A column ``(n_samples, 1)`` is flattened with a `DataConversionWarning`, as scikit-learn.
    """
    if y is None:
        raise ValueError(f"{where}: this model requires y to be passed, but the target y is None.")
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        warnings.warn(
            f"A column-vector y was passed when a 1d array was expected, to {where}; it is "
            "flattened. Pass y.ravel() to silence this warning.",
            DataConversionWarning,
            stacklevel=4,  # the caller of fit or score
        )
        y = y.ravel()
    if y.ndim != 1:
        raise ValueError(
            f"{where}: y must be 1-D, shape (n_samples,), got shape {y.shape}; "
            "pass y.ravel() for a column of targets."
        )
    if len(y) != n_samples:
        raise ValueError(
            f"{where}: X has {n_samples} samples (rows) but y has {len(y)}; "
            "they must have the same length."
        )
    return y


def _check_targets(y: Any, n_samples: int, where: str) -> np.ndarray:
    return _real_array(_check_y(y, n_samples, where), "y", where)


def _check_labels(y: Any, n_samples: int, where: str) -> np.ndarray:
    """Class labels: any sortable values, but not real numbers with a fractional part."""
    y = _check_y(y, n_samples, where)
    if y.dtype.kind == "f":
        finite(y, "y", where)
        fractional = y[y != np.round(y)]
        if fractional.size:
            raise ValueError(
                f"{where}: Unknown label type: continuous (y holds {fractional[0].item()!r}, not a "
                "class label); a classifier needs labels, a real-valued target a regressor."
            )
    return y


# How each hyper-parameter is checked, by name; `solver` against the model's `_solvers`.
_CHECKS: dict[str, Callable[[Any, str, str], Any]] = {
    "fit_intercept": flag,
    "alpha": lambda value, name, where: number(value, name, where, minimum=0.0),
    "C": lambda value, name, where: number(value, name, where, minimum=0.0, exclusive=True),
    "tol": lambda value, name, where: number(value, name, where, minimum=0.0),
    "max_iter": count,
}


def _warn_unconverged(where: str, problem: str | None, tol: float) -> None:
    """Warn, from a model's fit, that its solver stopped short of `tol` because of `problem`."""
    if problem is not None:
        warnings.warn(
            f"{where}: {problem} before reaching tol={tol}; increase max_iter, rescale the "
            "features, or loosen tol.",
            ConvergenceWarning,
            stacklevel=3,  # the caller of fit
        )


# ----------------------------------------------------------------------------- the models

_R = TypeVar("_R", bound="_Regressor")
_Solution = tuple[np.ndarray, int | None, str | None]


class _Linear(Estimator):
    """What every model here shares: checked hyper-parameters and ``X @ coef_.T + intercept_``."""

    _solvers: ClassVar[tuple[str, ...]] = ()
    fit_intercept: bool
    solver: str
    coef_: np.ndarray
    intercept_: Any
    n_features_in_: int
    n_iter_: int | None

    def _check_params(self, where: str) -> None:
        for field in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, field.name)
            if field.name == "solver":
                one_of(value, "solver", where, self._solvers)
            else:
                _CHECKS[field.name](value, field.name, where)

    def _linear(self, X: Any, method: str) -> np.ndarray:
        self._check_fitted(method)
        where = f"{type(self).__name__}.{method}"
        X = _check_X(X, where, self)
        return X @ self.coef_.T + self.intercept_


def _centre(
    X: np.ndarray, y: np.ndarray, fit_intercept: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """``(X - x_mean, y - y_mean, x_mean, y_mean)``, or no shift without an intercept."""
    if not fit_intercept:
        return X, y, np.zeros(X.shape[1]), 0.0
    x_mean, y_mean = X.mean(axis=0), float(y.mean())
    return X - x_mean, y - y_mean, x_mean, y_mean


class _Regressor(_Linear):
    """fit / predict / score for a regressor whose `_solve` fits w on centred data."""

    _estimator_type = "regressor"

    tol: float

    def _solve(self, X: np.ndarray, y: np.ndarray, where: str) -> _Solution:
        """``(w, n_iter_ or None, why it did not converge or None)``."""
        raise NotImplementedError

    def fit(self: _R, X: Any, y: Any) -> _R:
        """Fit the coefficients to X (n_samples, n_features) and y (n_samples,); returns self.

        >>> import numpy as np
        >>> X = np.array([[1.0], [2.0], [3.0]])
        >>> print(Ridge(alpha=0.0).fit(X, [2.0, 4.0, 6.0]).coef_.round(6))
        [2.]
        """
        where = f"{type(self).__name__}.fit"
        self._check_params(where)
        X = _check_X(X, where)
        y = _check_targets(y, X.shape[0], where)
        Xc, yc, x_mean, y_mean = _centre(X, y, self.fit_intercept)
        coef, self.n_iter_, problem = self._solve(Xc, yc, where)
        _warn_unconverged(where, problem, self.tol)
        self.coef_ = np.asarray(coef, dtype=np.float64)
        self.intercept_ = y_mean - float(x_mean @ self.coef_)
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X: Any) -> np.ndarray:
        """``X @ coef_ + intercept_``, one prediction per row of X.

        >>> import numpy as np
        >>> model = LinearRegression().fit(np.array([[0.0], [1.0]]), [1.0, 3.0])
        >>> model.predict([[2.0], [3.0]]).round(6)
        array([5., 7.])
        """
        return self._linear(X, "predict")

    def score(self, X: Any, y: Any) -> float:
        """R² of the predictions: ``1 - sum((y - pred)²) / sum((y - mean(y))²)`` (1 is perfect).

        As scikit-learn, a constant y scores 1.0 when predicted exactly and 0.0 otherwise.

        >>> import numpy as np
        >>> model = LinearRegression().fit(np.array([[0.0], [1.0], [2.0]]), [0.0, 1.0, 2.0])
        >>> print(round(model.score([[0.0], [1.0], [2.0]], [0.0, 2.0, 2.0]), 6))
        0.625
        """
        pred = self.predict(X)
        y = _check_targets(y, len(pred), f"{type(self).__name__}.score")
        residual, total = float(np.sum((y - pred) ** 2)), float(np.sum((y - y.mean()) ** 2))
        if total == 0.0:
            return 1.0 if residual == 0.0 else 0.0
        return 1.0 - residual / total


# ------------------------------------------------------------------ least squares solvers


def _gram_eigh(X: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (ascending) and eigenvectors of ``X^T X + alpha I``."""
    return np.linalg.eigh(X.T @ X + alpha * np.eye(X.shape[1]))


def _solve_normal(X: np.ndarray, y: np.ndarray, alpha: float, where: str, fix: str) -> np.ndarray:
    """Solve ``(X^T X + alpha I) w = X^T y``, refusing a singular or near-singular matrix.

    One eigendecomposition both measures the condition number and solves the system.
    """
    eigenvalues, vectors = _gram_eigh(X, alpha)
    largest, smallest = eigenvalues[-1], eigenvalues[0]
    condition = largest / smallest if smallest > 0 else math.inf
    if not condition <= MAX_CONDITION:
        rank = int(np.sum(eigenvalues > largest * len(eigenvalues) * np.finfo(float).eps))
        raise np.linalg.LinAlgError(
            f"{where}: the normal equation's matrix X^T X{' + alpha I' if alpha else ''} is "
            f"singular or nearly so (numerical rank {rank} of {len(eigenvalues)}, condition "
            f"number {condition:.3g} > {MAX_CONDITION:g}): the columns of X are (nearly) linearly "
            "dependent (e.g. a duplicated or constant column, or fewer samples than features), "
            f"and the solution would be mostly rounding error. {fix}"
        )
    return vectors @ ((vectors.T @ (X.T @ y)) / eigenvalues)


def _descend(X: np.ndarray, y: np.ndarray, alpha: float, max_iter: int, tol: float) -> _Solution:
    """Minimise ``(||X w - y||² + alpha ||w||²) / (2 n)`` by Nesterov's accelerated gradient.

    The loss is a quadratic with Hessian ``H = (X^T X + alpha I) / n``. Its largest
    eigenvalue L is the Lipschitz constant of the gradient, which makes ``lr = 1 / L`` a safe
    step; its smallest (nonzero) eigenvalue mu gives the condition number ``kappa = L / mu``
    and Nesterov's momentum ``(sqrt(kappa) - 1) / (sqrt(kappa) + 1)``, which cuts the error
    by about ``1 - 1 / sqrt(kappa)`` per step. Starting from w = 0, every step stays in the
    row space of X, so a rank-deficient X converges to the minimum-norm solution, as lstsq.
    Stops when ``||gradient|| <= tol * ||gradient at 0||``.
    """
    n, p = X.shape
    eigenvalues = _gram_eigh(X, alpha)[0] / n
    lipschitz = eigenvalues[-1]
    if lipschitz == 0.0:  # X is all zeros (after centring): w = 0 fits as well as any
        return np.zeros(p), 0, None
    mu = eigenvalues[eigenvalues > lipschitz * p * np.finfo(float).eps][0]
    root = math.sqrt(lipschitz / mu)
    momentum = (root - 1.0) / (root + 1.0)
    opt = optim.SGD(lr=1.0 / lipschitz, momentum=momentum, nesterov=momentum > 0.0)

    def loss(w: Any) -> Any:
        residual = X @ w - y
        return (cnp.sum(residual**2) + alpha * cnp.sum(w**2)) / (2 * n)

    gradient = cr.grad(loss)
    w = np.zeros(p)
    state = opt.init(w)
    g = gradient(w)
    target, step = tol * np.linalg.norm(g), 0
    while np.linalg.norm(g) > target and step < max_iter:
        w, state = opt.step(g, state, w)
        g = gradient(w)
        step += 1
    if np.linalg.norm(g) <= target:
        return w, step, None
    problem = (
        f"gradient descent reached max_iter={max_iter} steps (gradient norm "
        f"{np.linalg.norm(g):.3g}, condition number {root**2:.3g}: a closed-form solver "
        "would be faster)"
    )
    return w, step, problem


@dataclasses.dataclass(eq=False, repr=False)
class LinearRegression(_Regressor):
    """Ordinary least squares: minimise ``||y - X w - b||²``.

    ``solver="lstsq"`` (default) gives the minimum-norm solution even for rank-deficient X.
    ``"normal"`` solves the normal equation ``X^T X w = X^T y``, and refuses (LinAlgError, a
    ValueError) when ``X^T X`` is singular or its condition number exceeds `MAX_CONDITION`.
    ``"gd"`` runs Nesterov's accelerated gradient with `chainrule.optim` and gradients from
    ``cr.grad`` (for teaching), with `max_iter` and `tol` (``||grad|| <= tol ||grad at 0||``);
    the other solvers ignore them. ``n_iter_`` is the number of steps, None for the others.

    >>> import numpy as np
    >>> X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0], [3.0, 1.0]])
    >>> y = X @ np.array([2.0, -1.0]) + 0.5
    >>> gd = LinearRegression(solver="gd").fit(X, y)
    >>> print(gd.coef_.round(6) + 0.0, round(gd.intercept_, 6), gd.n_iter_ > 0)
    [ 2. -1.] 0.5 True
    """

    _: dataclasses.KW_ONLY
    fit_intercept: bool = True
    solver: str = "lstsq"
    max_iter: int = 10_000
    tol: float = 1e-8
    _solvers: ClassVar[tuple[str, ...]] = ("lstsq", "normal", "gd")

    def _solve(self, X: np.ndarray, y: np.ndarray, where: str) -> _Solution:
        if self.solver == "lstsq":
            return np.linalg.lstsq(X, y, rcond=None)[0], None, None
        if self.solver == "normal":
            fix = 'Use solver="lstsq" (the minimum-norm solution) or Ridge(alpha > 0).'
            return _solve_normal(X, y, 0.0, where, fix), None, None
        return _descend(X, y, 0.0, self.max_iter, self.tol)


@dataclasses.dataclass(eq=False, repr=False)
class Ridge(_Regressor):
    """Least squares with an L2 penalty: minimise ``||y - X w - b||² + alpha ||w||²``.

    ``solver="closed"`` solves ``(X^T X + alpha I) w = X^T y`` on centred data (the intercept
    is not penalised), refusing a near-singular matrix as `LinearRegression` does (only
    possible for tiny alpha); ``"gd"`` runs the same gradient descent as LinearRegression's.

    >>> import numpy as np
    >>> X = np.array([[-1.0], [0.0], [1.0]])
    >>> model = Ridge(alpha=2.0).fit(X, [1.0, 2.0, 3.0])
    >>> print(model.coef_.round(6), round(model.intercept_, 6))
    [0.5] 2.0
    """

    alpha: float = 1.0
    _: dataclasses.KW_ONLY
    fit_intercept: bool = True
    solver: str = "closed"
    max_iter: int = 10_000
    tol: float = 1e-8
    _solvers: ClassVar[tuple[str, ...]] = ("closed", "gd")

    def _solve(self, X: np.ndarray, y: np.ndarray, where: str) -> _Solution:
        alpha = float(self.alpha)
        if self.solver == "closed":
            fix = 'Increase alpha, or use LinearRegression(solver="lstsq").'
            return _solve_normal(X, y, alpha, where, fix), None, None
        return _descend(X, y, alpha, self.max_iter, self.tol)


@dataclasses.dataclass(eq=False, repr=False)
class Lasso(_Regressor):
    """Least squares with an L1 penalty, scikit-learn's ``(1/(2n)) ||y - Xw - b||² + alpha ||w||₁``.

    Cyclic coordinate descent: each coefficient in turn jumps to the minimum along its own
    axis, ``w_j = S(rho_j, n alpha) / ||x_j||²`` with ``rho_j = x_j · (r + x_j w_j)`` (r the
    residual) and soft-thresholding ``S(z, t) = sign(z) max(|z| - t, 0)``, which lands on 0
    exactly when ``|rho_j| <= n alpha``: that is how the L1 penalty selects features.

    Stopping rule (scikit-learn's): after a sweep over all coefficients whose largest change
    is at most ``tol`` times the largest coefficient, compute the duality gap (an upper
    bound on how far the objective is above its minimum) and stop once it is at most
    ``tol * ||y||² / n``, y centred when fitting an intercept. ``n_iter_`` counts sweeps; reaching `max_iter` first
    gives a `ConvergenceWarning`. alpha must be > 0 (use LinearRegression for alpha = 0).

    >>> import numpy as np
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
    >>> model = Lasso(alpha=0.2).fit(X, [2.0, 0.1, -2.0, -0.1])
    >>> print(model.coef_.round(6) + 0.0, model.n_iter_)
    [1.6 0. ] 2
    """

    alpha: float = 1.0
    _: dataclasses.KW_ONLY
    fit_intercept: bool = True
    max_iter: int = 1000
    tol: float = 1e-4

    def _check_params(self, where: str) -> None:
        super()._check_params(where)
        if self.alpha == 0:
            raise ValueError(
                f"{where}: alpha must be > 0 for Lasso (its duality gap needs a penalty); "
                "use LinearRegression for plain least squares."
            )

    def _solve(self, X: np.ndarray, y: np.ndarray, where: str) -> _Solution:
        n, p = X.shape
        penalty = n * float(self.alpha)  # the objective times n: ½||r||² + n alpha ||w||₁
        squares = np.sum(X**2, axis=0)
        w, residual = np.zeros(p), y.copy()
        gap_tol = self.tol * float(y @ y)
        for sweep in range(1, self.max_iter + 1):
            largest_w = largest_change = 0.0
            for j in range(p):
                if squares[j] == 0.0:  # a column of zeros (constant, once centred): w_j = 0
                    continue
                rho = X[:, j] @ residual + squares[j] * w[j]
                new = math.copysign(max(abs(rho) - penalty, 0.0), rho) / squares[j]
                if new != w[j]:
                    residual -= (new - w[j]) * X[:, j]
                    largest_change = max(largest_change, abs(new - w[j]))
                    w[j] = new
                largest_w = max(largest_w, abs(new))
            if largest_change <= self.tol * largest_w and (
                _lasso_gap(X, y, w, residual, penalty) <= gap_tol
            ):
                return w, sweep, None
        gap = _lasso_gap(X, y, w, residual, penalty)
        problem = (
            f"coordinate descent reached max_iter={self.max_iter} sweeps (duality gap "
            f"{gap:.3g}, target {gap_tol:.3g})"
        )
        return w, self.max_iter, problem


def _lasso_gap(
    X: np.ndarray, y: np.ndarray, w: np.ndarray, residual: np.ndarray, penalty: float
) -> float:
    """Duality gap of ``½||y - X w||² + penalty ||w||₁`` at w, with residual ``y - X w``.

    The dual is ``max ½||y||² - ½||y - v||²`` over ``||X^T v||_∞ <= penalty``; the residual,
    scaled down into that box, is a feasible v, and the gap bounds the primal's excess.
    """
    correlation = float(np.max(np.abs(X.T @ residual)))
    scale = min(1.0, penalty / correlation) if correlation > 0 else 1.0
    r2 = float(residual @ residual)
    primal = 0.5 * r2 + penalty * float(np.sum(np.abs(w)))
    dual = scale * float(residual @ y) - 0.5 * scale**2 * r2
    return primal - dual


# ------------------------------------------------------------------- logistic regression


def _logits(decision: Any) -> Any:
    """Per-class logits ``(n, classes)`` from decision values ``(n, rows)``.

    A binary model has one row of coefficients: it is the softmax over the logits ``[0, z]``,
    whose second probability is the sigmoid of z.
    """
    if decision.shape[1] > 1:
        return decision
    return cnp.concatenate([np.zeros((decision.shape[0], 1)), decision], axis=1)


def _logistic_objective(
    X: np.ndarray, index: np.ndarray, n_classes: int, C: float, fit_intercept: bool
) -> tuple[Callable[[Any], Any], Callable[[Any], tuple[Any, Any]]]:
    """The objective of the flat parameters ``[W.ravel(), b]`` divided by ``C n``, and unpack.

    Dividing scikit-learn's ``C * sum_i loss_i + ½ ||W||²`` by ``C n`` keeps its minimiser and
    makes the loss a mean, so `tol` on the gradient does not depend on the number of samples.
    """
    n, p = X.shape
    rows = 1 if n_classes == 2 else n_classes
    one_hot = np.eye(n_classes)[index]
    tie = fit_intercept and rows > 1

    def unpack(theta: Any) -> tuple[Any, Any]:
        W = theta[: rows * p].reshape(rows, p)
        return W, (theta[rows * p :] if fit_intercept else np.zeros(rows))

    def objective(theta: Any) -> Any:
        W, b = unpack(theta)
        log_proba = special.log_softmax(_logits(X @ W.T + b), axis=1)
        value = -cnp.sum(one_hot * log_proba) / n + cnp.sum(W**2) / (2 * C * n)
        if tie:
            # Softmax ignores a shift of every intercept by the same amount, so the intercepts
            # are only defined up to it. This term, 0 at the answer, picks the intercepts that
            # sum to zero (scikit-learn's answer) and makes the Hessian invertible for Newton.
            value = value + 0.5 * cnp.mean(b) ** 2
        return value

    return objective, unpack


def _lbfgs(
    objective: Callable[[Any], Any], theta: np.ndarray, max_iter: int, tol: float
) -> tuple[np.ndarray, int, str | None]:
    """scipy's L-BFGS-B with chainrule's gradient; stops when ``max |gradient| <= tol``."""
    value_and_grad = cr.value_and_grad(objective)

    def fun(theta: np.ndarray) -> tuple[float, np.ndarray]:
        value, grad = value_and_grad(theta)
        return float(value), np.asarray(grad, dtype=np.float64)

    options = {"maxiter": max_iter, "gtol": tol, "ftol": 64 * np.finfo(float).eps, "maxls": 50}
    result = scipy.optimize.minimize(fun, theta, jac=True, method="L-BFGS-B", options=options)
    problem = None if result.success else f"L-BFGS-B stopped: {result.message}"
    return result.x, int(result.nit), problem


def _newton(
    objective: Callable[[Any], Any], theta: np.ndarray, max_iter: int, tol: float
) -> tuple[np.ndarray, int, str | None]:
    """Damped Newton: step ``-H^{-1} g`` (chainrule's Hessian), halved until it decreases enough.

    The backtracking line search accepts the first ``t = 1, 1/2, 1/4, ...`` with
    ``f(theta + t d) <= f(theta) + 1e-4 t g·d`` (Armijo), so every step goes downhill;
    near the answer t = 1 is accepted and convergence is quadratic.
    """
    value_and_grad, hessian = cr.value_and_grad(objective), cr.hessian(objective)
    value, grad = value_and_grad(theta)
    for step in range(max_iter):
        if np.max(np.abs(grad)) <= tol:
            return theta, step, None
        direction = -scipy.linalg.solve(hessian(theta), grad, assume_a="pos")
        slope, t = float(grad @ direction), 1.0
        while True:
            new_value, new_grad = value_and_grad(theta + t * direction)
            if new_value <= value + 1e-4 * t * slope:
                break
            t /= 2
            if t < 1e-10:
                gradient = np.max(np.abs(grad))
                return theta, step, f"the line search stalled with max |gradient| {gradient:.3g}"
        theta, value, grad = theta + t * direction, new_value, new_grad
    if np.max(np.abs(grad)) <= tol:
        return theta, max_iter, None
    return theta, max_iter, f"Newton reached max_iter={max_iter} steps"


@dataclasses.dataclass(eq=False, repr=False)
class LogisticRegression(_Linear):
    """L2-penalised logistic regression: sigmoid for 2 classes, softmax (multinomial) for more.

    Minimises scikit-learn's ``C * sum_i loss_i + ½ ||W||²``, loss_i the cross-entropy of
    sample i; the intercept is not penalised. Two classes give one row of coefficients
    (``coef_`` of shape (1, n_features), the log-odds of ``classes_[1]``); more give one row
    per class (``coef_`` of shape (n_classes, n_features), intercepts summing to zero, as
    scikit-learn). Labels may be any sortable values; ``classes_`` holds them sorted.

    ``solver="lbfgs"``: scipy's L-BFGS-B with gradients from ``cr.value_and_grad``.
    ``solver="newton"``: Newton's method with the Hessian from ``cr.hessian`` and a
    backtracking line search: few, costly steps (the Hessian has ``(n_features + 1) *
    rows`` squared entries), and the most accurate answer. Both stop when every entry of
    the gradient of the objective divided by ``C n`` is at most `tol`; L-BFGS-B also stops,
    with scikit-learn's setting, once a step lowers that objective by less than 64 machine
    epsilons (relative), often a little short of `tol`. Hitting `max_iter` first gives a
    `ConvergenceWarning`. ``n_iter_`` counts the iterations.

    >>> import numpy as np
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> model = LogisticRegression(C=10.0).fit(X, ["no", "no", "yes", "yes"])
    >>> model.classes_.tolist(), model.predict([[0.5], [2.5]]).tolist()
    (['no', 'yes'], ['no', 'yes'])
    >>> model.predict_proba([[1.5]]).round(6)
    array([[0.5, 0.5]])
    """

    _estimator_type = "classifier"
    _: dataclasses.KW_ONLY
    C: float = 1.0
    fit_intercept: bool = True
    solver: str = "lbfgs"
    max_iter: int = 100
    tol: float = 1e-8
    _solvers: ClassVar[tuple[str, ...]] = ("lbfgs", "newton")

    def fit(self, X: Any, y: Any) -> LogisticRegression:
        """Fit to X (n_samples, n_features) and labels y (n_samples,), 2 classes or more.

        >>> import numpy as np
        >>> X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
        >>> model = LogisticRegression(solver="newton").fit(X, [0, 1, 2, 2])
        >>> model.coef_.shape, model.intercept_.shape
        ((3, 2), (3,))
        >>> print(round(float(model.intercept_.sum()), 9) + 0.0)
        0.0
        """
        where = "LogisticRegression.fit"
        self._check_params(where)
        X = _check_X(X, where)
        y = _check_labels(y, X.shape[0], where)
        try:
            classes, index = np.unique(y, return_inverse=True)
        except TypeError:
            raise TypeError(
                f"{where}: the labels in y must be sortable (e.g. all numbers or all strings); "
                f"got values of types {sorted({type(v).__name__ for v in y.tolist()})}."
            ) from None
        if len(classes) < 2:
            raise ValueError(
                f"{where}: y holds only one class, {classes.tolist()[0]!r}; a classifier needs "
                "at least 2."
            )
        objective, unpack = _logistic_objective(
            X, index, len(classes), float(self.C), self.fit_intercept
        )
        rows = 1 if len(classes) == 2 else len(classes)
        start = np.zeros(rows * (X.shape[1] + int(self.fit_intercept)))
        solve = _lbfgs if self.solver == "lbfgs" else _newton
        theta, self.n_iter_, problem = solve(objective, start, self.max_iter, self.tol)
        _warn_unconverged(where, problem, self.tol)
        W, b = unpack(theta)
        self.coef_, self.intercept_ = np.array(W), np.array(b, dtype=np.float64)
        self.classes_, self.n_features_in_ = classes, X.shape[1]
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        """``X @ coef_.T + intercept_``: shape (n,) for 2 classes (log-odds), else (n, classes).

        >>> import numpy as np
        >>> model = LogisticRegression().fit(np.array([[-1.0], [1.0]]), [0, 1])
        >>> model.decision_function([[0.0], [2.0]]).round(4) + 0.0
        array([0.    , 1.3497])
        """
        decision = self._linear(X, "decision_function")
        return decision[:, 0] if decision.shape[1] == 1 else decision

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Log-probabilities of each class, (n, n_classes), by a stable log-softmax.

        >>> import numpy as np
        >>> model = LogisticRegression().fit(np.array([[-1.0], [1.0]]), [0, 1])
        >>> model.predict_log_proba([[0.0]]).round(6)
        array([[-0.693147, -0.693147]])
        """
        return special.log_softmax(_logits(self._linear(X, "predict_log_proba")), axis=1)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Probabilities of each class, (n, n_classes), columns in the order of ``classes_``.

        >>> import numpy as np
        >>> model = LogisticRegression().fit(np.array([[-1.0], [1.0]]), [0, 1])
        >>> model.predict_proba([[0.0], [1.0]]).round(4)
        array([[0.5   , 0.5   ],
               [0.3374, 0.6626]])
        """
        return special.softmax(_logits(self._linear(X, "predict_proba")), axis=1)

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each row, from ``classes_``.

        >>> import numpy as np
        >>> model = LogisticRegression().fit(np.array([[-1.0], [1.0]]), ["a", "b"])
        >>> model.predict([[-3.0], [3.0]]).tolist()
        ['a', 'b']
        """
        best = cnp.argmax(_logits(self._linear(X, "predict")), axis=1)
        if not isinstance(best, Tracer):
            return self.classes_[best]
        if self.classes_.dtype.kind not in "biuf":  # a traced program holds numbers only
            raise TypeError(
                f"LogisticRegression.predict under a transform: the classes have dtype "
                f"{self.classes_.dtype}; take the argmax of predict_proba inside and index "
                "classes_ with it outside."
            )
        return cnp.take(self.classes_, best)  # (each call's rows: NumPy indexing would freeze)

    def score(self, X: Any, y: Any) -> float:
        """Accuracy: the fraction of rows whose predicted class equals y.

        >>> import numpy as np
        >>> model = LogisticRegression().fit(np.array([[-1.0], [1.0]]), [0, 1])
        >>> model.score([[-2.0], [-1.0], [1.0], [2.0]], [0, 1, 1, 1])
        0.75
        """
        predicted = self.predict(X)
        y = _check_labels(y, len(predicted), "LogisticRegression.score")
        return float(np.mean(predicted == y))
