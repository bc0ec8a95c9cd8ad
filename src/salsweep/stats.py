"""Interval estimates of the summary table (light: scipy is imported only where needed)."""

from __future__ import annotations

import numpy as np


def mean_ci(values: np.ndarray) -> tuple[int, float, float, float]:
    """n, mean and the 95% t-interval of the finite values (NaN bounds for n < 2)."""
    values = values[np.isfinite(values)]
    n = len(values)
    if n == 0:
        return 0, np.nan, np.nan, np.nan
    mean = float(values.mean())
    if n < 2:
        return n, mean, np.nan, np.nan
    from scipy import stats  # here: figures import this module and need no scipy

    sem = float(values.std(ddof=1)) / np.sqrt(n)
    half = float(stats.t.ppf(0.975, n - 1)) * sem
    return n, mean, mean - half, mean + half


def wilson_interval(successes: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """The 95% Wilson score interval of a proportion (NaN bounds for n = 0)."""
    if n == 0:
        return np.nan, np.nan
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return centre - half, centre + half
