"""Differentiable ``scipy.special``: the primitives and their derivative rules, side by side,
one family per module (``_basic``, ``_gamma``, ``_error``, ``_bessel``, ``_entropy``,
``_boxcox``, ``_integrals``); real inputs.

Called on plain arrays, each function is SciPy's own (same signature, same values), except
that ``polygamma``, ``yn``, ``expn`` and ``multigammaln`` keep float32 input float32 (SciPy
computes them in float64 for an integer order), and ``factorial``, which keeps float32 too.
Rules are written with differentiable functions, so every derivative can be differentiated
again:
``digamma' = polygamma(1, .)`` and ``polygamma(n, .)' = polygamma(n + 1, .)`` to any order.

Numerical stability:
- ``expit'`` is ``expit(x) * expit(-x)``, not ``s * (1 - s)``: no cancellation at large
  ``|x|`` (at ``x = 40`` it gives ``4.25e-18``, not 0).
- ``logsumexp``, ``softmax`` and ``log_softmax`` differentiate through the softmax weights
  ``exp(a - max) / Σ exp(a - max)`` in the input's dtype, which lie in [0, 1] and sum to 1
  whatever the scale of ``a`` (``[1000, 2000, 3000]``, ``[-1000, 0]`` and a float32 tie at
  1e7 give finite values and derivatives); never ``exp(a - logsumexp(a))``, whose rounded
  ``logsumexp`` is off by whole units at large magnitude.
- ``log_ndtr'`` is ``exp(-x²/2 - log_ndtr(x)) / sqrt(2π)``, finite far into both tails.
- ``erfcx' = 2x erfcx - 2/√π``, finite where ``erfc`` underflows.
- Bessel derivatives use ``C'_v = (C_{v-1} ∓ C_{v+1}) / 2``, never ``v C_v / x``: finite at 0.
- ``rgamma'`` left of 1/2 comes from the reflection ``1/Γ(x) = Γ(1-x) sin(πx)/π``: finite
  and smooth through the zeros of ``1/Γ`` (``(-1)ⁿ n!`` at ``-n``), where ``-ψ/Γ`` is NaN.
- Removable singularities use a Taylor series within 0.1 of the point, exact there to high
  order: ``spence'`` at ``z = 1`` (-1), ``boxcox``'s and ``boxcox1p``'s ``∂/∂lmbda`` at
  ``lmbda log x = 0`` (``(log x)²/2`` at ``lmbda = 0``); ``Si'`` at 0 is ``sinc``.

Conventions:
- ``xlogy(x, y) = x log y`` and ``xlog1py(x, y) = x log1p(y)`` are 0 at ``x = 0`` (as SciPy).
  Where ``x = 0`` and ``y`` is at or past the pole (``y <= 0`` for xlogy, ``y <= -1`` for
  xlog1py) both partial derivatives are taken as 0 (as PyTorch for ``x``; ``y``'s partial is
  exactly 0 along ``x = 0`` anyway), so entropy-like ``xlogy(p, p)`` has a finite gradient
  at ``p = 0`` instead of NaN. Elsewhere they are the true ``log y`` and ``x / y``
  (``-inf``/``inf`` where the value itself is infinite).
- ``logsumexp`` is differentiable in ``a`` and ``b``; with ``return_sign=True`` the sign is a
  plain array (derivative zero). Where the weighted sum is 0 or, without ``return_sign``,
  negative, the value is ``-inf`` or NaN and so is the derivative.
- ``polygamma`` is not differentiable in its order ``n``.
- ``i0e`` and ``ive`` (``e^(-|x|) I_v(x)``) have a kink at 0 where ``I_v(0) != 0`` (``v = 0``):
  the derivative there is the mean of the one-sided slopes (``sign(0) = 0``), 0 for ``i0e``.
- ``gammasgn`` is piecewise constant, and ``bernoulli(n)`` a table of numbers: plain arrays,
  derivative 0.
- ``factorial(n)`` (``exact=False``) is ``Γ(n+1)`` for ``n >= 0`` and 0 left of 0, with
  derivative 0 there; at ``n = 0``, where it jumps, the right-hand derivative ``-γ``.
  ``exact=True`` and ``extend="complex"`` are not differentiable.
- ``sici`` and ``fresnel`` return two arrays; an unused one contributes nothing to a
  gradient even where its derivative is infinite (``Ci`` at 0).
- ``gammainc``/``gammaincc`` in ``a`` and ``betainc`` in ``a``, ``b`` have no closed form:
  their derivatives (``_gamma.gammainc_da``, ``_gamma.betainc_dab``, of any order and mixed)
  come from running the series or continued fraction (Lentz's method) on truncated Taylor
  jets in the parameters (forward-mode differentiation of a convergent iteration, stopped
  when no coefficient moves by two ulps), in float64. The prefactors ``x^a e^(-x) / Γ(a+1)``
  and ``x^a (1-x)^b / (a B(a, b))`` are taken through Stirling's series and ``t - log1p(t)``
  at large parameters, and ``ψ(b) - ψ(a+b)`` by Taylor's series when ``a << b``, so the
  relative error is a few ulps times the logarithms of the prefactor (the conditioning in
  the tails), about ``log(a) sqrt(a)`` ulps near the mean. Near a sign change of a
  derivative (``∂²P/∂a²`` near ``x = a``) it is accurate in absolute terms only; when `a`
  and `b` are both small, second derivatives lose ``1/(a+b)²`` ulps. 0 at the ends of the
  support; NaN where SciPy's value is NaN; for parameters of about 1e7 and beyond the
  iteration does not converge: an ArithmeticError that says so.
- ``iv``/``ive`` in their order ``v`` (``_bessel.iv_dv``, any order): the power series
  ``Σ (x/2)^(2k+v) / (k! Γ(k+v+1))`` on jets in `v`, for ``v > -1`` and ``x >= 0``. Its
  terms' derivatives cancel where ``∂I_v/∂v`` is exponentially small (near ``v = 0``, where
  it is ``-K_0(x)``, for ``x`` beyond about 8): where more than 6 digits would be lost, and
  at ``x < 0`` or ``v <= -1``, a ValueError that says so.
- Not differentiable, with an error naming the argument: the orders ``n`` of ``yn``,
  ``expn``, ``polygamma``, ``multigammaln``'s ``d``; and, for want of a closed form, ``a``,
  ``b`` of ``hyp1f1``, ``v`` of ``jv`` (= ``jn``), ``yv``, ``kv``, and ``x`` of ``zeta``.
  Pass them as constants or through ``chainrule.stop_gradient``.
"""

