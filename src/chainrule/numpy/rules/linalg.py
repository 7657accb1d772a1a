"""Linear algebra: inv, det, slogdet, solve, norm, cholesky, eigh, svd, qr, pinv, lstsq,
matrix_power."""

from __future__ import annotations

__all__: list[str] = []
