"""Sample statistics, as NumPy names them: mean, var, cov and corrcoef, differentiable."""

from __future__ import annotations

from typing import Any

import numpy as np

import chainrule.numpy as cnp
from chainrule._validate import float_array


def mean(x: Any, axis: Any = None) -> Any:
    """The average of `x` (over `axis`; all entries by default), as ``numpy.mean``.

    >>> print(mean([1.0, 2.0, 6.0]))
    3.0
    """
    return cnp.mean(float_array(x, "x", "mean"), axis=axis)


def var(x: Any, axis: Any = None, ddof: int = 0) -> Any:
    """The variance ``sum((x - mean)^2) / (N - ddof)``, as ``numpy.var`` (biased by default).

    >>> print(var([1.0, 2.0, 6.0]), var([1.0, 2.0, 6.0], ddof=1))
    4.666666666666667 7.0
    """
    return cnp.var(float_array(x, "x", "var"), axis=axis, ddof=ddof)


def _observations(name: str, x: Any, rowvar: bool) -> Any:
    """`x` as a (variables, observations) matrix, as NumPy's cov reads it."""
    x = float_array(x, "x", name)
    if len(x.shape) > 2 or len(x.shape) == 0:
        raise ValueError(f"{name}: x must be 1-D or 2-D, got shape {tuple(x.shape)}")
    rows = cnp.reshape(x, (1, -1)) if len(x.shape) == 1 else x
    return rows.T if not rowvar and rows.shape[0] != 1 else rows


def _variables(name: str, x: Any, y: Any, rowvar: bool) -> Any:
    """The (variables, observations) matrix of `x`, with the variables of `y` below them."""
    rows = _observations(name, x, rowvar)
    if y is None:
        return rows
    more = _observations(name, y, rowvar)
    if more.shape[1] != rows.shape[1]:
        raise ValueError(
            f"{name}: x has {rows.shape[1]} observations and y has {more.shape[1]}; "
            "give both the same number"
        )
    return cnp.concatenate([rows, more], axis=0)


def cov(
    x: Any, y: Any = None, rowvar: bool = True, bias: bool = False, ddof: int | None = None
) -> Any:
    """The covariance matrix, as ``numpy.cov``: rows are variables unless ``rowvar=False``.

    Normalised by ``N - 1`` (``N`` with ``bias=True``, ``N - ddof`` if `ddof` is given). As
    NumPy's, `y` adds more variables (observed as in `x`): ``cov(a, b)`` for two series.

    >>> cov([[1.0, 2.0, 3.0], [2.0, 4.0, 7.0]])
    array([[1.        , 2.5       ],
           [2.5       , 6.33333333]])
    >>> cov([1.0, 2.0, 3.0], [2.0, 4.0, 7.0])[0, 1]
    np.float64(2.5)
    """
    rows = _variables("cov", x, y, rowvar)
    if ddof is None:
        ddof = 0 if bias else 1
    if isinstance(ddof, bool) or not isinstance(ddof, (int, np.integer)):
        raise TypeError(f"cov: ddof must be an int, got {ddof!r}.")
    n = rows.shape[1]
    if n - ddof <= 0:
        raise ValueError(f"cov: {n} observations with ddof={ddof} leave nothing to divide by")
    centred = rows - cnp.mean(rows, axis=1, keepdims=True)
    return cnp.squeeze(centred @ centred.T / (n - ddof))


def corrcoef(x: Any, y: Any = None, rowvar: bool = True) -> Any:
    """Pearson correlation coefficients, as ``numpy.corrcoef``: ``cov_ij / (sd_i sd_j)``.

    >>> corrcoef([[1.0, 2.0, 3.0], [2.0, 4.0, 7.0]]).round(4)
    array([[1.    , 0.9934],
           [0.9934, 1.    ]])
    """
    c = cov(x, y, rowvar)
    if len(c.shape) == 0:
        return c / c
    sd = cnp.sqrt(cnp.diagonal(c))
    return cnp.clip(c / sd[:, None] / sd[None, :], -1.0, 1.0)
