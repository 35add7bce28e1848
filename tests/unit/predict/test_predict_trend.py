"""worker.predict.trend on synthetic histories with known answers: fills, drops, cycles, GC, noise, gaps, resets."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
from helpers_predict import DAY, HOUR, NOW, daily, history, image_gc, limit_of, linear, sawtooth, truth

from worker.model.history import Series
from worker.predict import kubelet, trend
from worker.predict.trend import Prediction, Refusal, predict

NODEFS = limit_of("nodefs")  # 90 % used
IMAGEFS = limit_of("imagefs")  # 85 % used, GC 85 -> 80
MEMORY = kubelet.Limit(98.0, "memory.available<100Mi")


def rotated_daily(t: float) -> float:
    """A steady 1 pt/h fill whose logs (3 pt) were rotated 3 h ago (daily rotation: the next is 21 h away)."""
    return 70 + (t - NOW) / HOUR - (3.0 if t >= NOW - 3 * HOUR else 0.0)


def reboot(t: float) -> float:
    """Memory rising 0.5 pt/h; a reboot 6 h ago reset it to 20 %, and it has risen 2 pt/h since."""
    if t < NOW - 6 * HOUR:
        return 60 + 0.5 * (t - NOW) / HOUR
    return 20 + 2 * (t - NOW + 6 * HOUR) / HOUR


def bursts(t: float) -> float:
    """Bursty fill: +2 pt at the top of every hour (a batch job writing its output), flat between."""
    return 60 + 2 * ((t - NOW) // HOUR)


def speeds_up(t: float) -> float:
    """Flat at 60 % until 5 h ago, then 0.5 pt/h."""
    return 60 + 0.5 * max(0.0, (t - NOW + 5 * HOUR) / HOUR)


def rises_after_days_flat(t: float) -> float:
    """Flat at 50 % for days, rising 0.9 pt/h for the last 14 h (a fill under the logs that started)."""
    return 50 + 0.9 * max(0.0, (t - NOW + 14 * HOUR) / HOUR)


def leak_on_cycle(t: float) -> float:
    """A working-day cycle (50..70 %) on top of a leak of 3 pt/day."""
    return daily(60, 10)(t) + 3 * (t - NOW) / DAY


# name, function, history() options, limit, relative tolerance on the ETA (against the noiseless truth)
FILLS: list[tuple[str, Callable[[float], float], dict[str, object], kubelet.Limit, float]] = [
    ("linear fill", linear(70, 1.0), {"noise": 0.2}, NODEFS, 0.10),
    ("slow linear fill over a week", linear(70, 0.1), {"noise": 0.2, "days": 7}, NODEFS, 0.10),
    ("noisy linear fill", linear(70, 1.0), {"noise": 2.0}, NODEFS, 0.10),
    ("fill after a daily log rotation 3 h ago", rotated_daily, {"noise": 0.1}, NODEFS, 0.10),
    ("hourly log rotation on a net rise", sawtooth(linear(70, 0.5), 1, 3), {"noise": 0.1}, NODEFS, 0.10),
    (
        "log rotation every 2 h whose peaks began rising 14 h ago, after days flat",
        sawtooth(rises_after_days_flat, 2, 6),
        {"noise": 0.2, "days": 4},
        NODEFS,
        0.10,
    ),
    ("bursty fill", bursts, {"noise": 0.1}, NODEFS, 0.10),
    ("memory leak", linear(60, 0.3), {"noise": 1.0, "days": 4}, MEMORY, 0.10),
    ("memory back up fast after a reboot", reboot, {"noise": 0.5}, MEMORY, 0.10),
    ("rate step: flat, then filling", speeds_up, {"noise": 0.2}, NODEFS, 0.10),
    ("fill with 3 h of missing scans", linear(70, 1.0), {"noise": 0.2, "gaps": ((2.0, 5.0),)}, NODEFS, 0.10),
    ("scan at 5 min intervals", linear(70, 1.0), {"noise": 0.2, "interval": 300.0}, NODEFS, 0.10),
    (
        "scrapes that read 0 (counter resets for one or two scans)",
        linear(70, 1.0),
        {"noise": 0.2, "glitches": {1.0: 0.0, 0.5: 0.0, 0.5 - 1 / 60: 0.0, 3.0: 100.0}},
        NODEFS,
        0.10,
    ),
]


@pytest.mark.parametrize(("name", "f", "options", "limit", "tolerance"), FILLS, ids=[c[0] for c in FILLS])
def test_fills_are_predicted_within_tolerance(
    name: str, f: Callable[[float], float], options: dict[str, object], limit: kubelet.Limit, tolerance: float
) -> None:
    out = predict(history(f, **options), limit, NOW)  # type: ignore[arg-type]
    assert isinstance(out, Prediction), out
    expected = truth(f, limit.line)
    assert abs(out.eta_s - expected) <= tolerance * expected, (out.reason, trend.human(expected))
    assert out.eta_low_s <= out.eta_s <= out.eta_high_s
    assert out.confidence >= 0.8, out.reason
    assert out.limit == limit


def test_a_leak_on_a_daily_cycle_is_predicted_from_its_daily_peaks() -> None:
    out = predict(history(leak_on_cycle, days=7, noise=1.0), MEMORY, NOW)
    assert isinstance(out, Prediction), out
    assert out.model == "daily peaks"
    expected = truth(leak_on_cycle, MEMORY.line)
    # the peaks are 5-minute maxima (noise included): the ETA errs early, by less than two days of ten
    assert expected - 2 * DAY <= out.eta_s <= expected, (out.reason, trend.human(expected))


# name, function, history() options, limit, expected refusal code
REFUSED: list[tuple[str, Callable[[float], float], dict[str, object], kubelet.Limit, str]] = [
    ("noise around a level", lambda t: 70.0, {"noise": 2.0}, NODEFS, trend.NOT_RISING),
    ("hourly log rotation, no net rise (node-mixin's false alarm)", sawtooth(lambda t: 80.0, 1, 5), {}, NODEFS, trend.NOT_RISING),
    ("daily cycle that never fills, on its up-slope", daily(60, 15), {"noise": 1.0, "days": 7}, MEMORY, trend.DAILY_CYCLE),
    ("daily cycle, one day of history: up-slope not ruled out", daily(60, 15), {"noise": 1.0, "days": 1}, MEMORY, trend.DAILY_CYCLE),
    ("step change: a workload started 3 h ago", lambda t: 50 + 20 * (t > NOW - 3 * HOUR), {"noise": 0.3}, MEMORY, trend.STEP),
    ("a fill that stopped 5 h ago", lambda t: 60 + min(0.0, (t - NOW + 5 * HOUR) / HOUR), {"noise": 0.2}, NODEFS, trend.STOPPED),
    ("falling", linear(80, -0.5), {"noise": 0.2}, NODEFS, trend.NOT_RISING),
    ("imagefs that GC cleans at 85 %", image_gc(0.5), {"noise": 0.05, "days": 7}, IMAGEFS, trend.GC_WILL_CLEAN),
    ("imagefs filling toward 85 % before any GC", linear(78, 1.0), {"noise": 0.05, "days": 1}, IMAGEFS, trend.GC_WILL_CLEAN),
    ("imagefs held above the GC line: GC frees nothing", lambda t: 86.0, {"noise": 0.05}, IMAGEFS, trend.PAST_LIMIT),
    ("nodefs past its eviction line", lambda t: 92.0, {"noise": 0.05}, NODEFS, trend.PAST_LIMIT),
    ("just rebooted: too few samples since the fall", lambda t: 80.0 if t < NOW - 10 * 60 else 20.0, {}, MEMORY, trend.FELL),
    ("no sample for an hour", linear(70, 1.0), {"gaps": ((0.0, 1.0),)}, NODEFS, trend.STALE),
]  # fmt: skip


@pytest.mark.parametrize(("name", "f", "options", "limit", "code"), REFUSED, ids=[c[0] for c in REFUSED])
def test_refusals_say_why(
    name: str, f: Callable[[float], float], options: dict[str, object], limit: kubelet.Limit, code: str
) -> None:
    out = predict(history(f, **options), limit, NOW)  # type: ignore[arg-type]
    assert isinstance(out, Refusal), out.reason
    assert out.code == code, out.reason
    assert out.reason


def test_imagefs_whose_gc_frees_less_each_time_is_predicted_to_the_gc_line() -> None:
    f = image_gc(1.0, floor_per_hour=0.02)  # in-use images grow 0.02 pt/h: GC frees down to 80 %, 80.5, ...
    out = predict(history(f, days=7, noise=0.05), IMAGEFS, NOW)
    assert isinstance(out, Prediction), out
    assert out.model == "image GC floor"
    floor_full = NOW - 8 * DAY + 5 / 0.02 * HOUR  # the floor reaches 85 %: GC frees nothing any more
    assert abs(out.eta_s - (floor_full - NOW)) <= 0.1 * (floor_full - NOW), out.reason


def test_a_fill_that_stops_is_predicted_while_it_fills_and_withdrawn_after() -> None:
    def f(t: float) -> float:  # fills 1 pt/h until 5 h ago, flat since
        return 60 + min(0.0, (t - NOW + 5 * HOUR) / HOUR)

    assert isinstance(predict(history(f, noise=0.2), NODEFS, NOW - 6 * HOUR), Prediction)
    assert predict(history(f, noise=0.2), NODEFS, NOW).code == trend.STOPPED  # type: ignore[union-attr]


def test_more_samples_never_from_the_future_and_no_clock() -> None:
    """Samples after ``now`` are ignored: predicting at an earlier ``now`` from a longer history is the same."""
    f = linear(70, 1.0)
    early = NOW - 2 * HOUR
    a = predict(history(f, noise=0.2, now=early), NODEFS, early)
    b = predict(history(f, noise=0.2, now=early), NODEFS, early)
    assert a == b
    assert isinstance(a, Prediction)
    assert abs(a.eta_s - truth(f, 90.0, now=early)) <= 0.1 * truth(f, 90.0, now=early)


def test_no_limit_no_data_and_nan() -> None:
    assert predict(Series(), NODEFS, NOW).code == trend.TOO_FEW  # type: ignore[union-attr]
    assert predict(history(linear(70, 1.0)), None, NOW).code == trend.NO_LIMIT  # type: ignore[union-attr]
    nan = Series(fine=[(NOW - i * 60.0, math.nan) for i in range(100)])
    assert predict(nan, NODEFS, NOW).code == trend.TOO_FEW  # type: ignore[union-attr]


def test_the_reason_names_the_signal_rate_and_eta() -> None:
    out = predict(history(linear(70, 1.0), noise=0.2), NODEFS, NOW)
    assert isinstance(out, Prediction)
    assert "nodefs.available<10%" in out.reason and "pt/h" in out.reason and "~20.0 h" in out.reason
    assert out.rate_per_h == pytest.approx(1.0, rel=0.05)
    assert out.level == pytest.approx(70.0, abs=0.5)


def test_a_fill_the_kubelet_keeps_evicting_is_predicted_tooth_by_tooth() -> None:
    """A fill at 2 pt/h that the kubelet evicts at its line (90 %): falls every ~7.5 h from the line itself. That
    is no log rotation keeping usage down: every tooth reaches the line again. The last eviction freed 17 points
    rather than 15, so this tooth reaches the line an hour after "the next fall is due": it is still predicted
    (a rotation model said ``not_rising``: flat peaks, a tooth that ends below the line by the next fall)."""
    period = 7.5 * HOUR
    last = NOW - 3 * HOUR  # four evictions so far, the last 3 h ago

    def f(t: float) -> float:
        if t >= last:
            return 73.0 + 2.0 * (t - last) / HOUR
        return 75.0 + 2.0 * ((t - last) % period) / HOUR

    out = predict(history(f, days=3, noise=0.1), NODEFS, NOW)
    assert isinstance(out, Prediction), out
    assert out.model == "tooth" and "evictions" in out.reason
    assert abs(out.eta_s - 5.5 * HOUR) <= 0.1 * 5.5 * HOUR
