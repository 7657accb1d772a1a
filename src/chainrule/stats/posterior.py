"""Bayes' rule: the posterior over a few hypotheses, and the Beta-Bernoulli conjugate update."""

from __future__ import annotations

from typing import Any

import numpy as np

import chainrule.numpy as cnp
from chainrule._validate import float_array
from chainrule.numpy.rules.common import check
from chainrule.stats.continuous import Beta


def bayes(prior: Any, likelihood: Any) -> Any:
    """Posterior over k hypotheses: ``prior * likelihood``, normalised (Bayes' rule).

    `prior` is (k,) (weights; normalised for you). `likelihood` is ``P(data | hypothesis)``:
    a (k,) vector for one observation, or a (k, m) table whose column j holds
    ``P(outcome j | hypothesis i)``; then column j of the (k, m) result is the posterior
    after seeing outcome j (every column sums to 1). Differentiable in both arguments.

    A test with 99% sensitivity and 95% specificity, for a disease 1% of people have:

    >>> prior = [0.01, 0.99]                       # sick, healthy
    >>> table = [[0.99, 0.01], [0.05, 0.95]]       # P(positive | h), P(negative | h)
    >>> post = bayes(prior, table)                 # columns: after positive, after negative
    >>> print(round(float(post[0, 0]), 4), round(float(post[0, 1]), 6))  # P(sick | result)
    0.1667 0.000106
    """
    prior = float_array(prior, "prior", "bayes")
    likelihood = float_array(likelihood, "likelihood", "bayes")
    if len(prior.shape) != 1 or len(likelihood.shape) not in (1, 2):
        raise ValueError(
            f"bayes: prior must be (k,) and likelihood (k,) or (k, m); got {tuple(prior.shape)} "
            f"and {tuple(likelihood.shape)}"
        )
    if likelihood.shape[0] != prior.shape[0]:
        raise ValueError(
            f"bayes: likelihood has {likelihood.shape[0]} rows but there are {prior.shape[0]} "
            "hypotheses in the prior; rows of likelihood are hypotheses"
        )
    _probabilities(prior, likelihood)
    weights = prior if len(likelihood.shape) == 1 else prior[:, None]
    joint = weights * likelihood
    evidence = cnp.sum(joint, axis=0)
    _possible(evidence)
    return joint / evidence


@check
def _probabilities(prior: np.ndarray, likelihood: np.ndarray) -> None:
    """(every example's under `vmap`, every call's under `jit`)"""
    if np.any(prior < 0) or not np.all(np.sum(prior, axis=-1) > 0) or np.any(likelihood < 0):
        raise ValueError("bayes: prior and likelihood must be non-negative, prior not all 0")


@check
def _possible(evidence: np.ndarray) -> None:
    if np.any(evidence == 0):
        raise ValueError("bayes: some data have probability 0 under every hypothesis")


def beta_bernoulli_update(prior: Beta, data: Any) -> Beta:
    """The posterior of a Bernoulli `p` with a Beta prior: ``Beta(a + successes, b + failures)``.

    >>> post = beta_bernoulli_update(Beta(a=1.0, b=1.0), [1, 0, 1, 1])
    >>> print(post, post.mean)
    Beta(a=4.0, b=2.0) 0.6666666666666666
    """
    if not isinstance(prior, Beta):
        raise TypeError(f"beta_bernoulli_update: prior must be a Beta, got {prior!r}")
    x = np.asarray(data, dtype=np.float64)
    if not np.all((x == 0) | (x == 1)):
        raise ValueError("beta_bernoulli_update: data must be 0s and 1s (failures, successes)")
    successes = float(x.sum())
    return Beta(prior.a + successes, prior.b + (x.size - successes))
