"""Statistics that a few bad days cannot fool: median, MAD scale, Theil–Sen slope, Poisson tail.

Boiler telemetry has outliers (a hot-water draw in the middle of a heating burn, a gusty day, a sensor
glitch), so the detectors compare medians against a median baseline in units of a MAD-based scale,
and measure trends with the median of pairwise slopes, which ignores up to ~29 % of wild points.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import median

__all__ = ["mad_sigma", "median", "poisson_sf", "theil_sen"]


def mad_sigma(values: Sequence[float]) -> float:
    """Median absolute deviation scaled to a normal standard deviation (1.4826 × MAD)."""
    if not values:
        raise ValueError("no values")
    centre = median(values)
    return 1.4826 * median([abs(v - centre) for v in values])


def theil_sen(points: Sequence[tuple[float, float]]) -> tuple[float, float]:
    """(slope, share of pairwise slopes with the same sign as the slope) of (x, y) points."""
    slopes = [
        (y2 - y1) / (x2 - x1) for i, (x1, y1) in enumerate(points) for x2, y2 in points[i + 1 :] if x2 != x1
    ]
    if not slopes:
        return 0.0, 0.0
    slope = median(slopes)
    agreeing = sum(1 for s in slopes if (s > 0) == (slope > 0) and s != 0)
    return slope, agreeing / len(slopes)


def poisson_sf(k: int, mean: float) -> float:
    """P(X ≥ k) for X ~ Poisson(mean): how surprising `k` events are when `mean` were expected."""
    if k <= 0:
        return 1.0
    if mean <= 0:
        return 0.0
    # 1 − P(X ≤ k−1), summed in log space so large means do not underflow.
    log_terms = [-mean + i * math.log(mean) - math.lgamma(i + 1) for i in range(k)]
    peak = max(log_terms)
    cdf = math.exp(peak) * sum(math.exp(t - peak) for t in log_terms)
    return max(0.0, 1.0 - cdf)
