"""Time to the kubelet's limit from one node's history of one metric, or a refusal that says why not. Pure.

``predict(series, limit, now)`` reads the scan-resolution samples of the last hours and the 5-minute means and
maxes of the days before (worker/model/history's ``Series``, as worker/state/history returns it) and answers a
``Prediction`` (ETA, an interval, a confidence, the rate and why) or a ``Refusal`` (a code and a reason), both in
``outcome``. It never reads the clock.

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
   drop is due, or if the last three falls came from the line itself (peaks within ``evict_tolerance`` [1.5 pt]:
   the kubelet evicting at its limit, so every tooth reaches it); otherwise the *peaks before each drop* are
   fitted, and their line crossing the limit is the ETA — the peaks of the last ``fit_window_s`` (or four
   periods) alone when they rise ``faster_ratio`` times faster to a new high (a fill that started under the logs:
   a line through days of flat peaks lags it by a day) or ``slower_ratio`` times slower. Peaks that do not rise
   → ``not_rising`` (the falls keep it down: node-mixin's classic false alarm).
7. **Trend since the last drop** (fewer than ``min_points`` over ``min_span_s`` [30 min] since it → ``fell``:
   what was predicted before the drop is over — evicted, rotated, cleaned — and the next is a new prediction),
   over at most ``fit_window_s`` [12 h], thinned to ``bins`` [48] time bins (median each): a Theil–Sen line with Sen's bounds at ``level`` [0.9]. The last ``recent_fraction`` [⅓] of the
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

Where: steps 1-2 in ``clean``, 3, 5 and 6 in ``cycles``, 7 and the ETA every model ends with in ``fit``; this
module orders them (step 4 is its own check).

Cost (this 2-core box): 2-6 ms a call for 7 days of 60 s scans (~2,300 points), ~12 ms for 10 s scans.
"""

from __future__ import annotations

from worker.model.history import Series
from worker.predict import clean, cycles, fit, robust
from worker.predict.kubelet import Limit
from worker.predict.outcome import (
    BUCKET_S,
    DAILY_CYCLE,
    FELL,
    GC_WILL_CLEAN,
    NO_LIMIT,
    NOT_RISING,
    PARAMS,
    PAST_LIMIT,
    POOR_FIT,
    STALE,
    STEP,
    STOPPED,
    TOO_FEW,
    Outcome,
    Params,
    Prediction,
    Refusal,
    human,
)

# what callers read from here (decide, the tests, bench/bench_history.py): predict and what it answers
__all__ = [
    "DAILY_CYCLE",
    "FELL",
    "GC_WILL_CLEAN",
    "NOT_RISING",
    "NO_LIMIT",
    "PARAMS",
    "PAST_LIMIT",
    "POOR_FIT",
    "STALE",
    "STEP",
    "STOPPED",
    "TOO_FEW",
    "Outcome",
    "Params",
    "Prediction",
    "Refusal",
    "human",
    "predict",
]


def predict(series: Series, limit: Limit | None, now: float, params: Params = PARAMS) -> Outcome:
    """Time until ``series`` reaches ``limit``, or why that cannot be said now."""
    p = params
    if limit is None:
        return Refusal(NO_LIMIT, "no kubelet limit for this metric")
    means, maxes = clean.merge(series, now, p)
    if len(means) < p.min_points:
        return Refusal(TOO_FEW, f"{len(means)} samples, {p.min_points} needed")
    if now - means[-1][0] > p.stale_s:
        return Refusal(STALE, f"no sample for {human(now - means[-1][0])}")
    threshold = max(p.drop_min, p.drop_sigmas * robust.noise(means[-360:]))
    means = clean.despike(means, threshold, p.spike_half)
    if len(means) < p.min_points:  # a series of jumps bigger than its own noise: nothing steady to fit
        return Refusal(TOO_FEW, f"{len(means)} samples left once spikes are removed, {p.min_points} needed")
    drops = clean.drops(means, threshold, p.drop_window_s)
    level_now = robust.median([v for _, v in means[-3:]])

    if limit.gc_high is not None and limit.gc_high <= limit.line + p.gc_tolerance:
        gc = cycles.image_gc(means, drops, level_now, limit, now, p)
        if gc is not None:
            return gc
    if level_now >= limit.line:
        return Refusal(PAST_LIMIT, f"at {level_now:.1f} %, past {limit.signal} ({limit.line:.1f} %) already")
    if now - means[0][0] >= p.season_min_span_s - BUCKET_S and cycles.daily_cycle(means, p):
        seasonal = cycles.seasonal(maxes, level_now, threshold, limit, now, p)
        if seasonal is not None:
            return seasonal
    if cycles.recurring(drops, now, p):
        return cycles.rotation(means, drops, limit, now, p)
    start = drops[-1].index if drops else 0
    return fit.since_drop(means, start, drops[-1] if drops else None, threshold, limit, now, p)
