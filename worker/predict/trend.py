"""Time to the kubelet's limit from one node's history of one metric, or a refusal that says why not. Pure.

``predict(series, limit, now)`` reads the scan-resolution samples of the last hours and the 5-minute means and
maxes of the days before (``Series``; worker/state/history returns the same shape) and answers a ``Prediction``
(ETA, an interval, a confidence, the rate and why) or a ``Refusal`` (a code and a reason). It never reads the clock.

How, in order (each step's parameter is a field of ``Params``; defaults in brackets):

1. **Clean.** Samples after ``now`` or older than ``lookback_s`` [7 d] are dropped; 5-minute means stand in for
   the days before the first scan-resolution sample. Fewer than ``min_points`` [8] → ``too_few_points``; no
   sample for ``stale_s`` [30 min] → ``stale``.
2. **Spikes and drops.** The noise σ is measured from sample-to-sample differences (robust, a trend is harmless);
   a *drop threshold* is ``max(drop_min [1.0 pt], drop_sigmas [4] × σ)``. A sample further than that from the
   median of its ±``spike_half`` [2] neighbours is a glitch and is removed (a scrape that read 0, a counter
   that reset for one or two scans, a spike). A fall of more than the threshold below the median of the previous
   ``drop_window_s`` [10 min], held by the median of the next three samples, is a **drop** (log rotation, image
   GC, an eviction, pods deleted, a reboot): the trend restarts after it.
3. **Image GC** (imagefs, when the GC high threshold is at or below the eviction line, as by default 85/85): a
   rise toward 85 % is refused as ``gc_will_clean`` — at 85 % the kubelet's image GC (every 5 minutes, and the
   eviction manager under pressure before any eviction) frees unused images down to 80 %. Only two things
   predict there: the level right *after* each GC rising, so that GC will soon free nothing (≥ 3 GC drops whose
   troughs rise: ETA until the trough reaches the GC line), and usage held at or above the GC line for
   ``gc_grace_s`` [15 min] (GC is not freeing: ``past_limit``).
4. **Already there**: the recent level at or past the line → ``past_limit`` (the threshold rules page for that).
5. **Daily cycle.** With at least ``season_min_span_s`` [2 d] of history, hourly means are compared a day apart
   and half a day apart: when the median day-to-day change is at most ``season_max_ratio`` [0.5] of the
   half-day change, and the half-day change is at least ``season_min_amplitude`` [2 pt], the series has a daily
   cycle. Then the *daily peaks* are fitted (the highest 5-minute max of each of the last days, ≥ ``min_days``
   [3]): peaks that do not rise → ``daily_cycle`` (the up-slope of the day is not extrapolated); rising peaks →
   an ETA when the peak line reaches the limit (a leak on top of a working-day cycle). A level above every
   earlier day's peak by more than the drop threshold is not the cycle: the plain trend below decides.
   With less history the rise must have lasted ``persist_s`` [18 h, longer than a working day's up-slope] since
   the segment's lowest point and reached a new high, else ``daily_cycle`` ("not ruled out").
6. **Recurring drops** (≥ ``rotation_min_drops`` [3], the last no older than two of their median intervals): a
   sawtooth such as hourly log rotation. The current tooth predicts only if it reaches the line before the next
   drop is due; otherwise the *peaks before each drop* are fitted, and their line crossing the limit is the ETA.
   Peaks that do not rise → ``not_rising`` (the falls keep it down: node-mixin's classic false alarm).
7. **Trend since the last drop**, over at most ``fit_window_s`` [12 h], thinned to ``bins`` [48] time bins
   (median each): a Theil–Sen line with Sen's bounds at ``level`` [0.9]. The last ``recent_fraction`` [⅓] of the
   window is fitted again; when the recent slope is, within its own bounds, ``faster_ratio`` [1.5] times faster
   (and reaches a new high: the up-slope of a repeating pattern returns to its earlier highs) or
   ``slower_ratio`` [2] times slower, the trend changed and the recent one counts (a fill that speeds up, slows
   down or stops; a slow fill in much noise needs longer to be seen stopping). A steady trend is measured over
   2× and 4× the window instead (within the segment) while the longer line agrees (bounds overlap, or slopes
   within ``extend_ratio`` [1.25]): slow leaks are measured over days. Then the refusals: lower slope bound ≤ 0
   → ``not_rising`` (``stopped`` when the whole window did rise); one rise within ``step_window_s`` [15 min]
   over the drop threshold making ``step_share`` [60 %] of the whole, flat after it → ``step`` (a workload
   started: a level shift, not a fill).

Every model ends the same way: an ETA beyond ``max_eta_s`` [30 d], or a line that rises less than twice the
scatter of the points around it over its whole span, is ``not_rising``; a robust R² under ``min_fit`` [0.5] is
``poor_fit``. The ETA is ``(limit - fitted level now) / slope``; its interval comes from the slope's bounds (the
upper bound gives the earliest). The confidence is a score, not a calibrated probability: the Mann–Kendall
certainty that the fitted points rise, times the robust R² of the line (clear fills score ~1.0).

Cost (this 2-core box): 2-6 ms a call for 7 days of 60 s scans (~2,300 points), ~12 ms for 10 s scans.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from worker.predict import robust
from worker.predict.kubelet import Limit

Point = robust.Point
HOUR = 3600.0
DAY = 86400.0
BUCKET_S = 300.0  # the coarse tier's resolution: 5 minutes

# refusal codes; decide() holds a severity on the first three (no new evidence) and clears on the others
TOO_FEW = "too_few_points"
STALE = "stale"
PAST_LIMIT = "past_limit"
NO_LIMIT = "no_limit"
NOT_RISING = "not_rising"
STOPPED = "stopped"
STEP = "step"
POOR_FIT = "poor_fit"
DAILY_CYCLE = "daily_cycle"
GC_WILL_CLEAN = "gc_will_clean"


class SeriesLike(Protocol):
    """What ``predict`` reads: worker/state/history's ``Series`` has this shape."""

    @property
    def fine(self) -> Sequence[tuple[float, float]]: ...  # (t, value) at scan resolution

    @property
    def coarse(self) -> Sequence[tuple[float, float, float]]: ...  # (bucket middle, mean, max) per 5 min


