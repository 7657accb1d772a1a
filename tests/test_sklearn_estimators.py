"""The linear models and PCA are scikit-learn estimators: its own checks, clone, pipelines, search.

chainrule implements scikit-learn's protocol without importing it (`chainrule._estimator`);
this file, skipped without scikit-learn, holds chainrule to it with scikit-learn's
``parametrize_with_checks`` and the meta-estimators users combine models with.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

pytest.importorskip("sklearn", minversion="1.6")  # __sklearn_tags__ and expected_failed_checks

from sklearn.base import clone, is_classifier, is_regressor
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from chainrule import data
from chainrule.linalg import PCA
from chainrule.linear_model import (
    DataConversionWarning,
    Lasso,
    LinearRegression,
    LogisticRegression,
    NotFittedError,
    Ridge,
)

ESTIMATORS = [LinearRegression(), Ridge(), Lasso(), LogisticRegression(), PCA()]

# scikit-learn's checks that do not apply, by check name, and why.
NOT_FITTED = (
    "scikit-learn stays optional, so chainrule's NotFittedError is its own class, not a "
    "subclass of sklearn.exceptions.NotFittedError; like it, it is a ValueError and an "
    "AttributeError, so `except (ValueError, AttributeError)` catches both"
)
COMPLEX = (
    "complex X is refused with a TypeError (a wrong dtype is a wrong type, in every "
    "chainrule function), where this check wants scikit-learn's ValueError"
)
N_ITER = (
    "n_iter_ is None for the closed-form solvers (lstsq, normal, closed), as scikit-learn's "
    "own Ridge, which scikit-learn exempts from this check for that reason"
)
SHARED = {"check_estimators_unfitted": NOT_FITTED, "check_complex_data": COMPLEX}


def expected_failed_checks(estimator: Any) -> dict[str, str]:
    if isinstance(estimator, PCA):  # a transformer: no predict, no n_iter_
        return {"check_complex_data": COMPLEX}
    if isinstance(estimator, (LinearRegression, Ridge)):
        return {**SHARED, "check_non_transformer_estimators_n_iter": N_ITER}
    return dict(SHARED)


with warnings.catch_warnings():  # "does not inherit from BaseEstimator": by design
    warnings.filterwarnings("ignore", "Estimator .* does not inherit", UserWarning)
    ALL_CHECKS = parametrize_with_checks(
        ESTIMATORS, expected_failed_checks=expected_failed_checks, xfail_strict=True
    )


@ALL_CHECKS
def test_scikit_learn_estimator_checks(estimator: Any, check: Any) -> None:
    # Our own warnings (ConvergenceWarning, DataConversionWarning) are UserWarnings that
    # scikit-learn's filters do not know; the checks look at them by name.
    with warnings.catch_warnings():
        warnings.simplefilter("always", UserWarning)
        check(estimator)


def test_kinds_and_tags() -> None:
    assert all(is_regressor(m) for m in ESTIMATORS[:3])
    assert is_classifier(LogisticRegression()) and not is_regressor(LogisticRegression())
    tags = PCA().__sklearn_tags__()
    assert tags.transformer_tags is not None and not tags.target_tags.required


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_params_round_trip_and_clone(estimator: Any) -> None:
    params = estimator.get_params()
    assert set(params) == set(type(estimator)().get_params())
    copy = clone(estimator)
    assert copy is not estimator and copy.get_params() == params
    name = "tol" if "tol" in params else "n_components"
    assert estimator.set_params(**{name: 0.5}) is estimator
    assert estimator.get_params()[name] == 0.5
    with pytest.raises(ValueError, match=r"set_params: unknown parameter 'bogus'; the param"):
        estimator.set_params(bogus=1)


def test_hyper_parameters_are_stored_unchanged_and_checked_by_fit() -> None:
    """scikit-learn's rule: __init__ and set_params store, fit checks (clone relies on it)."""
    model = Ridge(alpha=-1.0)  # no error yet
    assert model.alpha == -1.0 and repr(model) == "Ridge(alpha=-1.0)"
    X, y = np.eye(3), np.arange(3.0)
    with pytest.raises(ValueError, match=r"Ridge\.fit: alpha must be a finite number >= 0"):
        model.fit(X, y)
    pca = PCA(n_components=0)
    with pytest.raises(ValueError, match=r"PCA\.fit: n_components must be between 1 and 3"):
        pca.fit(X)
    with pytest.raises(ValueError, match=r"PCA\.fit: method must be one of 'svd', 'eigh'"):
        PCA(method="qr").fit(X)


def test_repr_shows_what_differs_from_the_defaults() -> None:
    assert repr(LogisticRegression()) == "LogisticRegression()"
    assert repr(LogisticRegression(C=3.0, solver="newton")) == (
        "LogisticRegression(C=3.0, solver='newton')"
    )
    assert repr(PCA(2, method="eigh")) == "PCA(n_components=2, method='eigh')"


def test_pipeline_cross_val_score_and_grid_search() -> None:
    X, y = data.make_blobs(
        120, n_features=4, centers=3, cluster_std=3.0, random_state=2, dtype=np.float64
    )
    pipeline = make_pipeline(StandardScaler(), PCA(n_components=2), LogisticRegression())
    scores = cross_val_score(pipeline, X, y, cv=3)
    assert scores.shape == (3,) and scores.min() > 0.6
    search = GridSearchCV(
        pipeline,
        {"pca__n_components": [1, 3], "logisticregression__C": [0.01, 10.0]},
        cv=3,
    ).fit(X, y)
    assert search.best_params_["pca__n_components"] in (1, 3)
    assert (
        search.best_estimator_.named_steps["pca"].n_components_
        == (search.best_params_["pca__n_components"])
    )
    X_reg, y_reg, _, _ = data.make_linear(60, n_features=3, noise=0.1, dtype=np.float64)
    search = GridSearchCV(Lasso(), {"alpha": [1e-3, 10.0]}, cv=3).fit(X_reg, y_reg)
    assert search.best_params_ == {"alpha": 1e-3}  # a large penalty zeroes every weight


def test_not_fitted_error_and_column_targets() -> None:
    for model, method in [(Ridge(), "predict"), (PCA(), "transform")]:
        with pytest.raises(NotFittedError, match=r"is not fitted yet; call fit first"):
            getattr(model, method)(np.eye(2))
    X, y = np.array([[0.0], [1.0], [2.0]]), np.array([[1.0], [3.0], [5.0]])
    with pytest.warns(DataConversionWarning, match="A column-vector y was passed"):
        model = LinearRegression().fit(X, y)
    np.testing.assert_allclose(model.coef_, [2.0], rtol=1e-12)
