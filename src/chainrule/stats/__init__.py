"""Probability distributions, maximum likelihood and Bayes' rule, all differentiable.

Each distribution is a frozen dataclass whose fields are its parameters, registered as a
pytree: it can be built from traced parameters, passed into and out of `cr.grad`, and its
``log_prob``, ``cdf``, ``entropy``, ``mean`` and ``variance`` are differentiable in the
parameters (``log_prob`` and ``cdf`` also in the value, for continuous families). Values
agree with ``scipy.stats``.

- ``dist.sample(n, rng)`` returns ``n`` draws, shaped ``(n,) + batch_shape + event_shape``;
  ``rng`` is a seed, a ``numpy.random.Generator`` or None. Where ``reparameterized`` is
  True (Normal, Uniform, Exponential, MultivariateNormal) a draw is a differentiable
  function of the parameters and of parameter-free noise, e.g. ``loc + scale * eps``, so
  ``cr.grad`` of a Monte Carlo average flows into the parameters (the
  *reparameterisation trick*). The other families return plain draws with no derivative.
- ``mean`` and ``variance`` are properties; ``entropy()``, ``log_prob(x)``, ``prob(x)`` and
  ``cdf(x)`` are methods. Values outside the support have log-probability ``-inf``.
- Parameters are checked when they are plain values (``Normal(0.0, -1.0)`` is an error);
  traced parameters are not inspected.
- `fit_mle` fits any family by maximum likelihood: the closed form where there is one,
  otherwise L-BFGS on the negative log-likelihood, with gradients from chainrule and each
  parameter mapped to an unconstrained one (log, logit, softmax, log-Cholesky).

>>> import chainrule as cr
>>> from chainrule.stats import Normal
>>> d = Normal(loc=1.0, scale=2.0)
>>> print(round(float(d.log_prob(0.0)), 6), round(float(d.cdf(1.0)), 6))
-1.737086 0.5
>>> score = cr.grad(lambda d: d.log_prob(0.0))(d)  # a gradient is a Normal of partials
>>> print(round(float(score.loc), 6), round(float(score.scale), 6))
-0.25 -0.375

The package holds one concept per module: `distribution` (the base class), `discrete` and
`continuous` (the families), `likelihood` (`fit_mle`), `posterior` (`bayes`) and
`descriptive` (sample statistics); every name is importable from ``chainrule.stats``.
"""

from __future__ import annotations

from chainrule.stats.continuous import Beta, Exponential, Gamma, MultivariateNormal, Normal, Uniform
from chainrule.stats.descriptive import corrcoef, cov, mean, var
from chainrule.stats.discrete import Bernoulli, Binomial, Categorical, Poisson
from chainrule.stats.distribution import Distribution
from chainrule.stats.likelihood import fit_mle
from chainrule.stats.posterior import bayes, beta_bernoulli_update

__all__ = [
    "FAMILIES", "Bernoulli", "Beta", "Binomial", "Categorical", "Distribution", "Exponential",
    "Gamma", "MultivariateNormal", "Normal", "Poisson", "Uniform", "bayes",
    "beta_bernoulli_update", "corrcoef", "cov", "fit_mle", "mean", "var",
]  # fmt: skip

FAMILIES: tuple[type[Distribution], ...] = (
    Bernoulli, Binomial, Poisson, Categorical, Uniform, Normal, MultivariateNormal,
    Exponential, Gamma, Beta,
)  # fmt: skip
"""Every distribution in chainrule.stats."""