@dataclass(frozen=True)
class Series:
    fine: Sequence[tuple[float, float]] = ()
    coarse: Sequence[tuple[float, float, float]] = ()


@dataclass(frozen=True)
class Params:
    """The knobs of ``predict``; the module docstring says what each does. Times in seconds, values in points."""

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
    gc_grace_s: float = 900.0
    max_eta_s: float = 30 * DAY


PARAMS = Params()


@dataclass(frozen=True)
class Prediction:
    """The series reaches ``limit.line`` in about ``eta_s`` seconds from ``now``."""

    eta_s: float
    eta_low_s: float  # earliest, from the slope's upper bound
    eta_high_s: float  # latest, from the slope's lower bound
    confidence: float  # 0..1, see the module docstring
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


@dataclass(frozen=True)
class _Drop:
    index: int  # first sample after the fall began
    t: float
    peak: float  # the highest value in the drop window before it
    peak_t: float
    trough: float  # the lowest value while it fell
    trough_t: float


def predict(series: SeriesLike, limit: Limit | None, now: float, params: Params = PARAMS) -> Outcome:
    """Time until ``series`` reaches ``limit``, or why that cannot be said now."""
    p = params
    if limit is None:
        return Refusal(NO_LIMIT, "no kubelet limit for this metric")
    means, maxes = _merge(series, now, p)
    if len(means) < p.min_points:
        return Refusal(TOO_FEW, f"{len(means)} samples, {p.min_points} needed")
    if now - means[-1][0] > p.stale_s:
        return Refusal(STALE, f"no sample for {human(now - means[-1][0])}")
    threshold = max(p.drop_min, p.drop_sigmas * robust.noise(means[-360:]))
    means = _despike(means, threshold, p.spike_half)
    drops = _drops(means, threshold, p.drop_window_s)
    level_now = robust.median([v for _, v in means[-3:]])

    if limit.gc_high is not None and limit.gc_high <= limit.line + p.gc_tolerance:
        gc = _image_gc(means, drops, level_now, limit, now, p)
        if gc is not None:
            return gc
    if level_now >= limit.line:
        return Refusal(PAST_LIMIT, f"at {level_now:.1f} %, past {limit.signal} ({limit.line:.1f} %) already")
    if now - means[0][0] >= p.season_min_span_s - BUCKET_S and _daily_cycle(means, p):
        seasonal = _seasonal(maxes, level_now, threshold, limit, now, p)
        if seasonal is not None:
            return seasonal
    if _recurring(drops, now, p):
        return _rotation(means, drops, limit, now, p)
    start = drops[-1].index if drops else 0
    return _trend(means, start, drops[-1] if drops else None, threshold, limit, now, p)


