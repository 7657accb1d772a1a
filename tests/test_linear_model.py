"""chainrule.linear_model against scikit-learn, the optimality conditions, and its error messages."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule import data
from chainrule import linear_model as lm


@pytest.fixture
def sk() -> Any:
    """scikit-learn's linear models, the reference: only its comparisons need it."""
    return pytest.importorskip("sklearn.linear_model")


def regression_data(n: int = 40, p: int = 5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) + rng.normal(size=p)  # features off-centre: the intercept matters
    return X, X @ rng.normal(size=p) + 0.3 * rng.normal(size=n) + 2.0


def lasso_data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 8))
    return X, X[:, :3] @ np.array([3.0, -2.0, 1.5]) + 0.5 * rng.normal(size=50) + 1.0


def blobs(classes: int) -> tuple[np.ndarray, np.ndarray]:
    X, y = data.make_blobs(
        30 * classes, n_features=4, centers=classes, cluster_std=2.5, random_state=1
    )
    return X.astype(np.float64), y


def assert_same_fit(ours, theirs, atol: float) -> None:
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=0, atol=atol)
    np.testing.assert_allclose(ours.intercept_, theirs.intercept_, rtol=0, atol=atol)


# ------------------------------------------------------------------ least squares and ridge


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("solver", ["lstsq", "normal", "gd"])
def test_linear_regression_matches_sklearn(fit_intercept: bool, solver: str, sk: Any) -> None:
    X, y = regression_data()
    theirs = sk.LinearRegression(fit_intercept=fit_intercept).fit(X, y)
    ours = lm.LinearRegression(fit_intercept=fit_intercept, solver=solver)
    assert ours.fit(X, y) is ours
    assert_same_fit(ours, theirs, atol=1e-6 if solver == "gd" else 1e-10)
    assert ours.coef_.shape == (5,) and isinstance(ours.intercept_, float)
    assert (ours.n_iter_ is None) == (solver != "gd")
    X_new = regression_data(seed=5)[0]
    np.testing.assert_allclose(ours.predict(X_new), theirs.predict(X_new), atol=1e-5)
    assert ours.score(X, y) == pytest.approx(theirs.score(X, y), abs=1e-7)
    if fit_intercept:
        assert 0.9 < ours.score(X, y) < 1.0
    else:  # y has a mean of about 2 that the model cannot fit: a worse score
        assert ours.intercept_ == 0.0 and 0.5 < ours.score(X, y) < 0.8


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("alpha", [0.0, 0.01, 1.0, 10.0, 300.0])
@pytest.mark.parametrize("solver", ["closed", "gd"])
def test_ridge_matches_sklearn(fit_intercept: bool, alpha: float, solver: str, sk: Any) -> None:
    X, y = regression_data()
    theirs = sk.Ridge(alpha=alpha, fit_intercept=fit_intercept).fit(X, y)
    ours = lm.Ridge(alpha, fit_intercept=fit_intercept, solver=solver).fit(X, y)
    assert_same_fit(ours, theirs, atol=1e-6 if solver == "gd" else 1e-10)
    assert ours.score(X, y) == pytest.approx(theirs.score(X, y), abs=1e-7)


def test_ridge_shrinks_the_coefficients_but_not_the_intercept() -> None:
    X, y = regression_data()
    y = y + 100.0  # a penalised intercept would be pulled far from ~102
    norms = [np.linalg.norm(lm.Ridge(alpha).fit(X, y).coef_) for alpha in (0.0, 1.0, 10.0, 1e3)]
    assert norms == sorted(norms, reverse=True)
    huge = lm.Ridge(1e9).fit(X, y)
    assert np.abs(huge.coef_).max() < 1e-5
    assert huge.intercept_ == pytest.approx(y.mean(), abs=1e-4)


def test_gradient_descent_reaches_the_minimum_norm_solution_of_a_rank_deficient_problem() -> None:
    X, y = regression_data(n=30, p=3, seed=2)
    X = np.column_stack([X, X[:, 0]])  # a duplicated column: many least-squares solutions
    lstsq = lm.LinearRegression().fit(X, y)
    gd = lm.LinearRegression(solver="gd", tol=1e-10).fit(X, y)
    np.testing.assert_allclose(gd.coef_, lstsq.coef_, atol=1e-6)
    assert gd.coef_[0] == pytest.approx(gd.coef_[3], abs=1e-6)  # the minimum-norm split


