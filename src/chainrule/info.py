"""Information theory: entropy, cross-entropy and divergences, differentiable and safe at 0.

Every function is written with `chainrule.numpy`, so it has derivatives of any order, and
uses ``xlogy(p, q) = p log q`` (0 where ``p = 0``) for the terms ``p log p`` and
``p log q``. Zero probabilities are therefore handled by the convention ``0 log 0 = 0``,
with no NaN in the values, and none in the derivatives either: ``xlogy``'s rules take the
partials as 0 where ``p = q = 0`` (see `chainrule.scipy.special`). The derivative of
``entropy`` in a zero entry is then finite, though the true one-sided derivative there is
``+inf`` (entropy rises steeply as an impossible outcome becomes possible): the convention
drops that term, which keeps gradient descent on distributions with zeros NaN-free.

Conventions, as ``scipy.stats.entropy``:
- Inputs are *normalised* along `axis` first (divided by their sum), so counts work as
  well as probabilities, and the derivatives are those of the normalised expression.
  Plain inputs are checked: entries must be finite and ``>= 0`` and every slice along
  `axis` must have a positive sum. (Traced inputs are not checked: their values are not
  known while a function is being differentiated.) `p` and `q` broadcast against each
  other before normalising.
- ``base=None`` gives nats (natural log); ``base=2`` bits.
- ``kl_divergence(p, q)`` is ``inf`` where some ``q = 0 < p``.

Unlike SciPy (``axis=0``), the default axis is the last one, where ML code keeps its
classes.

>>> import chainrule as cr
>>> import chainrule.numpy as np
>>> from chainrule import info
>>> print(info.entropy(np.array([0.25, 0.25, 0.25, 0.25]), base=2))
2.0
>>> p, q = np.array([0.5, 0.5, 0.0]), np.array([0.25, 0.25, 0.5])
>>> print(round(float(info.kl_divergence(p, q, base=2)), 6))
1.0
>>> cr.grad(info.entropy)(p).round(4)  # finite at the exact 0
array([0.    , 0.    , 0.3069])
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

import chainrule.numpy as cnp
from chainrule._validate import float_array
from chainrule.core.trace import Tracer
from chainrule.numpy.rules.common import check
from chainrule.scipy.special import xlogy

__all__ = [
    "cross_entropy",
    "entropy",
    "gaussian_kl",
    "gaussian_kl_mv",
    "js_divergence",
    "kl_divergence",
    "mutual_information",
]

# ----------------------------------------------------------------------------- helpers


def _probabilities(p: Any, what: str, name: str) -> Any:
    """`p` as a float array, checked to be finite and non-negative."""
    p = float_array(p, what, name)
    _finite_non_negative(p, what, name)
    return p


@check
def _finite_non_negative(p: np.ndarray, what: str, name: str) -> None:
    """(the values under any transform: every example's under `vmap`, every call's under
    `jit`, where a check on plain values alone let a bad call give NaN)"""
    if not np.all(np.isfinite(p)):
        raise ValueError(f"{name}: {what} has NaN or infinite entries; probabilities are finite.")
    if np.any(p < 0):
        raise ValueError(
            f"{name}: {what} has negative entries (smallest {np.min(p)!r}); "
            "probabilities and counts must be >= 0."
        )


def _axis(axis: Any, ndim: int, name: str) -> int:
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
        raise TypeError(f"{name}: axis must be an int, got {axis!r}.")
    if ndim == 0:
        raise ValueError(f"{name}: the input is a scalar; a distribution needs at least 1 axis.")
    ax = int(axis)
    if not -ndim <= ax < ndim:
        raise ValueError(f"{name}: axis {ax} is out of range for an input of {ndim} axes.")
    return ax % ndim


def _normalised(p: Any, what: str, name: str, axis: int) -> Any:
    """`p` divided by its sum along `axis` (checked to be positive)."""
    total = cnp.sum(p, axis=axis, keepdims=True)
    _positive_sums(total, what, name, axis)
    return p / total


@check
def _positive_sums(total: np.ndarray, what: str, name: str, axis: int) -> None:
    if np.any(total <= 0):
        raise ValueError(
            f"{name}: {what} sums to 0 along axis {axis} in some slice; each distribution "
            "needs at least one positive entry."
        )


def _distributions(name: str, axis: Any, **arrays: Any) -> tuple[list[Any], int]:
    """The named inputs checked, broadcast together and normalised along `axis`."""
    checked = [_probabilities(x, what, name) for what, x in arrays.items()]
    try:
        shape = np.broadcast_shapes(*(tuple(x.shape) for x in checked))
    except ValueError:
        shapes = ", ".join(f"{w} {tuple(x.shape)}" for w, x in zip(arrays, checked, strict=True))
        raise ValueError(f"{name}: the shapes do not broadcast together: {shapes}.") from None
    ax = _axis(axis, len(shape), name)
    out = []
    for what, x in zip(arrays, checked, strict=True):
        if tuple(x.shape) != shape:
            x = cnp.broadcast_to(x, shape)
        out.append(_normalised(x, what, name, ax))
    return out, ax


def _log_base(base: Any, name: str) -> float | None:
    """``log(base)``, what an information in nats is divided by (None for nats)."""
    if base is None:
        return None
    if isinstance(base, Tracer):
        raise TypeError(
            f"{name}: base is traced (by jit, vmap or grad), but it is a setting, a Python "
            "number: pass it as one (under jit, name its argument in static_argnums)."
        )
    real = isinstance(base, numbers.Real) and not isinstance(base, bool)
    value = float(base) if real else math.nan
    if not 0.0 < value < math.inf or value == 1.0:
        raise ValueError(
            f"{name}: base must be a number > 0 other than 1 (2 for bits, math.e or None for "
            f"nats), got {base!r}."
        )
    return math.log(value)


def _in_base(nats: Any, log_base: float | None) -> Any:
    return nats if log_base is None else nats / log_base


def _kl(p: Any, q: Any, axis: int) -> Any:
    """``sum p log(p / q)`` of normalised `p`, `q`, with ``0 log 0 = 0``; inf where q = 0 < p."""
    return cnp.sum(xlogy(p, p) - xlogy(p, q), axis=axis)


# ------------------------------------------------------------------------ distributions


def entropy(p: Any, base: float | None = None, axis: int = -1) -> Any:
    """Shannon entropy ``H(p) = -Σ p log p`` of the distribution(s) along `axis`.

    `p` is normalised first (counts are fine), as ``scipy.stats.entropy(p)``. The uniform
    distribution over ``n`` outcomes has the largest entropy, ``log n``; a certain outcome
    has 0.

    >>> import chainrule.numpy as np
    >>> print(entropy(np.array([1.0, 1.0, 1.0, 1.0]), base=2))
    2.0
    >>> entropy(np.array([[0.5, 0.5], [1.0, 0.0]]), base=2)
    array([1., 0.])
    """
    log_base = _log_base(base, "entropy")
    (p,), ax = _distributions("entropy", axis, p=p)
    # 0 - Σ, not -Σ: a certain outcome has entropy 0.0, not -0.0 (and so in cross_entropy).
    return _in_base(0.0 - cnp.sum(xlogy(p, p), axis=ax), log_base)


def cross_entropy(p: Any, q: Any, base: float | None = None, axis: int = -1) -> Any:
    """Cross-entropy ``H(p, q) = -Σ p log q``: the cost of coding `p` with a code built for `q`.

    Both are normalised along `axis`. ``H(p, q) = H(p) + KL(p ‖ q)``, so it is smallest,
    ``H(p)``, at ``q = p``; it is ``inf`` where some ``q = 0 < p``.

    >>> import chainrule.numpy as np
    >>> print(cross_entropy(np.array([0.5, 0.5]), np.array([0.25, 0.75]), base=2).round(4))
    1.2075
    """
    log_base = _log_base(base, "cross_entropy")
    (p, q), ax = _distributions("cross_entropy", axis, p=p, q=q)
    return _in_base(0.0 - cnp.sum(xlogy(p, q), axis=ax), log_base)


def kl_divergence(p: Any, q: Any, base: float | None = None, axis: int = -1) -> Any:
    """Kullback–Leibler divergence ``KL(p ‖ q) = Σ p log(p / q)`` (``scipy.stats.entropy(p, q)``).

    Both are normalised along `axis`. It is ``>= 0``, 0 only at ``q = p``, not symmetric,
    and ``inf`` where some ``q = 0 < p`` (`q` calls impossible what `p` says can happen).

    >>> import chainrule.numpy as np
    >>> print(kl_divergence(np.array([0.5, 0.5]), np.array([0.5, 0.5])))
    0.0
    >>> print(kl_divergence(np.array([0.5, 0.5]), np.array([1.0, 0.0])))
    inf
    """
    log_base = _log_base(base, "kl_divergence")
    (p, q), ax = _distributions("kl_divergence", axis, p=p, q=q)
    return _in_base(_kl(p, q, ax), log_base)


def js_divergence(p: Any, q: Any, base: float | None = None, axis: int = -1) -> Any:
    """Jensen–Shannon divergence ``½ KL(p ‖ m) + ½ KL(q ‖ m)`` with ``m = (p + q) / 2``.

    Symmetric, always finite, between 0 and ``log 2`` (1 bit). This is the divergence; its
    square root, the Jensen–Shannon *distance*, is ``scipy.spatial.distance.jensenshannon``.

    >>> import chainrule.numpy as np
    >>> print(js_divergence(np.array([1.0, 0.0]), np.array([0.0, 1.0]), base=2))
    1.0
    """
    log_base = _log_base(base, "js_divergence")
    (p, q), ax = _distributions("js_divergence", axis, p=p, q=q)
    m = 0.5 * (p + q)
    return _in_base(0.5 * (_kl(p, m, ax) + _kl(q, m, ax)), log_base)


def mutual_information(joint: Any, base: float | None = None) -> Any:
    """Mutual information ``I(X; Y)`` from a joint table ``joint[x, y]`` (normalised first).

    Computed as ``KL(p(x, y) ‖ p(x) p(y))``, which equals ``H(X) + H(Y) - H(X, Y)``: how
    far the joint is from independence. 0 for an independent table (up to rounding),
    ``H(X)`` when `Y` determines `X` (a diagonal table).

    >>> import chainrule.numpy as np
    >>> print(mutual_information(np.eye(4), base=2))
    2.0
    >>> print(abs(mutual_information(np.outer([0.2, 0.8], [0.5, 0.3, 0.2]))) < 1e-12)
    True
    """
    log_base = _log_base(base, "mutual_information")
    table = _probabilities(joint, "joint", "mutual_information")
    if table.ndim != 2:
        raise ValueError(
            "mutual_information: joint must be a 2-D table joint[x, y], got shape "
            f"{tuple(table.shape)}."
        )
    total = cnp.sum(table)
    _some_mass(total)
    p_xy = table / total
    p_x, p_y = cnp.sum(p_xy, axis=1), cnp.sum(p_xy, axis=0)
    nats = cnp.sum(xlogy(p_xy, p_xy) - xlogy(p_xy, cnp.outer(p_x, p_y)))
    return _in_base(nats, log_base)


@check
def _some_mass(total: np.ndarray) -> None:
    if not np.all(total > 0):
        raise ValueError("mutual_information: joint sums to 0; it needs a positive entry.")


# ----------------------------------------------------------------------------- Gaussians


def _positive(x: Any, what: str, name: str) -> Any:
    x = float_array(x, what, name)
    _all_positive(x, what, name)
    return x


@check
def _all_positive(x: np.ndarray, what: str, name: str) -> None:
    if not np.all(x > 0):
        raise ValueError(f"{name}: {what} must be > 0 everywhere (a standard deviation).")


def gaussian_kl(mu1: Any, sigma1: Any, mu2: Any, sigma2: Any) -> Any:
    """``KL(N(mu1, sigma1²) ‖ N(mu2, sigma2²))`` in nats, in closed form, elementwise.

    ``log(σ₂/σ₁) + (σ₁² + (μ₁ - μ₂)²) / (2σ₂²) - ½``. The arguments broadcast, so one call
    gives the KL of many pairs (a VAE's per-latent KL is ``gaussian_kl(mu, sigma, 0, 1)``).
    Standard deviations, not variances.

    >>> print(gaussian_kl(0.0, 1.0, 0.0, 1.0), gaussian_kl(1.0, 1.0, 0.0, 1.0))
    0.0 0.5
    """
    mu1 = float_array(mu1, "mu1", "gaussian_kl")
    mu2 = float_array(mu2, "mu2", "gaussian_kl")
    sigma1 = _positive(sigma1, "sigma1", "gaussian_kl")
    sigma2 = _positive(sigma2, "sigma2", "gaussian_kl")
    ratio = sigma1 / sigma2
    shift = (mu1 - mu2) / sigma2
    return 0.5 * (ratio * ratio + shift * shift - 1.0) - cnp.log(ratio)


def _covariance(cov: Any, what: str, name: str, k: int) -> Any:
    cov = float_array(cov, what, name)
    if tuple(cov.shape) != (k, k):
        raise ValueError(
            f"{name}: {what} has shape {tuple(cov.shape)}; with a mean of length {k} it must "
            f"be ({k}, {k})."
        )
    _symmetric_positive_definite(cov, what, name)
    return cov


@check
def _symmetric_positive_definite(cov: np.ndarray, what: str, name: str) -> None:
    if not np.allclose(cov, np.swapaxes(cov, -1, -2), rtol=1e-10, atol=0.0):
        raise ValueError(f"{name}: {what} is not symmetric; a covariance matrix must be.")
    try:
        np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        raise ValueError(
            f"{name}: {what} is not positive definite (a covariance must be; add a small "
            "multiple of the identity if it is singular)."
        ) from None


def gaussian_kl_mv(mean1: Any, cov1: Any, mean2: Any, cov2: Any) -> Any:
    """``KL(N(mean1, cov1) ‖ N(mean2, cov2))`` in nats, for k-variate normals.

    ``½ [tr(Σ₂⁻¹Σ₁) + (μ₂ - μ₁)ᵀ Σ₂⁻¹ (μ₂ - μ₁) - k + log det Σ₂ - log det Σ₁]``, with
    means of shape ``(k,)`` and covariances ``(k, k)``, symmetric positive definite. For
    univariate (and elementwise-vectorised) normals use `gaussian_kl`.

    >>> import chainrule.numpy as np
    >>> print(round(float(gaussian_kl_mv(np.zeros(2), np.eye(2), np.ones(2), np.eye(2))), 6))
    1.0
    """
    name = "gaussian_kl_mv"
    mean1 = float_array(mean1, "mean1", name)
    mean2 = float_array(mean2, "mean2", name)
    if mean1.ndim != 1 or tuple(mean2.shape) != tuple(mean1.shape):
        raise ValueError(
            f"{name}: mean1 and mean2 must be vectors of one length k, got shapes "
            f"{tuple(mean1.shape)} and {tuple(mean2.shape)}."
        )
    k = mean1.shape[0]
    cov1 = _covariance(cov1, "cov1", name, k)
    cov2 = _covariance(cov2, "cov2", name, k)
    diff = mean2 - mean1
    trace = cnp.trace(cnp.linalg.solve(cov2, cov1))
    mahalanobis = cnp.dot(diff, cnp.linalg.solve(cov2, diff))
    logdet1 = cnp.linalg.slogdet(cov1)[1]
    logdet2 = cnp.linalg.slogdet(cov2)[1]
    return 0.5 * (trace + mahalanobis - k + logdet2 - logdet1)