# --- cleaning -------------------------------------------------------------------------------------------------


def _merge(series: SeriesLike, now: float, p: Params) -> tuple[list[Point], list[Point]]:
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


def _despike(points: list[Point], threshold: float, half: int) -> list[Point]:
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


def _drops(points: list[Point], threshold: float, window_s: float, confirm: int = 3) -> list[_Drop]:
    """Falls of more than ``threshold`` below the median of the previous ``window_s``, held by the median of the
    next ``confirm`` samples (one low reading is noise, not a fall)."""
    drops: list[_Drop] = []
    values = [v for _, v in points]
    left = 0
    falling: _Drop | None = None
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
                falling = _Drop(i, t, values[peak_i], points[peak_i][0], v, t)
                drops.append(falling)
            elif v < falling.trough:
                falling = _Drop(falling.index, falling.t, falling.peak, falling.peak_t, v, t)
                drops[-1] = falling
        else:
            falling = None
    return drops


# --- image GC ---------------------------------------------------------------------------------------------------


def _image_gc(
    means: list[Point], drops: list[_Drop], level_now: float, limit: Limit, now: float, p: Params
) -> Outcome | None:
    high = limit.gc_high if limit.gc_high is not None else limit.line
    low = limit.gc_low if limit.gc_low is not None else high
    if level_now >= high:
        since = now
        for t, v in reversed(means):
            if v < high - p.gc_tolerance:
                break
            since = t
        if now - since < p.gc_grace_s:
            return Refusal(
                GC_WILL_CLEAN,
                f"at {level_now:.1f} %, over the image GC line ({high:g} %) for {human(now - since)}: "
                f"the kubelet runs image GC every 5 min",
            )
        if limit.line > high + p.gc_tolerance:
            return None  # GC is not freeing space: the plain trend toward the eviction line decides
        return Refusal(
            PAST_LIMIT,
            f"at {level_now:.1f} % for {human(now - since)}: image GC ({high:g} %) frees nothing, "
            f"the kubelet evicts at {limit.signal}",
        )
    cleaned = [d for d in drops if d.peak >= high - p.gc_tolerance]
    if len(cleaned) >= p.rotation_min_drops:
        floor = robust.theil_sen([(d.trough_t, d.trough) for d in cleaned[-p.bins :]], p.level)
        if floor is not None and floor.slope_low > 0:
            why = (
                f"each image GC frees less (after GC: {', '.join(f'{d.trough:.1f}' for d in cleaned[-3:])} %): "
                f"images in use reach the GC line ({high:g} %) and GC frees nothing"
            )
            return _predicted(floor, limit, now, p, "image GC floor", why, line=high)
    return Refusal(
        GC_WILL_CLEAN,
        f"at {level_now:.1f} %: image GC starts at {high:g} % and frees down to {low:g} %"
        + (f" (it did {len(cleaned)} times)" if cleaned else ""),
    )


# --- daily cycle ------------------------------------------------------------------------------------------------