def test_gradient_descent_uses_the_lipschitz_step() -> None:
    # An orthogonal design with equal column norms: kappa = 1, so lr = 1 / L lands in one step.
    X = np.array([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]])
    y = np.array([3.0, 1.0, -1.0, -3.0])
    model = lm.LinearRegression(solver="gd").fit(X, y)
    np.testing.assert_allclose(model.coef_, [2.0, 1.0], atol=1e-12)
    assert model.n_iter_ == 1


def test_gradient_descent_warns_when_it_stops_early() -> None:
    X, y = regression_data()
    with pytest.warns(lm.ConvergenceWarning, match=r"Ridge\.fit: gradient descent .*max_iter=2"):
        model = lm.Ridge(solver="gd", max_iter=2).fit(X, y)
    assert model.n_iter_ == 2


def test_singular_normal_equation_is_refused() -> None:
    X, y = regression_data(n=20, p=3)
    X = np.column_stack([X, 2.0 * X[:, 1]])
    with pytest.raises(np.linalg.LinAlgError, match=r"singular.*rank 3 of 4.*solver=\"lstsq\""):
        lm.LinearRegression(solver="normal").fit(X, y)
    with pytest.raises(ValueError, match=r"singular.*Increase alpha"):  # LinAlgError is one
        lm.Ridge(0.0).fit(X, y)
    with pytest.raises(ValueError, match="singular"):  # more features than samples
        lm.LinearRegression(solver="normal").fit(X[:3], y[:3])
    lm.Ridge(1e-3).fit(X, y)  # any real penalty makes it solvable
    # Only nearly singular: the condition number of X^T X is about 1e14 > 1e12.
    X_near = np.column_stack([X[:, 0], X[:, 0] + 1e-7 * X[:, 1]])
    with pytest.raises(ValueError, match=r"condition number"):
        lm.LinearRegression(solver="normal", fit_intercept=False).fit(X_near, y)


def test_constant_target_and_r2_edge_cases() -> None:
    X = np.array([[0.0], [1.0], [2.0]])
    model = lm.LinearRegression().fit(X, [4.0, 4.0, 4.0])
    assert model.coef_[0] == pytest.approx(0.0, abs=1e-12)
    assert model.score(X, [4.0, 4.0, 4.0]) == 1.0
    assert model.score(X, [5.0, 5.0, 5.0]) == 0.0  # as scikit-learn: no variance to explain
    assert model.score(X, [4.0, 6.0, 8.0]) == pytest.approx(-1.5)


# ------------------------------------------------------------------------------------ lasso


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("alpha", [0.01, 0.1, 0.5, 2.0])
def test_lasso_matches_sklearn_with_the_same_zeros(
    fit_intercept: bool, alpha: float, sk: Any
) -> None:
    X, y = lasso_data()
    kwargs = {"fit_intercept": fit_intercept, "tol": 1e-10, "max_iter": 100_000}
    theirs = sk.Lasso(alpha=alpha, **kwargs).fit(X, y)
    ours = lm.Lasso(alpha, **kwargs).fit(X, y)
    assert_same_fit(ours, theirs, atol=1e-6)
    np.testing.assert_array_equal(ours.coef_ == 0.0, theirs.coef_ == 0.0)
    assert 0 < ours.n_iter_ < 1000
    assert ours.score(X, y) == pytest.approx(theirs.score(X, y), abs=1e-8)


def test_lasso_selects_features_with_exact_zeros() -> None:
    X, y = lasso_data()
    model = lm.Lasso(0.3, tol=1e-10).fit(X, y)
    assert np.all(model.coef_[:3] != 0.0) and np.count_nonzero(model.coef_[3:]) <= 2
    # Optimality (the subgradient condition): |x_j·r| / n <= alpha, with equality off zero.
    X_c, residual = X - X.mean(axis=0), y - model.predict(X)
    correlation = X_c.T @ residual / len(y)
    active = model.coef_ != 0.0
    np.testing.assert_allclose(correlation[active], 0.3 * np.sign(model.coef_[active]), atol=1e-7)
    assert np.all(np.abs(correlation[~active]) <= 0.3)
    # Above alpha_max = max |X_c^T (y - mean y)| / n every coefficient is exactly 0.
    alpha_max = np.abs(X_c.T @ (y - y.mean())).max() / len(y)
    empty = lm.Lasso(alpha_max * 1.001).fit(X, y)
    assert np.all(empty.coef_ == 0.0) and empty.intercept_ == pytest.approx(y.mean())
    assert np.count_nonzero(lm.Lasso(alpha_max * 0.99).fit(X, y).coef_) == 1


