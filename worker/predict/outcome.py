"""What ``trend.predict`` answers and the knobs it takes: a ``Prediction`` or a ``Refusal`` (its codes below),
``Params`` (worker/predict/trend.py's docstring says what each does), and the units and wording they share. Pure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from worker.predict.kubelet import Limit

HOUR = 3600.0
DAY = 86400.0
BUCKET_S = 300.0  # the coarse tier's resolution: 5 minutes

# refusal codes; decide() holds a severity on the first three (no new evidence), on step and poor_fit until the
# last predicted ETA, and clears on the others (``fell`` among them)
TOO_FEW = "too_few_points"
FELL = (
    "fell"  # too few samples since a fall: what was predicted before it is over (evicted, rotated, cleaned)
)
STALE = "stale"
PAST_LIMIT = "past_limit"
NO_LIMIT = "no_limit"
NOT_RISING = "not_rising"
STOPPED = "stopped"
STEP = "step"
POOR_FIT = "poor_fit"
DAILY_CYCLE = "daily_cycle"
GC_WILL_CLEAN = "gc_will_clean"


@dataclass(frozen=True)
class Params:
    """The knobs of ``predict``; trend.py's docstring says what each does. Times in seconds, values in points."""

    lookback_s: float = 7 * DAY
    min_points: int = 8
    min_span_s: float = 1800.0
    stale_s: float = 1800.0
    fit_window_s: float = 12 * HOUR
    recent_fraction: float = 1 / 3
    faster_ratio: float = 1.5
    slower_ratio: float = 2.0
    extend_ratio: float = 1.25
    bins: int = 48
    level: float = 0.9
    min_fit: float = 0.5
    drop_min: float = 1.0
    drop_sigmas: float = 4.0
    drop_window_s: float = 600.0
    spike_half: int = 2
    step_share: float = 0.6
    step_window_s: float = 900.0
    rotation_min_drops: int = 3
    season_min_span_s: float = 2 * DAY
    season_max_ratio: float = 0.5
    season_min_amplitude: float = 2.0
    min_days: int = 3
    persist_s: float = 18 * HOUR
    gc_tolerance: float = 1.5
    evict_tolerance: float = 1.5  # recurring falls whose peaks are this close to the line are evictions
    gc_grace_s: float = 900.0
    max_eta_s: float = 30 * DAY


PARAMS = Params()


@dataclass(frozen=True)
class Prediction:
    """The series reaches ``limit.line`` in about ``eta_s`` seconds from ``now``."""

    eta_s: float
    eta_low_s: float  # earliest, from the slope's upper bound
    eta_high_s: float  # latest, from the slope's lower bound
    confidence: float  # 0..1, see trend.py's docstring
    level: float  # the fitted level now (percent used)
    rate_per_h: float  # points per hour (per day's peak line for "daily peaks", converted to per hour)
    limit: Limit
    model: str  # "trend" | "tooth" | "rotation peaks" | "daily peaks" | "image GC floor"
    since: float  # the start of the fitted stretch
    reason: str


@dataclass(frozen=True)
class Refusal:
    code: str  # one of the codes above
    reason: str


Outcome = Prediction | Refusal


def human(seconds: float) -> str:
    """3.2 h, 45 min, 2.1 d."""
    if math.isinf(seconds):
        return "never"
    if seconds < 2 * HOUR:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * DAY:
        return f"{seconds / HOUR:.1f} h"
    return f"{seconds / DAY:.1f} d"