from __future__ import annotations

from ._basic import (
    digamma,
    erf,
    erfc,
    erfinv,
    expit,
    gammaln,
    log_ndtr,
    log_softmax,
    logit,
    logsumexp,
    ndtr,
    polygamma,
    psi,
    softmax,
    xlog1py,
    xlogy,
)
from ._bessel import i0, i0e, i1, i1e, iv, ive, j0, j1, jn, jv, k0, k1, kv, y0, y1, yn, yv
from ._boxcox import boxcox, boxcox1p
from ._entropy import entr, kl_div, rel_entr
from ._error import dawsn, erfcinv, erfcx, ndtri, owens_t
from ._gamma import (
    bernoulli,
    beta,
    betainc,
    betaln,
    factorial,
    gamma,
    gammainc,
    gammaincc,
    gammasgn,
    hyp1f1,
    loggamma,
    multigammaln,
    poch,
    rgamma,
    zeta,
)
from ._integrals import exp1, expi, expn, fresnel, sici, spence

__all__ = [
    "bernoulli", "beta", "betainc", "betaln", "boxcox", "boxcox1p", "dawsn", "digamma", "entr", "erf",
    "erfc", "erfcinv", "erfcx", "erfinv", "exp1", "expi", "expit", "expn", "factorial", "fresnel", "gamma",
    "gammainc", "gammaincc", "gammaln", "gammasgn", "hyp1f1", "i0", "i0e", "i1", "i1e", "iv",
    "ive", "j0", "j1", "jn", "jv", "k0", "k1", "kl_div", "kv", "log_ndtr", "log_softmax",
    "loggamma", "logit", "logsumexp", "multigammaln", "ndtr", "ndtri", "owens_t", "poch",
    "polygamma", "psi", "rel_entr", "rgamma", "sici", "softmax", "spence", "xlog1py", "xlogy",
    "y0", "y1", "yn", "yv", "zeta",
]  # fmt: skip

# The functions whose rules are checked on complex values (tests/test_complex_scipy.py): the
# holomorphic ones SciPy evaluates at complex arguments, in their complex argument.
COMPLEX = (
    "dawsn", "erf", "erfc", "erfcx", "exp1", "expi", "fresnel", "hyp1f1", "iv", "jn", "jv",
    "kv", "log_ndtr", "log_softmax", "logsumexp", "ndtr", "sici", "softmax", "spence", "xlog1py",
    "xlogy", "yv",
)  # fmt: skip