def test_lasso_warns_when_not_converged() -> None:
    X, y = lasso_data()
    with pytest.warns(lm.ConvergenceWarning, match=r"Lasso\.fit: coordinate descent.*gap"):
        model = lm.Lasso(0.01, max_iter=2, tol=1e-12).fit(X, y)
    assert model.n_iter_ == 2


# ------------------------------------------------------------------- logistic regression


def kkt_residual(model: lm.LogisticRegression, X: np.ndarray, y: np.ndarray) -> float:
    """Largest entry of the gradient of C * sum_i loss_i + ½||W||², written out by hand."""
    index = np.searchsorted(model.classes_, y)
    Z = X @ model.coef_.T + model.intercept_
    if len(model.classes_) == 2:
        residual = 1.0 / (1.0 + np.exp(-Z)) - index[:, None]  # sigmoid(z) - y
    else:
        P = np.exp(Z - Z.max(axis=1, keepdims=True))
        residual = P / P.sum(axis=1, keepdims=True) - np.eye(len(model.classes_))[index]
    grad_W = model.coef_ + model.C * residual.T @ X
    grad_b = model.C * residual.sum(axis=0) if model.fit_intercept else np.zeros(1)
    return float(max(np.abs(grad_W).max(), np.abs(grad_b).max()))


