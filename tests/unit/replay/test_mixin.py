"""node-mixin's predictive filesystem rules as the replay's baseline: predict_linear and the for-duration."""

from __future__ import annotations

import pytest

from worker.replay import mixin

H = 3600.0


def test_predict_linear_is_least_squares_at_the_evaluation_time() -> None:
    # avail falls 2 points an hour from 50: at t = 5 h it is 40; in 24 h more it would be -8
    samples = [(t * 60.0, 50.0 - 2.0 * t / 60) for t in range(0, 301)]
    assert mixin.predict_linear(samples, 5 * H, 24 * H) == pytest.approx(40.0 - 48.0)
    assert mixin.predict_linear(samples, 5 * H, 4 * H) == pytest.approx(32.0)
    # noise symmetric about the line does not move it; one sample predicts nothing
    wobble = [(t, v + (0.5 if i % 2 else -0.5)) for i, (t, v) in enumerate(samples)]
    assert mixin.predict_linear(wobble, 5 * H, 24 * H) == pytest.approx(-8.0, abs=0.05)
    assert mixin.predict_linear(samples[:1], 0.0, H) is None


def run(used: list[float], step: float = 60.0, metric: str = "nodefs") -> list[mixin.Alarm]:
    base = mixin.Baseline("c")
    for i, u in enumerate(used):
        base.observe("n1", {metric: u}, i * step)
    return base.finish()


def test_warning_fires_after_an_hour_of_holding_and_critical_later() -> None:
    # used rises 1 point an hour from 55: available < 40 % from t = 5 h; the 6-h line reaches 100 % used within
    # 24 h once used > 76 (t = 21 h)
    used = [55.0 + t / 60 for t in range(0, 40 * 60)]
    alarms = run(used)
    warning = [a for a in alarms if a.severity == "warning"]
    critical = [a for a in alarms if a.severity == "critical"]
    assert len(warning) == 1 and warning[0].end is None
    # pending from t = 21 h, firing an hour later
    assert warning[0].start == pytest.approx(22 * H, abs=120)
    # critical: used > 80 (t = 25 h) and 100 - used - 4 < 0 -> used > 96 (t = 41 h): not within 40 h
    assert critical == []


def test_a_flat_series_and_memory_never_alarm() -> None:
    assert run([85.0] * 600) == []
    assert run([55.0 + t / 60 for t in range(0, 40 * 60)], metric="memory") == []


def test_an_interruption_resets_the_for_duration() -> None:
    # holds for 50 min, stops holding for one scan (a drop), holds again: pending starts over
    used = [80.0 + i * 0.05 for i in range(0, 400)]  # 3 points an hour: the 24-h line passes 100 % at once
    used[50] = 60.0
    alarms = run(used)
    first = min(a.start for a in alarms if a.severity == "warning")
    # a least-squares line over 6 h: the single low sample keeps the prediction positive for a few scans at most
    assert first >= 51 * 60.0 + H
