"""Synthetic histories with known answers: a function of time sampled like nodewatch's history keeps it."""

from __future__ import annotations

import math
import random
from collections.abc import Callable

from worker.model.history import Series
from worker.predict import kubelet

HOUR = 3600.0
DAY = 86400.0
NOW = 1_700_000_000.0 - (1_700_000_000.0 % DAY) + 14 * HOUR  # 14:00 UTC: afternoon, on a working-day up-slope


def history(
    f: Callable[[float], float],
    days: float = 3.0,
    now: float = NOW,
    interval: float = 60.0,
    noise: float = 0.0,
    seed: int = 1,
    fine_hours: float = 6.0,
    gaps: tuple[tuple[float, float], ...] = (),
    glitches: dict[float, float] | None = None,
) -> Series:
    """Samples of ``f`` (+ gaussian noise) every ``interval`` s for ``days`` up to ``now``: the last
    ``fine_hours`` as they are, the rest as 5-minute (middle, mean, max), like worker/state/history.
    ``gaps`` are (from, to) hours before now without samples; ``glitches`` maps hours-before-now to a value
    read instead of f (one scan)."""
    rnd = random.Random(seed)
    start = now - days * DAY
    fine_from = now - fine_hours * HOUR
    samples: list[tuple[float, float]] = []
    t = start
    glitch_at = {round(now - h * HOUR): v for h, v in (glitches or {}).items()}
    while t <= now:
        ago = (now - t) / HOUR
        if not any(hi >= ago >= lo for lo, hi in gaps):
            v = glitch_at.get(round(t), f(t) + rnd.gauss(0, noise) if noise else f(t))
            samples.append((t, v))
        t += interval
    fine = [(t, v) for t, v in samples if t >= fine_from]
    buckets: dict[int, list[float]] = {}
    for t, v in samples:
        if t < fine_from:
            buckets.setdefault(int(t // 300), []).append(v)
    coarse = [(b * 300 + 150.0, sum(vs) / len(vs), max(vs)) for b, vs in sorted(buckets.items())]
    return Series(fine=fine, coarse=coarse)


def truth(f: Callable[[float], float], line: float, now: float = NOW, horizon: float = 60 * DAY) -> float:
    """Seconds from ``now`` until noiseless ``f`` first reaches ``line`` (inf if not within ``horizon``)."""
    t = now
    while t <= now + horizon:
        if f(t) >= line:
            return t - now
        t += 60.0
    return math.inf


def linear(start_value: float, per_hour: float, t0: float = NOW) -> Callable[[float], float]:
    return lambda t: start_value + per_hour * (t - t0) / HOUR


def daily(base: float, amplitude: float, peak_hour: float = 17.0) -> Callable[[float], float]:
    """A working-day cycle: lowest at peak_hour - 12, highest at peak_hour (UTC)."""
    return lambda t: base + amplitude * math.cos(2 * math.pi * ((t % DAY) / HOUR - peak_hour) / 24)


def sawtooth(level: Callable[[float], float], period_h: float, tooth: float) -> Callable[[float], float]:
    """``level`` plus a part that grows by ``tooth`` over each period and is then cut back (log rotation)."""
    return lambda t: level(t) + tooth * ((t / HOUR) % period_h) / period_h


def image_gc(
    rate: float,
    floor_per_hour: float = 0.0,
    high: float = 85.0,
    low: float = 80.0,
    start: float = NOW - 8 * DAY,
) -> Callable[[float], float]:
    """imagefs filled at ``rate`` pt/h; each time it reaches ``high`` image GC frees it down to the images in
    use, ``low`` + ``floor_per_hour`` × hours since ``start`` (in-use images growing), or to ``low``."""
    events: list[tuple[float, float]] = [(start, low)]
    t, v = start, low
    while t < NOW + 60 * DAY:
        t += (high - v) / rate * HOUR
        v = low + floor_per_hour * (t - start) / HOUR
        if v >= high - 0.1:  # GC frees (almost) nothing any more: the fill goes on past the line
            break
        events.append((t, v))

    def f(x: float) -> float:
        t0, v0 = events[0]
        for te, ve in events:
            if te > x:
                break
            t0, v0 = te, ve
        return v0 + rate * (x - t0) / HOUR

    return f


def limit_of(metric: str) -> kubelet.Limit:
    """The kubelet's default limit of a metric that has one."""
    found = kubelet.limit(metric)
    assert found is not None, metric
    return found
