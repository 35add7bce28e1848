"""Step 7 of ``trend.predict`` and the end every model shares: the trend since the last drop (a Theil–Sen line
over a window that follows a change of pace, or reaches back over days while steady), the refusals of a line that
does not rise or is one step, and ``predicted``: the ETA from a fitted line, with its interval and confidence
(trend.py's docstring says how). Pure.
"""

from __future__ import annotations

import math

from worker.predict import robust
from worker.predict.clean import Drop, Point
from worker.predict.kubelet import Limit
from worker.predict.outcome import (
    BUCKET_S,
    DAILY_CYCLE,
    FELL,
    HOUR,
    NOT_RISING,
    POOR_FIT,
    STEP,
    STOPPED,
    TOO_FEW,
    Outcome,
    Params,
    Prediction,
    Refusal,
    human,
)


def since_drop(
    means: list[Point], start: int, drop: Drop | None, threshold: float, limit: Limit, now: float, p: Params
) -> Outcome:
    segment = [pt for pt in means[start:] if pt[0] >= now - p.fit_window_s]
    after = f" since a fall of {drop.peak - drop.trough:.1f} pt {human(now - drop.t)} ago" if drop else ""
    span = segment[-1][0] - segment[0][0] if segment else 0.0
    if len(segment) < p.min_points or span < p.min_span_s:
        if drop is not None:
            return Refusal(
                FELL,
                f"fell {drop.peak - drop.trough:.1f} pt {human(now - drop.t)} ago, {len(segment)} samples since",
            )
        return Refusal(TOO_FEW, f"{len(segment)} samples over {human(span)}")
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
        if rfit is not None and pace_changed(full, rfit, p):
            if rfit.slope < full.slope or not earlier or rfit.at(now) > max(earlier):
                fit, used, changed = rfit, recent, True
    if not changed:
        fit, used = _longest(means[start:], fit, used, now, p)
    rate = fit.slope * HOUR
    bounds = f"{fit.slope_low * HOUR:+.2f}..{fit.slope_high * HOUR:+.2f}"
    used_span = used[-1][0] - used[0][0]
    if fit.slope_low <= 0 or flat(fit):
        step = _step(segment, 0.0, threshold, p)
        if step:
            return Refusal(STEP, step)
        if changed and full.slope_low > 0:
            return Refusal(
                STOPPED,
                f"the rise stopped: {rate:+.2f} pt/h over the last {human(used_span)} after {full.slope * HOUR:+.2f} pt/h",
            )
        scatter = "; less than twice its scatter" if fit.slope_low > 0 else ""
        return Refusal(
            NOT_RISING, f"not rising: {rate:+.2f} pt/h ({bounds}) over {human(used_span)}{after}{scatter}"
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
    return predicted(fit, limit, now, p, "trend", why)


def flat(fit: robust.Fit) -> bool:
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


def pace_changed(full: robust.Fit, recent: robust.Fit, p: Params) -> bool:
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
        if fit is not None and fit.slope_low > 0 and not flat(fit):
            return ""
    return f"one rise of {best:+.1f} pt within {human(p.step_window_s)}, flat after it: a step, not a fill"


def rising_peaks(
    peaks: robust.Fit | None,
    limit: Limit,
    now: float,
    p: Params,
    *,
    model: str,
    refusal: str,
    per: float,
    flat: str,
    rising: str,
) -> Outcome:
    """What comes back (a daily cycle, recurring drops) is forecast by the line through its peaks alone: peaks
    that do not rise within their bounds are refused with ``refusal``, rising ones are ``predicted``; ``flat`` and
    ``rising`` say which, ``{rate}`` in them the peaks' slope per ``per`` seconds."""
    rate = (peaks.slope if peaks else 0.0) * per
    if peaks is None or peaks.slope_low <= 0:
        return Refusal(refusal, flat.format(rate=rate))
    return predicted(peaks, limit, now, p, model, rising.format(rate=rate))


def predicted(
    fit: robust.Fit, limit: Limit, now: float, p: Params, model: str, why: str, line: float | None = None
) -> Outcome:
    """The prediction from ``fit`` (its line's value now, to ``line``: the limit's unless given), or why not."""
    line = limit.line if line is None else line
    level = fit.at(now)
    left = max(0.0, line - level)
    eta = left / fit.slope
    if eta > p.max_eta_s:
        return Refusal(NOT_RISING, f"{why}: too slowly to matter (~{human(eta)} to {limit.signal})")
    if flat(fit):
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
