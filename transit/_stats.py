"""Small vectorised statistics shared by the builder's steps."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["nanmedian_cols"]


def nanmedian_cols(a: NDArray[np.float64]) -> NDArray[np.float64]:
    """Median of each column of a 2-D array ignoring NaN (NaN where a column has none).

    Same values as ``np.nanmedian(a, axis=0)`` without its masked-array slow path or its
    all-NaN warning.
    """
    if a.shape[0] == 0:
        return np.full(a.shape[1], np.nan)
    srt = np.sort(a, axis=0)  # NaN sort last
    cnt = np.isfinite(a).sum(axis=0)
    cols = np.arange(a.shape[1])
    lo = srt[np.maximum((cnt - 1) // 2, 0), cols]
    hi = srt[np.maximum(cnt // 2, 0), cols]
    return np.where(cnt > 0, (lo + hi) / 2.0, np.nan)
