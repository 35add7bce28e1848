"""Robust line fitting for short series: Theil–Sen slope with Sen's confidence bounds and the Mann–Kendall score.

Pure and standard-library only. The series handed here are small on purpose (``bins`` thins a long one to a few
dozen time bins, each the median of its samples), so the O(n²) pairwise slopes cost about a millisecond.

- Theil–Sen (Theil 1950, Sen 1968): the slope is the median of the slopes of all pairs of points; up to ~29 % of
  the points may be wild without moving it. The intercept is the median of ``v - slope * t``.
- Sen's distribution-free bounds on the slope: with N pairwise slopes sorted and
  ``C = z * sqrt(n (n - 1) (2n + 5) / 18)``, the slopes at ranks ``(N - C) / 2`` and ``(N + C) / 2``. They assume
  independent residuals; a cycle or a sawtooth left in the residuals makes them too narrow, which is why the
  callers also test the fit's quality.
- Mann–Kendall: ``S`` = rising pairs - falling pairs, whose variance is the same ``n (n - 1) (2n + 5) / 18``;
  ``rising_certainty`` is the normal CDF of the continuity-corrected z, "how sure the series rises at all".
- ``fit_quality``: a robust R², ``1 - (MAD of residuals / MAD of values)²`` clipped to [0, 1].
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

Point = tuple[float, float]

_NORMAL = statistics.NormalDist()


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def mad(values: Sequence[float]) -> float:
    """Median absolute deviation from the median (unscaled)."""
    m = median(values)
    return median([abs(v - m) for v in values])


def z_of(level: float) -> float:
    """Two-sided normal quantile: 0.90 -> 1.645."""
    return _NORMAL.inv_cdf(0.5 + level / 2)


@dataclass(frozen=True)
class Fit:
    """A Theil–Sen line ``v = level + slope * (t - t_ref)`` over ``n`` points from ``t_first`` to ``t_last``."""

    slope: float  # units per second
    slope_low: float  # Sen's bounds at the requested level
    slope_high: float
    t_ref: float
    level: float
    n: int
    t_first: float
    t_last: float
    rising_certainty: float  # Mann–Kendall: 0.5 = no idea, -> 1 = surely rising
    quality: float  # robust R², 0..1
    scatter: float  # robust standard deviation of the residuals (1.4826 MAD)

    def at(self, t: float) -> float:
        return self.level + self.slope * (t - self.t_ref)

    def crossing(self, line: float, slope: float | None = None) -> float:
        """When the line (or one through the same anchor with another ``slope``) reaches ``line``; inf if never."""
        s = self.slope if slope is None else slope
        if s <= 0:
            return math.inf
        return self.t_ref + (line - self.level) / s


def theil_sen(points: Sequence[Point], level: float = 0.9) -> Fit | None:
    """The Theil–Sen line through ``points`` (distinct times), or None with fewer than three of them."""
    n = len(points)
    if n < 3:
        return None
    t_ref = median([t for t, _ in points])
    ts = [t - t_ref for t, _ in points]
    vs = [v for _, v in points]
    slopes: list[float] = []
    rising = falling = 0
    for i in range(n - 1):
        ti, vi = ts[i], vs[i]
        for j in range(i + 1, n):
            dt = ts[j] - ti
            if dt == 0:
                continue
            dv = vs[j] - vi
            slopes.append(dv / dt)
            if dv * dt > 0:
                rising += 1
            elif dv * dt < 0:
                falling += 1
    if not slopes:
        return None
    slopes.sort()
    count = len(slopes)
    slope = median(slopes)
    var = n * (n - 1) * (2 * n + 5) / 18
    spread = z_of(level) * math.sqrt(var)
    low = slopes[max(0, min(count - 1, math.floor((count - spread) / 2)))]
    high = slopes[max(0, min(count - 1, math.ceil((count + spread) / 2)))]
    intercept = median([v - slope * t for t, v in zip(ts, vs, strict=True)])
    s = rising - falling
    z = (s - math.copysign(1, s)) / math.sqrt(var) if s else 0.0
    residuals = [v - (intercept + slope * t) for t, v in zip(ts, vs, strict=True)]
    spread_v = mad(vs)
    quality = 1.0 - (mad(residuals) / spread_v) ** 2 if spread_v > 0 else 0.0
    return Fit(
        slope=slope,
        slope_low=low,
        slope_high=high,
        t_ref=t_ref,
        level=intercept,
        n=n,
        t_first=points[0][0],
        t_last=points[-1][0],
        rising_certainty=_NORMAL.cdf(z),
        quality=min(1.0, max(0.0, quality)),
        scatter=1.4826 * mad(residuals),
    )


def bins(points: Sequence[Point], count: int) -> list[Point]:
    """At most ``count`` points: equal time bins, each (mean time, median value); empty bins are left out."""
    if len(points) <= count:
        return list(points)
    t0, t1 = points[0][0], points[-1][0]
    width = (t1 - t0) / count or 1.0
    groups: list[list[Point]] = [[] for _ in range(count)]
    for t, v in points:
        groups[min(count - 1, int((t - t0) / width))].append((t, v))
    return [(sum(t for t, _ in g) / len(g), median([v for _, v in g])) for g in groups if g]


def noise(points: Sequence[Point]) -> float:
    """Robust standard deviation of the sample-to-sample noise (from first differences, so a trend is harmless)."""
    if len(points) < 3:
        return 0.0
    diffs = [b[1] - a[1] for a, b in zip(points, points[1:], strict=False)]
    return 1.4826 * mad(diffs) / math.sqrt(2)
