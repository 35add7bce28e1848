"""Steps 1 and 2 of ``trend.predict``: the samples of the lookback, cleaned of glitches, and the drops after which
the trend restarts (trend.py's docstring says how). Pure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from worker.model.history import Series
from worker.predict import robust
from worker.predict.outcome import BUCKET_S, Params

Point = robust.Point


@dataclass(frozen=True)
class Drop:
    index: int  # first sample after the fall began
    t: float
    peak: float  # the highest value in the drop window before it
    peak_t: float
    trough: float  # the lowest value while it fell
    trough_t: float


def merge(series: Series, now: float, p: Params) -> tuple[list[Point], list[Point]]:
    """(means, maxes): coarse means, then the fine samples; and 5-minute maxes of both, for daily peaks."""
    start = now - p.lookback_s
    fine = sorted((float(t), float(v)) for t, v in series.fine if start <= t <= now and math.isfinite(v))
    first_fine = fine[0][0] if fine else math.inf
    coarse = sorted(
        (float(t), float(m), float(x))
        for t, m, x in series.coarse
        if start <= t < first_fine and t <= now and math.isfinite(m) and math.isfinite(x)
    )
    means = _dedupe([(t, m) for t, m, _ in coarse] + fine)
    buckets: dict[int, float] = {}
    for t, v in fine:
        b = int(t // BUCKET_S)
        buckets[b] = max(v, buckets.get(b, -math.inf))
    maxes = [(t, x) for t, _, x in coarse] + [((b + 0.5) * BUCKET_S, x) for b, x in sorted(buckets.items())]
    return means, maxes


def _dedupe(points: list[Point]) -> list[Point]:
    out: list[Point] = []
    for t, v in points:
        if out and out[-1][0] == t:
            out[-1] = (t, v)
        else:
            out.append((t, v))
    return out


def despike(points: list[Point], threshold: float, half: int) -> list[Point]:
    """Drop the samples further than ``threshold`` from the median of their neighbourhood (a Hampel filter)."""
    values = [v for _, v in points]
    n = len(values)
    out = []
    for i in range(n):
        window = sorted(values[max(0, i - half) : i + half + 1])
        mid = len(window) // 2
        med = window[mid] if len(window) % 2 else (window[mid - 1] + window[mid]) / 2
        if abs(values[i] - med) <= threshold:
            out.append(points[i])
    return out


def drops(points: list[Point], threshold: float, window_s: float, confirm: int = 3) -> list[Drop]:
    """Falls of more than ``threshold`` below the median of the previous ``window_s``, held by the median of the
    next ``confirm`` samples (one low reading is noise, not a fall)."""
    found: list[Drop] = []
    values = [v for _, v in points]
    left = 0
    falling: Drop | None = None
    for i in range(1, len(points)):
        t, v = points[i]
        while points[left][0] < t - window_s:
            left += 1
        left = min(left, i - 1)  # across a gap longer than the window: compare with the sample before it
        if v >= max(values[left:i]) - threshold:
            falling = None  # not below the window's highest: not below its median either (the common case)
            continue
        before = robust.median(values[left:i])
        held = robust.median(values[i : i + confirm])
        if held < before - threshold and v < before - threshold:
            if falling is None:
                peak_i = max(range(left, i), key=lambda j: values[j])
                falling = Drop(i, t, values[peak_i], points[peak_i][0], v, t)
                found.append(falling)
            elif v < falling.trough:
                falling = Drop(falling.index, falling.t, falling.peak, falling.peak_t, v, t)
                found[-1] = falling
        else:
            falling = None
    return found