def newton_step(model: lm.LogisticRegression, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """H⁻¹∇F for [coef_ | intercept_]: to first order, how far the fit is from the optimum.

    L-BFGS stops when the objective's relative decrease falls below 64 eps, at gradients far
    above `tol`; a Newton step from there lands on the optimum up to O(|step|²). The Hessian
    is C Σ_i (diag(p_i) - p_i p_iᵀ) ⊗ x̃_i x̃_iᵀ + I on the weights (x̃ = (x, 1) with an
    intercept); the free shift of all intercepts, which the gradient never has, is pinned.
    """
    index = np.searchsorted(model.classes_, y)
    X1 = np.column_stack([X, np.ones(len(X))]) if model.fit_intercept else X
    Z = X @ model.coef_.T + model.intercept_
    if len(model.classes_) == 2:
        p = 1.0 / (1.0 + np.exp(-Z))
        S, residual = (p * (1 - p))[:, :, None], p - index[:, None]
    else:
        P = np.exp(Z - Z.max(axis=1, keepdims=True))
        P /= P.sum(axis=1, keepdims=True)
        S = P[:, :, None] * np.eye(P.shape[1]) - P[:, :, None] * P[:, None, :]
        residual = P - np.eye(len(model.classes_))[index]
    weights = np.zeros((residual.shape[1], X1.shape[1]))
    weights[:, : X.shape[1]] = 1.0  # the penalty ½|W|² leaves the intercepts out
    theta = np.column_stack([model.coef_, model.intercept_])[:, : X1.shape[1]]
    gradient = weights * theta + model.C * residual.T @ X1
    hessian = model.C * np.einsum("ikl,ia,ib->kalb", S, X1, X1).reshape(theta.size, -1)
    hessian += np.diag(weights.ravel())
    if model.fit_intercept and len(model.classes_) > 2:
        shift = (1 - weights).ravel() / np.sqrt(len(model.classes_))
        hessian += np.outer(shift, shift)
    return np.linalg.solve(hessian, gradient.ravel()).reshape(theta.shape)


@pytest.mark.parametrize("classes", [2, 3, 4])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("C", [0.1, 1.0])
@pytest.mark.parametrize("solver", ["lbfgs", "newton"])
def test_logistic_regression_matches_sklearn(
    classes: int, fit_intercept: bool, C: float, solver: str, sk: Any
) -> None:
    X, y = blobs(classes)
    theirs = sk.LogisticRegression(C=C, fit_intercept=fit_intercept, tol=1e-10, max_iter=10_000)
    theirs.fit(X, y)
    ours = lm.LogisticRegression(
        C=C, fit_intercept=fit_intercept, solver=solver, tol=1e-10, max_iter=1000
    )
    assert ours.fit(X, y) is ours
    rows = 1 if classes == 2 else classes
    assert ours.coef_.shape == (rows, 4) and ours.intercept_.shape == (rows,)
    # Each fit is a Newton step δ from the optimum (up to O(|δ|²), ~1e-10 here), its size set
    # by where L-BFGS stopped, not by `tol`: the fits differ by at most |δ_ours| + |δ_theirs|,
    # doubled for that remainder; the logits by as much times |x̃|, and the probabilities,
    # p_k (Δz_k - Σ_j p_j Δz_j), by at most twice the largest logit change.
    steps = [newton_step(fit, X, y) for fit in (ours, theirs)]
    assert_same_fit(ours, theirs, atol=2 * sum(np.abs(step).max() for step in steps))
    X1 = np.column_stack([X, np.ones(len(X))]) if fit_intercept else X
    logit_gap = 2 * sum(np.abs(X1 @ step.T).max() for step in steps)
    np.testing.assert_array_equal(ours.classes_, theirs.classes_)
    proba = ours.predict_proba(X)
    np.testing.assert_allclose(proba, theirs.predict_proba(X), rtol=0, atol=2 * logit_gap)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(ours.predict_log_proba(X), np.log(proba), atol=1e-10)
    np.testing.assert_allclose(
        ours.decision_function(X), theirs.decision_function(X), rtol=0, atol=logit_gap
    )
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    assert ours.score(X, y) == theirs.score(X, y) > 0.9
    assert kkt_residual(ours, X, y) < 1e-6 * len(y) * C
    if fit_intercept and classes > 2:
        assert abs(ours.intercept_.sum()) < 1e-8  # the free shift, fixed as scikit-learn's


def test_newton_solves_to_machine_precision_in_few_steps() -> None:
    X, y = blobs(3)
    newton = lm.LogisticRegression(C=10.0, solver="newton", tol=1e-10).fit(X, y)
    assert newton.n_iter_ < 20
    assert kkt_residual(newton, X, y) < 1e-8


def test_labels_can_be_any_sortable_values() -> None:
    X, y = blobs(3)
    table = np.array(["setosa", "versicolor", "virginica"])
    names = table[y]
    by_name = lm.LogisticRegression().fit(X, names)
    by_index = lm.LogisticRegression().fit(X, y)
    assert by_name.classes_.tolist() == ["setosa", "versicolor", "virginica"]
    np.testing.assert_allclose(by_name.coef_, by_index.coef_)
    np.testing.assert_array_equal(by_name.predict(X), table[by_index.predict(X)])
    assert by_name.score(X, names) == by_index.score(X, y)
    binary = lm.LogisticRegression().fit(X[y < 2], np.where(y[y < 2] == 0, 7, -3))
    assert binary.classes_.tolist() == [-3, 7]  # coef_ is the log-odds of classes_[1] = 7
    assert set(binary.predict(X).tolist()) == {-3, 7}
    assert binary.decision_function(X).shape == (len(X),)


def test_probabilities_are_finite_for_huge_decision_values() -> None:
    X, y = blobs(2)
    model = lm.LogisticRegression(C=1e4).fit(X, y)
    far = np.array([[1e6, 1e6, 1e6, 1e6], [-1e6, -1e6, -1e6, -1e6]])
    proba, log_proba = model.predict_proba(far), model.predict_log_proba(far)
    assert np.all(np.isfinite(log_proba)) and np.all(np.isfinite(proba))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert log_proba.min() < -1e4  # exact in log space, where a probability underflows to 0


def test_logistic_objective_is_twice_differentiable() -> None:
    X, y = blobs(3)
    X, y = X[::9], y[::9]
    objective, _ = lm._logistic_objective(X, y, 3, 1.0, True)
    theta = np.random.default_rng(0).normal(size=15) * 0.3
    cr.check_grads(objective, (theta,), order=2)


def test_logistic_warns_when_not_converged() -> None:
    X, y = blobs(3)
    for solver in ("lbfgs", "newton"):
        with pytest.warns(lm.ConvergenceWarning, match=r"LogisticRegression\.fit: .*max_iter"):
            model = lm.LogisticRegression(solver=solver, max_iter=1, tol=1e-12).fit(X, y)
        assert model.n_iter_ == 1


# ---------------------------------------------------------------------------- bad input

MODELS = [lm.LinearRegression, lm.Ridge, lm.Lasso, lm.LogisticRegression]


@pytest.mark.parametrize("kind", MODELS, ids=lambda kind: kind.__name__)
def test_input_errors_name_the_problem(kind) -> None:
    X, y = blobs(2)
    model, name = kind(), kind.__name__
    with pytest.raises(lm.NotFittedError, match=rf"{name}\.predict: .*not fitted.*call fit"):
        model.predict(X)
    with pytest.raises(ValueError, match=r"X must be a 2-D array.*reshape\(-1, 1\)"):
        model.fit(X[:, 0], y)
    with pytest.raises(ValueError, match=r"X has 60 samples \(rows\) but y has 59"):
        model.fit(X, y[:-1])
    with pytest.raises(ValueError, match=r"y must be 1-D.*y\.ravel\(\)"):
        model.fit(X, np.stack([y, y], axis=1))
    with pytest.raises(ValueError, match=r"requires y to be passed, but the target y is None"):
        model.fit(X, None)
    with pytest.raises(ValueError, match=r"X has 0 feature\(s\) \(shape=\(60, 0\)\)"):
        model.fit(X[:, :0], y)
    X_nan = X.copy()
    X_nan[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"X contains NaN or infinity \(first at index \(3, 1\)\)"):
        model.fit(X_nan, y)
    with pytest.raises(ValueError, match=r"y contains NaN"):
        model.fit(X, np.where(np.arange(60) == 5, np.inf, y))
    with pytest.raises(TypeError, match=r"X must hold real floating-point numbers"):
        model.fit(X.astype(complex), y)
    with pytest.raises(TypeError, match=r"X must hold real numbers \(float\(\) argument"):
        model.fit(np.array([[{"a": 1}, 2.0]] * 60, dtype=object), y)
    model.fit(X, y)
    with pytest.raises(ValueError, match=rf"X has 3 features, but {name} is expecting 4 features"):
        model.predict(X[:, :3])


def test_hyper_parameter_errors() -> None:
    """Checked by fit, as scikit-learn (the constructor stores them unchanged)."""
    X, y = [[1.0], [2.0]], [1.0, 2.0]
    with pytest.raises(ValueError, match=r"solver must be one of 'lstsq', 'normal', 'gd'"):
        lm.LinearRegression(solver="cholesky").fit(X, y)
    with pytest.raises(ValueError, match=r"Ridge.fit: alpha must be a finite number >= 0"):
        lm.Ridge(-1.0).fit(X, y)
    with pytest.raises(ValueError, match=r"alpha must be > 0 for Lasso.*LinearRegression"):
        lm.Lasso(0.0).fit(X, y)
    with pytest.raises(ValueError, match=r"C must be a finite number > 0"):
        lm.LogisticRegression(C=0.0).fit(X, [0, 1])
    with pytest.raises(TypeError, match=r"max_iter must be an int, got 10.5"):
        lm.LogisticRegression(max_iter=10.5).fit(X, [0, 1])
    with pytest.raises(TypeError, match=r"fit_intercept must be True or False"):
        lm.Ridge(fit_intercept="yes").fit(X, y)
    model = lm.Ridge()
    model.solver = "svd"  # changed after construction: caught by fit
    with pytest.raises(ValueError, match=r"Ridge\.fit: solver must be one of 'closed', 'gd'"):
        model.fit([[1.0]], [1.0])


def test_classifier_label_errors() -> None:
    X = np.arange(8.0).reshape(4, 2)
    with pytest.raises(ValueError, match=r"only one class, 'a'; a classifier needs at least 2"):
        lm.LogisticRegression().fit(X, ["a"] * 4)
    with pytest.raises(ValueError, match=r"Unknown label type: continuous \(y holds 0.5"):
        lm.LogisticRegression().fit(X, [0.0, 0.5, 1.0, 1.0])
    model = lm.LogisticRegression().fit(X, [0.0, 1.0, 1.0, 2.0])  # whole numbers are labels
    assert model.classes_.tolist() == [0.0, 1.0, 2.0]
    with pytest.raises(TypeError, match=r"labels in y must be sortable"):
        lm.LogisticRegression().fit(X, np.array([1, "b", 2.5, None], dtype=object))


def test_repr_shows_the_hyper_parameters_that_differ_from_the_defaults() -> None:
    assert repr(lm.Lasso(0.5)) == "Lasso(alpha=0.5)"
    assert repr(lm.LogisticRegression(solver="newton", tol=1e-6)) == (
        "LogisticRegression(solver='newton', tol=1e-06)"
    )


def test_scikit_learn_stays_optional() -> None:
    """Fitting, predicting and the estimator protocol never import scikit-learn."""
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from chainrule.linear_model import LogisticRegression, Ridge\n"
        "from chainrule.linalg import PCA\n"
        "X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0], [3.0, 1.0]])\n"
        "Ridge().set_params(alpha=0.5).fit(X, [1.0, 2.0, 3.0, 4.0]).predict(X)\n"
        "LogisticRegression().fit(X, [0, 0, 1, 1]).predict_proba(X)\n"
        "print(repr(PCA(1).fit(X)), PCA().get_params())\n"
        "assert not [m for m in sys.modules if m.startswith('sklearn')]\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip() == "PCA(n_components=1) {'method': 'svd', 'n_components': None}"
