"""Maximum likelihood: `fit_mle` fits any family to data, in closed form or by gradients."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np
import scipy.optimize

import chainrule as cr
import chainrule.numpy as cnp
from chainrule._validate import count
from chainrule.stats.distribution import _CONSTRAINTS, _D, _SUPPORTS, Distribution


def _fit_data(family: type[Distribution], data: Any, known: dict[str, Any]) -> Any:
    name = family.__name__
    x = np.asarray(data, dtype=np.float64)
    if family.event_ndim:
        if x.ndim != 2 or x.shape[0] == 0:
            raise ValueError(
                f"fit_mle({name}): data must be a 2-D array (one observation per row), "
                f"got shape {x.shape}"
            )
    else:
        x = x.ravel()
    if x.size == 0:
        raise ValueError(f"fit_mle({name}): data is empty")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"fit_mle({name}): data contains NaN or infinity")
    if not family.discrete and len(family.constraints) > 1 and np.all(x == x[0]):
        raise ValueError(
            f"fit_mle({name}): all data are equal, so the MLE is degenerate (zero spread)"
        )
    support_name = family._fit_support or family.support
    if support_name in ("interval", "real"):
        return x
    support = _SUPPORTS[support_name]
    bound = known.get("n", known.get("num_classes"))
    if bound is None and family.support == "classes":
        bound = np.inf
    if not np.all(support.contains(x, bound)):
        raise ValueError(f"fit_mle({name}): data must be {support.rule}")
    return x


def _free_fit(family: type[_D], data: Any, statics: dict[str, Any], start: _D) -> _D:
    """Minimise the mean negative log-likelihood over unconstrained parameters with L-BFGS.

    Every parameter is a slice of one flat vector ``u``, mapped into its domain by its
    constraint's ``from_free`` (exp, expit, softmax, log-Cholesky).
    """
    names = list(family.constraints)
    kinds = [_CONSTRAINTS[family.constraints[n]] for n in names]
    with np.errstate(divide="ignore"):  # log 0 = -inf: reported below
        free = [
            np.asarray(c.to_free(np.asarray(getattr(start, n), np.float64)))
            for n, c in zip(names, kinds, strict=True)
        ]
    bounds = np.cumsum([0] + [f.size for f in free]).tolist()

    def params(u: Any) -> dict[str, Any]:
        return {
            n: c.from_free(cnp.reshape(u[lo:hi], f.shape))
            for n, c, f, lo, hi in zip(names, kinds, free, bounds, bounds[1:], strict=False)
        }

    def nll(u: Any) -> Any:
        return -cnp.mean(family(**statics, **params(u)).log_prob(data))

    value_and_grad = cr.value_and_grad(nll)

    def fun(u: Any) -> tuple[float, Any]:
        v, g = value_and_grad(u)
        return float(v), np.asarray(g, np.float64)

    x0 = np.concatenate([f.ravel() for f in free])
    with np.errstate(divide="ignore", invalid="ignore"):
        start_value = float(nll(x0))
    if not np.isfinite(start_value):
        raise ValueError(
            f"fit_mle({family.__name__}): the log-likelihood is not finite at the start "
            f"{start}; pass init= with parameters under which every point is possible"
        )
    res = scipy.optimize.minimize(
        fun, x0, jac=True, method="L-BFGS-B",
        options={"maxiter": 5000, "ftol": 1e-15, "gtol": 1e-9},
    )  # fmt: skip
    if not res.success and np.max(np.abs(res.jac)) > 1e-5:
        raise RuntimeError(
            f"fit_mle({family.__name__}): the gradient fit did not converge ({res.message}); "
            "try init= closer to the data"
        )
    fitted = {n: v.item() if v.ndim == 0 else v for n, v in params(res.x).items()}
    return family(**statics, **fitted)


def fit_mle(
    family: type[_D],
    data: Any,
    method: str = "auto",
    *,
    n: int | None = None,
    num_classes: int | None = None,
    init: Mapping[str, Any] | None = None,
) -> _D:
    """The maximum-likelihood member of `family` for `data` (i.i.d. draws).

    ``method="closed_form"`` uses the textbook formula: Bernoulli ``p = k / N``, Binomial
    ``p = mean / n``, Poisson ``rate = mean``, Categorical class frequencies, Uniform
    ``(min, max)``, Normal mean and biased (1/N) standard deviation, MultivariateNormal
    mean and biased covariance, Exponential ``rate = 1 / mean``. ``method="gradient"``
    minimises the mean negative log-likelihood with L-BFGS-B and chainrule gradients over
    unconstrained parameters: log for positive ones, logit for probabilities, softmax
    for probability vectors, a Cholesky factor with log-diagonal for covariances; it
    starts from `init` (a dict of parameters) or a neutral value (method of moments for
    Gamma and Beta). ``"auto"`` is the closed form where there is one (not Gamma, Beta).

    Binomial needs its number of trials ``n=``; Categorical takes ``num_classes=``
    (default: largest class in the data + 1). MultivariateNormal data are (N, d) rows;
    other families' data are flattened. The Uniform MLE sits on the edge of the support,
    where gradients do not help: it has the closed form only.

    >>> from chainrule.stats import Binomial, Gamma
    >>> d = fit_mle(Gamma, [1.2, 0.7, 3.1, 2.2, 1.6, 0.9])
    >>> print(round(float(d.shape), 4), round(float(d.rate), 4))
    4.0449 2.502
    >>> print(fit_mle(Binomial, [3, 5, 4], n=10))
    Binomial(n=10, p=0.4)
    """
    if not (isinstance(family, type) and issubclass(family, Distribution)):
        raise TypeError(
            f"fit_mle: family must be a distribution class such as Normal, got {family!r}"
        )
    name = family.__name__
    given = {"n": n, "num_classes": num_classes}
    for key, value in given.items():
        if value is not None and key not in family._fit_keywords:
            raise TypeError(
                f"fit_mle({name}): unexpected keyword {key}= (it is for "
                f"{'Binomial' if key == 'n' else 'Categorical'})"
            )
    known = {
        k: count(v, k, f"fit_mle({name})", minimum=0) for k, v in given.items() if v is not None
    }
    if "n" in family._fit_keywords and not known.get("n"):
        raise TypeError(f"fit_mle({name}): pass the known number of trials (>= 1), e.g. n=10")
    if method not in ("auto", "closed_form", "gradient"):
        raise ValueError(
            f"fit_mle: method must be 'auto', 'closed_form' or 'gradient', got {method!r}"
        )
    x = _fit_data(family, data, known)
    fields = {f.name for f in dataclasses.fields(family)}  # type: ignore[arg-type]
    statics = {k: v for k, v in known.items() if k in fields}  # Binomial's n
    if method != "gradient":
        closed = family._closed_form(x, known)
        if closed is not None:
            return family(**statics, **closed)
        if method == "closed_form":
            raise ValueError(
                f"fit_mle({name}): there is no closed-form MLE; use method='gradient' or 'auto'"
            )
    if family.support == "interval":
        raise ValueError(
            f"fit_mle({name}): the support moves with the parameters and the MLE lies on its "
            "edge, where the likelihood drops to 0: gradients do not apply; use "
            "method='closed_form'"
        )
    start = family._start(x, known) if init is None else dict(init)
    if set(start) != set(family.constraints):
        raise ValueError(
            f"fit_mle({name}): init must give exactly the parameters "
            f"{sorted(family.constraints)}, got {sorted(start)}"
        )
    return _free_fit(family, x, statics, family(**statics, **start))