def _daily_cycle(means: list[Point], p: Params) -> bool:
    """Hourly means a day apart differ much less than half a day apart: a 24 h cycle."""
    hours: dict[int, list[float]] = {}
    for t, v in means:
        hours.setdefault(int(t // HOUR), []).append(v)
    hourly = {h: sum(vs) / len(vs) for h, vs in hours.items()}
    day = [abs(v - hourly[h - 24]) for h, v in hourly.items() if h - 24 in hourly]
    half = [abs(v - hourly[h - 12]) for h, v in hourly.items() if h - 12 in hourly]
    if len(day) < 24 or len(half) < 24:
        return False
    half_change = robust.median(half)
    return half_change >= p.season_min_amplitude and robust.median(day) <= p.season_max_ratio * half_change


def _seasonal(
    maxes: list[Point], level_now: float, threshold: float, limit: Limit, now: float, p: Params
) -> Outcome | None:
    days = int(p.lookback_s // DAY)
    peaks: list[Point] = []
    for k in range(days):
        lo, hi = now - (k + 1) * DAY, now - k * DAY
        window = [(t, v) for t, v in maxes if lo <= t < hi]
        if window and window[-1][0] - window[0][0] >= DAY / 2:
            peaks.append(max(window, key=lambda tv: tv[1]))
    peaks.sort()
    earlier = [v for t, v in peaks if t < now - DAY]
    if earlier and level_now > max(earlier) + threshold:
        return None  # above every earlier day's peak: not the cycle, the trend decides
    if len(peaks) < p.min_days:
        return Refusal(
            DAILY_CYCLE, f"a daily cycle, {len(peaks)} days of peaks: too few to tell if they rise"
        )
    fit = robust.theil_sen(peaks, p.level)
    if fit is None or fit.slope_low <= 0:
        per_day = (fit.slope if fit else 0.0) * DAY
        return Refusal(
            DAILY_CYCLE,
            f"a daily cycle whose daily peaks do not rise ({per_day:+.1f} pt/day over {len(peaks)} days): "
            f"the day's up-slope is not extrapolated",
        )
    why = f"a daily cycle whose peaks rise {fit.slope * DAY:+.2f} pt/day over {len(peaks)} days"
    return _predicted(fit, limit, now, p, "daily peaks", why)


# --- recurring drops (log rotation) -----------------------------------------------------------------------------


def _recurring(drops: list[_Drop], now: float, p: Params) -> bool:
    if len(drops) < p.rotation_min_drops:
        return False
    period = robust.median([b.t - a.t for a, b in zip(drops, drops[1:], strict=False)])
    return now - drops[-1].t <= 2 * period


def _rotation(means: list[Point], drops: list[_Drop], limit: Limit, now: float, p: Params) -> Outcome:
    last = drops[-1]
    period = robust.median([b.t - a.t for a, b in zip(drops, drops[1:], strict=False)])
    tooth = means[last.index :]
    if len(tooth) >= p.min_points and tooth[-1][0] - tooth[0][0] >= p.min_span_s:
        fit = robust.theil_sen(robust.bins(tooth, p.bins), p.level)
        if fit is not None and fit.slope_low > 0 and fit.at(last.t + period) >= limit.line:
            why = (
                f"rising {fit.slope * HOUR:+.2f} pt/h since a fall {human(now - last.t)} ago, "
                f"faster than the falls every ~{human(period)} bring it down"
            )
            return _predicted(fit, limit, now, p, "tooth", why)
    peaks = robust.theil_sen([(d.peak_t, d.peak) for d in drops[-p.bins :]], p.level)
    if peaks is None or peaks.slope_low <= 0:
        rate = (peaks.slope if peaks else 0.0) * HOUR
        return Refusal(
            NOT_RISING,
            f"falls every ~{human(period)} (log rotation, GC, evictions) keep it down: the peaks before them "
            f"do not rise ({rate:+.2f} pt/h)",
        )
    why = f"falls every ~{human(period)}, but the peaks before them rise {peaks.slope * HOUR:+.2f} pt/h"
    return _predicted(peaks, limit, now, p, "rotation peaks", why)


# --- the trend since the last drop ------------------------------------------------------------------------------


def _trend(
    means: list[Point], start: int, drop: _Drop | None, threshold: float, limit: Limit, now: float, p: Params
) -> Outcome:
    segment = [pt for pt in means[start:] if pt[0] >= now - p.fit_window_s]
    after = f" since a fall of {drop.peak - drop.trough:.1f} pt {human(now - drop.t)} ago" if drop else ""
    span = segment[-1][0] - segment[0][0] if segment else 0.0
    if len(segment) < p.min_points or span < p.min_span_s:
        return Refusal(TOO_FEW, f"{len(segment)} samples over {human(span)}{after}")
    binned = robust.bins(segment, p.bins)
    full = robust.theil_sen(binned, p.level)
    if full is None:
        return Refusal(TOO_FEW, f"{len(segment)} samples at too few distinct times{after}")
    fit, used, changed = full, segment, False
    cut = segment[-1][0] - span * p.recent_fraction
    recent = [pt for pt in segment if pt[0] >= cut]
    if len(recent) >= p.min_points and recent[-1][0] - recent[0][0] >= p.min_span_s:
        rfit = robust.theil_sen(robust.bins(recent, p.bins), p.level)
        # faster only when it reaches a new high: the up-slope of a repeating pattern returns to earlier highs
        earlier = [v for t, v in binned if t < cut]
        if rfit is not None and _changed(full, rfit, p):
            if rfit.slope < full.slope or not earlier or rfit.at(now) > max(earlier):
                fit, used, changed = rfit, recent, True
    if not changed:
        fit, used = _longest(means[start:], fit, used, now, p)
    rate = fit.slope * HOUR
    bounds = f"{fit.slope_low * HOUR:+.2f}..{fit.slope_high * HOUR:+.2f}"
    used_span = used[-1][0] - used[0][0]
    if fit.slope_low <= 0 or _flat(fit):
        step = _step(segment, 0.0, threshold, p)
        if step:
            return Refusal(STEP, step)
        if changed and full.slope_low > 0:
            return Refusal(
                STOPPED,
                f"the rise stopped: {rate:+.2f} pt/h over the last {human(used_span)} after {full.slope * HOUR:+.2f} pt/h",
            )
        flat = "; less than twice its scatter" if fit.slope_low > 0 else ""
        return Refusal(
            NOT_RISING, f"not rising: {rate:+.2f} pt/h ({bounds}) over {human(used_span)}{after}{flat}"
        )
    step = _step(used, fit.slope * used_span, threshold, p)
    if step:
        return Refusal(STEP, step)
    history = now - means[0][0]
    if history < p.season_min_span_s - BUCKET_S:
        low_t = min(means[start:], key=lambda tv: tv[1])[0]
        older = robust.bins([pt for pt in means if pt[0] < now - HOUR], p.bins)
        if now - low_t <= p.persist_s or (older and fit.at(now) < max(v for _, v in older)):
            return Refusal(
                DAILY_CYCLE,
                f"rising for {human(now - low_t)} with {human(history)} of history: a daily cycle's up-slope is "
                f"not ruled out before it rises {human(p.persist_s)} to a new high "
                f"(or {human(p.season_min_span_s)} of history tell)",
            )
    why = f"rising {rate:+.2f} pt/h ({bounds}) over {human(used_span)}{after}"
    return _predicted(fit, limit, now, p, "trend", why)


def _flat(fit: robust.Fit) -> bool:
    """The line rises less than twice the scatter of the points around it, over its whole span."""
    return fit.slope * (fit.t_last - fit.t_first) < 2 * fit.scatter


def _longest(
    segment: list[Point], fit: robust.Fit, used: list[Point], now: float, p: Params
) -> tuple[robust.Fit, list[Point]]:
    """Extend a steady trend back over 2x, then 4x the fit window (within the segment) while the longer line
    agrees with the shorter one (bounds overlap or slopes within ``extend_ratio``): a slow leak is measured over
    days, not hours; a fill that sped up keeps its short window."""
    for k in (2, 4):
        longer = [pt for pt in segment if pt[0] >= now - k * p.fit_window_s]
        if longer[0][0] >= used[0][0] - p.fit_window_s / 4:
            break  # the segment does not reach much further back
        wide = robust.theil_sen(robust.bins(longer, p.bins), p.level)
        if wide is None or not _agrees(wide, fit, p.extend_ratio):
            break
        fit, used = wide, longer
    return fit, used


def _agrees(a: robust.Fit, b: robust.Fit, ratio: float) -> bool:
    """Overlapping bounds, or slopes within ``ratio`` of each other."""
    if a.slope_low <= b.slope_high and b.slope_low <= a.slope_high:
        return True
    return a.slope > 0 and b.slope > 0 and 1 / ratio <= a.slope / b.slope <= ratio


def _changed(full: robust.Fit, recent: robust.Fit, p: Params) -> bool:
    """The recent slope is, within its own bounds, ``faster_ratio`` times faster or ``slower_ratio`` times slower
    than the whole window's: the trend changed (a noisy recent stretch alone is not a change)."""
    if full.slope <= 0:
        return recent.slope_low > max(0.0, full.slope_high)
    return recent.slope_low >= p.faster_ratio * full.slope or recent.slope_high <= full.slope / p.slower_ratio


def _step(points: list[Point], rise: float, threshold: float, p: Params) -> str:
    """Why the rise is one step (a level shift: a workload started), or "" when it is not.

    On the binned medians (so noise does not count): the largest rise within ``step_window_s`` is over the drop
    threshold and makes at least ``step_share`` of the whole, and what follows it is not rising on its own (or is
    too short to tell).
    """
    binned = robust.bins(points, p.bins)
    best, end = 0.0, 0
    left = 0
    for i, (t, v) in enumerate(binned):
        while binned[left][0] < t - p.step_window_s:
            left += 1
        low = min(binned[j][1] for j in range(left, i + 1))
        if v - low > best:
            best, end = v - low, i
    if best < max(threshold, p.step_share * rise):
        return ""
    width = (points[-1][0] - points[0][0]) / p.bins
    after = [pt for pt in points if pt[0] > binned[end][0] + width]
    if len(after) >= p.min_points and after[-1][0] - after[0][0] >= p.min_span_s:
        fit = robust.theil_sen(robust.bins(after, p.bins), p.level)
        if fit is not None and fit.slope_low > 0 and not _flat(fit):
            return ""
    return f"one rise of {best:+.1f} pt within {human(p.step_window_s)}, flat after it: a step, not a fill"


def _predicted(
    fit: robust.Fit, limit: Limit, now: float, p: Params, model: str, why: str, line: float | None = None
) -> Outcome:
    """The prediction from ``fit`` (its line's value now, to ``line``: the limit's unless given), or why not."""
    line = limit.line if line is None else line
    level = fit.at(now)
    left = max(0.0, line - level)
    eta = left / fit.slope
    if eta > p.max_eta_s:
        return Refusal(NOT_RISING, f"{why}: too slowly to matter (~{human(eta)} to {limit.signal})")
    if _flat(fit):
        return Refusal(NOT_RISING, f"{why}: less than twice its scatter ({fit.scatter:.2f} pt) in all")
    if fit.quality < p.min_fit:
        return Refusal(POOR_FIT, f"{why}, but a line fits poorly (R² {fit.quality:.2f})")
    early = left / fit.slope_high if fit.slope_high > 0 else eta
    late = left / fit.slope_low if fit.slope_low > 0 else math.inf
    confidence = fit.rising_certainty * fit.quality
    return Prediction(
        eta_s=eta,
        eta_low_s=min(early, eta),
        eta_high_s=max(late, eta),
        confidence=confidence,
        level=level,
        rate_per_h=fit.slope * HOUR,
        limit=limit,
        model=model,
        since=fit.t_first,
        reason=(
            f"{why}; reaches {limit.signal} ({line:.1f} %) in ~{human(eta)} "
            f"({human(min(early, eta))}–{human(max(late, eta))}), {confidence:.0%} sure"
        ),
    )
