"""The exercises, part by part of the study guide: each a reference solution in plain NumPy,
whose docstring is the statement, registered with the check that judges a learner's version.

The true answers come from chainrule (``cr.grad`` of the loss written with
``chainrule.numpy``, ``chainrule.optim.Adam``, ``chainrule.scipy.special.logsumexp``), never
from the reference solutions: these are tested against the same checks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

import chainrule.numpy as cnp
from chainrule import nn, optim, stats
from chainrule.scipy import special

from . import exercise
from .checker import DerivativeReport, check_derivative, compare

Fn = Callable[..., Any]

# Data shared by the checks: fixed, so that a check gives the same verdict on every machine.
_rng = np.random.default_rng(12)
_X = _rng.standard_normal((6, 3))
_Y = _rng.standard_normal(6)
_W = np.array([0.5, -1.0, 0.25])


# -------------------------------------------------------------------------------- calculus


def softplus(x: Any) -> Any:
    return cnp.logaddexp(0.0, x)


def _check_softplus(fn: Fn) -> DerivativeReport:
    return check_derivative(softplus, fn, at=[-4.0, -1.0, -0.3, 0.0, 0.5, 2.0, 5.0])


@exercise("softplus", "calculus", "the derivative of softplus", _check_softplus)
def softplus_grad(x):
    """Softplus, softplus(x) = log(1 + e^x), is a smooth ReLU. Write its derivative.

    By the chain rule, d/dx log(u) = u'/u with u = 1 + e^x. Simplify the result: it is a
    function you have met before. x is a number or a NumPy array (work entry by entry).
    """
    return 1.0 / (1.0 + np.exp(-x))


def squared_error(w: Any, X: Any, y: Any) -> Any:
    return cnp.mean((X @ w - y) ** 2)


def _check_squared_error(fn: Fn) -> DerivativeReport:
    return check_derivative(squared_error, fn, _W, _X, _Y)


@exercise("squared_error", "calculus", "the gradient of a squared-error loss", _check_squared_error)
def squared_error_grad(w, X, y):
    """The mean squared error of a linear model, L(w) = mean((X w - y)²) over the n rows of X.

    Write its gradient with respect to w (shape like w). The residual r = X w - y is a
    vector; each r_i² contributes 2 r_i times the derivative of r_i. Do not forget the 1/n.
    """
    n = X.shape[0]
    return 2.0 / n * X.T @ (X @ w - y)


def network_loss(params: Any, x: Any, y: Any) -> Any:
    h = cnp.tanh(x @ params["W1"] + params["b1"])
    return cnp.mean((h @ params["W2"] + params["b2"] - y) ** 2)


_PARAMS = {
    "W1": _rng.standard_normal((3, 4)) / 2,
    "b1": _rng.standard_normal(4) / 2,
    "W2": _rng.standard_normal((4, 1)) / 2,
    "b2": np.array([0.1]),
}


def _check_network(fn: Fn) -> DerivativeReport:
    return check_derivative(network_loss, fn, _PARAMS, _X, _Y[:, None], points=3)


@exercise("two_layer", "calculus", "the backward pass of a two-layer network", _check_network)
def network_backward(params, x, y):
    """A two-layer network: h = tanh(x W1 + b1), pred = h W2 + b2, L = mean((pred - y)²).

    x has shape (n, 3) and y (n, 1); params is a dict of W1 (3, 4), b1 (4,), W2 (4, 1) and
    b2 (1,). Write the backward pass: return a dict of dL/dW1, dL/db1, dL/dW2, dL/db2, each
    shaped like its parameter. Go backwards, one step at a time: dL/dpred, then W2 and b2,
    then dL/dh, then through tanh (tanh' = 1 - tanh²), then W1 and b1. A bias gets the sum
    over the rows.
    """
    h = np.tanh(x @ params["W1"] + params["b1"])
    pred = h @ params["W2"] + params["b2"]
    d_pred = 2.0 * (pred - y) / pred.size
    d_pre = (d_pred @ params["W2"].T) * (1.0 - h**2)
    return {
        "W1": x.T @ d_pre,
        "b1": d_pre.sum(axis=0),
        "W2": h.T @ d_pred,
        "b2": d_pred.sum(axis=0),
    }


class AdamStep(NamedTuple):
    param: Any
    m: Any
    v: Any


def _check_adam(fn: Fn) -> DerivativeReport:
    """Five steps from m = v = 0, yours and chainrule.optim.Adam's side by side."""
    lr, betas, eps = 0.1, (0.9, 0.999), 1e-8
    opt = optim.Adam(lr=lr, betas=betas, eps=eps)
    param = np.array([1.0, -2.0, 0.5])
    mine = (param, np.zeros(3), np.zeros(3))
    state = opt.init(param)
    cases = []
    for t in range(1, 6):
        g = 2.0 * param + np.array([0.3, -0.1, 2.0]) * t  # a gradient that changes
        param, state = opt.step(g, state, param)
        got = fn(*(np.array(a) for a in mine[:1]), g.copy(), *(np.array(a) for a in mine[1:]),
                 t, lr=lr, beta1=betas[0], beta2=betas[1], eps=eps)  # fmt: skip
        true = AdamStep(param, state.exp_avg[0], state.exp_avg_sq[0])
        cases.append((f"step t={t}", true, got))
        if got is None or len(got) != 3:
            break
        mine = tuple(np.asarray(a, dtype=float) for a in got)  # type: ignore[assignment]
    advice = "compare each line with the statement: m, v, their bias corrections, the update."
    return compare("one Adam step (param, m, v)", cases, advice)


@exercise("adam", "calculus", "one Adam step", _check_adam)
def adam_step(param, grad, m, v, t, lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8):
    """One step of Adam at step t (counted from 1): return the new (param, m, v).

    m = beta1 m + (1 - beta1) grad (the running mean of the gradients), v = beta2 v +
    (1 - beta2) grad² (of their squares); both start at 0, so divide them by 1 - beta^t to
    remove that bias: m_hat = m / (1 - beta1^t), v_hat = v / (1 - beta2^t). Then
    param = param - lr m_hat / (sqrt(v_hat) + eps).
    """
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    return param - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


# -------------------------------------------------------------------------- linear algebra

_A = np.array([[2.0, 1.0, 0.0], [-1.0, 3.0, 0.5], [0.0, 2.0, 1.0]])  # not symmetric


def quadratic_form(x: Any, A: Any) -> Any:
    return x @ A @ x


def _check_quadratic(fn: Fn) -> DerivativeReport:
    return check_derivative(quadratic_form, fn, _W, _A)


@exercise("quadratic_form", "linear_algebra", "the gradient of xᵀ A x", _check_quadratic)
def quadratic_grad(x, A):
    """f(x) = xᵀ A x = sum over i, j of x_i A_ij x_j, for a square matrix A. Write its gradient.

    Differentiate the sum with respect to x_k: x_k appears as the row index and as the column
    index. A here is not symmetric, so 2 A x is not the answer.
    """
    return (A + A.T) @ x


# ----------------------------------------------------------------------------- probability

_SAMPLE = np.array([0.3, -1.2, 2.1, 0.8, 1.5, -0.4, 0.9, 1.1])


def gaussian_nll(mu: Any, sigma: Any, x: Any) -> Any:
    return -cnp.sum(stats.Normal(mu, sigma).log_prob(x))


def _check_gaussian(fn: Fn) -> DerivativeReport:
    return check_derivative(gaussian_nll, fn, 0.5, 1.5, _SAMPLE, argnums=(0, 1))


@exercise("gaussian_nll", "probability", "the gradient of a Gaussian negative log-likelihood",
          _check_gaussian)  # fmt: skip
def gaussian_nll_grad(mu, sigma, x):
    """The negative log-likelihood of a sample x (an array) under a Gaussian N(mu, sigma²):
    L = sum over i of log(sigma) + (x_i - mu)² / (2 sigma²) + log(2 pi) / 2.

    Return the pair (dL/dmu, dL/dsigma). Setting both to zero gives the maximum-likelihood
    estimates: the sample mean and the (biased) sample standard deviation.
    """
    n = x.size
    d_mu = -np.sum(x - mu) / sigma**2
    d_sigma = n / sigma - np.sum((x - mu) ** 2) / sigma**3
    return d_mu, d_sigma


# ---------------------------------------------------------------------- information theory

_LOGITS = np.array([2.0, -1.0, 0.5, 0.0])
_ONE_HOT = np.array([0.0, 0.0, 1.0, 0.0])


def cross_entropy(z: Any, y: Any) -> Any:
    return -cnp.sum(y * nn.functional.log_softmax(z))


def _check_cross_entropy(fn: Fn) -> DerivativeReport:
    return check_derivative(cross_entropy, fn, _LOGITS, _ONE_HOT)


@exercise("softmax_cross_entropy", "information", "the gradient of cross-entropy with softmax",
          _check_cross_entropy)  # fmt: skip
def cross_entropy_grad(z, y):
    """The cross-entropy of the softmax of logits z against a target distribution y (one-hot,
    or any probabilities summing to 1): L = -sum_k y_k log p_k, with p = softmax(z).

    Write dL/dz. Use log p_k = z_k - log sum_j e^(z_j); the answer is short, and it is why
    classifiers pair softmax with cross-entropy.
    """
    p = np.exp(z - z.max())
    p /= p.sum()
    return p - y


# ---------------------------------------------------------------------------- floating point


def _check_logsumexp(fn: Fn) -> DerivativeReport:
    points = [[1.0, 2.0, 3.0], [1000.0, 1000.0, 1001.0], [-1000.0, -1001.0, -999.5], [0.0]]
    cases = []
    for p in points:
        x = np.array(p)
        cases.append((f"x={p}", special.logsumexp(x), fn(x.copy())))
    return compare("logsumexp", cases)


@exercise("logsumexp", "floating_point", "a stable logsumexp", _check_logsumexp)
def logsumexp(x):
    """logsumexp(x) = log(sum_i e^(x_i)) for a vector x, computed without overflow.

    The formula as written overflows at x = [1000, 1000, 1001] (e^1000 is inf in float64)
    and gives -inf at x = [-1000, ...]. Use log sum e^(x_i) = m + log sum e^(x_i - m) with
    m = max(x): every exponent is then at most 0, and one of them is exactly 0.
    """
    m = np.max(x)
    return m + np.log(np.sum(np.exp(x - m)))


# ------------------------------------------------------------------------------- regression


def ridge_loss(w: Any, X: Any, y: Any, alpha: Any) -> Any:
    return cnp.sum((X @ w - y) ** 2) + alpha * cnp.sum(w**2)


def _check_ridge(fn: Fn) -> DerivativeReport:
    return check_derivative(ridge_loss, fn, _W, _X, _Y, 0.7)


@exercise("ridge", "regression", "the gradient of the ridge loss", _check_ridge)
def ridge_grad(w, X, y, alpha):
    """Ridge regression (scikit-learn's Ridge) minimises L(w) = ||X w - y||² + alpha ||w||².

    Write dL/dw (shaped like w). Setting it to zero gives the normal equations
    (Xᵀ X + alpha I) w = Xᵀ y.
    """
    return 2.0 * X.T @ (X @ w - y) + 2.0 * alpha * w


# --------------------------------------------------------------------------------- attention

_SCORES = _rng.standard_normal((3, 4))


def _check_softmax_backward(fn: Fn) -> DerivativeReport:
    return check_derivative(nn.functional.softmax, fn, _SCORES, backward=True)


@exercise("softmax_backward", "attention", "the backward pass of softmax",
          _check_softmax_backward)  # fmt: skip
def softmax_backward(s, g):
    """Attention weights are p = softmax(s) of each row of the scores s (shape (3, 4)).

    Write the backward pass: given g = dL/dp (shaped like p), return dL/ds. The Jacobian of
    one row is dp_i/ds_j = p_i (δ_ij - p_j), so each row of dL/ds is p ⊙ (g - (g · p)):
    compute it for all rows at once, without building the Jacobian.
    """
    p = np.exp(s - s.max(axis=-1, keepdims=True))
    p /= p.sum(axis=-1, keepdims=True)
    return p * (g - np.sum(g * p, axis=-1, keepdims=True))
