"""Steps 3, 5 and 6 of ``trend.predict``: what comes back and must not be extrapolated — image GC cleaning
imagefs, a daily cycle (its peaks fitted day over day) and recurring drops such as log rotation (the current tooth,
or the peaks before each drop). trend.py's docstring says how. Pure.
"""

from __future__ import annotations

from worker.predict import robust
from worker.predict.clean import Drop, Point
from worker.predict.fit import pace_changed, predicted, rising_peaks
from worker.predict.kubelet import Limit
from worker.predict.outcome import (
    DAILY_CYCLE,
    DAY,
    GC_WILL_CLEAN,
    HOUR,
    NOT_RISING,
    PAST_LIMIT,
    Outcome,
    Params,
    Refusal,
    human,
)

# --- image GC ---------------------------------------------------------------------------------------------------


def image_gc(
    means: list[Point], drops: list[Drop], level_now: float, limit: Limit, now: float, p: Params
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
            return predicted(floor, limit, now, p, "image GC floor", why, line=high)
    return Refusal(
        GC_WILL_CLEAN,
        f"at {level_now:.1f} %: image GC starts at {high:g} % and frees down to {low:g} %"
        + (f" (it did {len(cleaned)} times)" if cleaned else ""),
    )


# --- daily cycle ------------------------------------------------------------------------------------------------


def daily_cycle(means: list[Point], p: Params) -> bool:
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


def seasonal(
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
    n = len(peaks)
    return rising_peaks(
        robust.theil_sen(peaks, p.level), limit, now, p, model="daily peaks", refusal=DAILY_CYCLE, per=DAY,
        flat=f"a daily cycle whose daily peaks do not rise ({{rate:+.1f}} pt/day over {n} days): "
        "the day's up-slope is not extrapolated",
        rising=f"a daily cycle whose peaks rise {{rate:+.2f}} pt/day over {n} days",
    )  # fmt: skip


# --- recurring drops (log rotation) -----------------------------------------------------------------------------


def recurring(drops: list[Drop], now: float, p: Params) -> bool:
    if len(drops) < p.rotation_min_drops:
        return False
    period = robust.median([b.t - a.t for a, b in zip(drops, drops[1:], strict=False)])
    return now - drops[-1].t <= 2 * period


def rotation(means: list[Point], drops: list[Drop], limit: Limit, now: float, p: Params) -> Outcome:
    last = drops[-1]
    period = robust.median([b.t - a.t for a, b in zip(drops, drops[1:], strict=False)])
    tooth = means[last.index :]
    # falls from the limit itself are the kubelet's evictions, not a rotation that keeps usage down: every tooth
    # reaches the line, so the current one is predicted however its end compares with the next fall's due time.
    # All of the last three, so that log rotations near the line (or one eviction among them) do not count
    evicted = min(d.peak for d in drops[-3:]) >= limit.line - p.evict_tolerance
    if len(tooth) >= p.min_points and tooth[-1][0] - tooth[0][0] >= p.min_span_s:
        fit = robust.theil_sen(robust.bins(tooth, p.bins), p.level)
        if fit is not None and fit.slope_low > 0 and (evicted or fit.at(last.t + period) >= limit.line):
            why = f"rising {fit.slope * HOUR:+.2f} pt/h since a fall {human(now - last.t)} ago, " + (
                f"and the falls every ~{human(period)} came at the limit (evictions)"
                if evicted
                else f"faster than the falls every ~{human(period)} bring it down"
            )
            return predicted(fit, limit, now, p, "tooth", why)
    peaks = recent_peaks([(d.peak_t, d.peak) for d in drops[-p.bins :]], period, now, p)
    every = f"falls every ~{human(period)}"
    return rising_peaks(
        peaks, limit, now, p, model="rotation peaks", refusal=NOT_RISING, per=HOUR,
        flat=every + " (log rotation, GC, evictions) keep it down: the peaks before them do not rise ({rate:+.2f} pt/h)",
        rising=every + ", but the peaks before them rise {rate:+.2f} pt/h",
    )  # fmt: skip


def recent_peaks(peaks: list[Point], period: float, now: float, p: Params) -> robust.Fit | None:
    """The line through the peaks, or through the recent ones alone (the last ``fit_window_s``, or four periods
    when longer) when they rise ``faster_ratio`` times faster to a new high, or ``slower_ratio`` times slower
    (``fit.pace_changed``): peaks flat for days that rise now are a fill that started, and a line through all of
    them lags it by a day."""
    full = robust.theil_sen(peaks, p.level)
    cut = now - max(p.fit_window_s, 4 * period)
    recent = [pt for pt in peaks if pt[0] >= cut]
    if full is None or len(recent) < p.rotation_min_drops:
        return full
    fit = robust.theil_sen(recent, p.level)
    if fit is None or not pace_changed(full, fit, p):
        return full
    earlier = [v for t, v in peaks if t < cut]
    return fit if fit.slope < full.slope or not earlier or fit.at(now) > max(earlier) else full
