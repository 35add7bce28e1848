"""worker.predict.decide: ETA -> severity with hysteresis, table-driven like the lifecycle tests."""

from __future__ import annotations

import pytest

from worker.model import Severity
from worker.predict import kubelet, trend
from worker.predict.decide import HORIZONS, Horizons, decide
from worker.predict.trend import Prediction, Refusal

W, C = Severity.WARNING, Severity.CRITICAL
H = 3600.0
NODEFS = kubelet.Limit(90.0, "nodefs.available<10%")
NOW = 1_800_000_000.0


def eta(hours: float, level: float = 80.0, confidence: float = 0.95) -> Prediction:
    return Prediction(
        eta_s=hours * H,
        eta_low_s=hours * H * 0.9,
        eta_high_s=hours * H * 1.1,
        confidence=confidence,
        level=level,
        rate_per_h=(90.0 - level) / hours,
        limit=NODEFS,
        model="trend",
        since=0.0,
        reason=f"reaches nodefs.available<10% in ~{hours} h",
    )


CASES = [
    # (name, outcome, previous, expected severity, words in the reason)
    ("far away: nothing", eta(40), None, None, "beyond 24.0 h"),
    ("within a day: warning", eta(20), None, W, "within 24.0 h"),
    ("within 4 h: critical", eta(3), None, C, "within 4.0 h"),
    ("exactly at the critical horizon", eta(4), None, C, "within 4.0 h"),
    ("critical holds inside horizon + 25 %", eta(4.9), C, C, "kept critical"),
    ("critical steps down past 5 h", eta(5.1), C, W, "within 24.0 h"),
    ("warning holds inside 24 h + 25 %", eta(29), W, W, "kept warning"),
    ("critical falls to a held warning", eta(29), C, W, "kept warning"),
    ("warning clears past 30 h", eta(31), W, None, "beyond 24.0 h + 25%"),
    ("not yet warning at 26 h", eta(26), None, None, "beyond 24.0 h"),
    ("below the usage floor", eta(2, level=40.0), None, None, "below the usage floor"),
    ("below the floor clears a firing one", eta(2, level=40.0), C, None, "below the usage floor"),
    ("not sure enough to start", eta(2, confidence=0.6), None, None, "not sure enough"),
    ("sure enough to stay", eta(2, confidence=0.6), C, C, "within 4.0 h"),
    ("too unsure to stay", eta(2, confidence=0.3), C, None, "not sure enough"),
    ("a gap holds the severity", Refusal(trend.TOO_FEW, "3 samples"), W, W, "kept warning: 3 samples"),
    ("stale data holds it", Refusal(trend.STALE, "no sample for 45 min"), C, C, "kept critical"),
    ("past the line holds it", Refusal(trend.PAST_LIMIT, "at 91 %"), C, C, "kept critical"),
    ("a stop clears it", Refusal(trend.STOPPED, "the rise stopped"), C, None, "cleared: the rise stopped"),
    (
        "a fall (an eviction) clears it",
        Refusal(trend.FELL, "fell 15.0 pt 4 min ago"),
        C,
        None,
        "cleared: fell 15",
    ),
    ("a step without a last ETA clears it", Refusal(trend.STEP, "a step"), W, None, "cleared: a step"),
    ("GC clears it", Refusal(trend.GC_WILL_CLEAN, "image GC at 85 %"), W, None, "cleared: image GC"),
    ("a daily cycle starts nothing", Refusal(trend.DAILY_CYCLE, "a cycle"), None, None, "no prediction"),
    ("a gap starts nothing", Refusal(trend.TOO_FEW, "3 samples"), None, None, "no prediction: 3 samples"),
]


@pytest.mark.parametrize(
    ("name", "outcome", "previous", "severity", "words"), CASES, ids=[c[0] for c in CASES]
)
def test_decide(
    name: str, outcome: trend.Outcome, previous: Severity | None, severity: Severity | None, words: str
) -> None:
    d = decide(outcome, HORIZONS, previous, NOW)
    assert d.severity == severity, d.reason
    assert words in d.reason


def test_an_eta_wobbling_around_the_critical_horizon_does_not_flap() -> None:
    previous: Severity | None = None
    seen = []
    for hours in (3.9, 4.2, 3.95, 4.6, 4.1, 4.8, 3.99, 4.4):
        previous = decide(eta(hours), HORIZONS, previous, NOW).severity
        seen.append(previous)
    assert seen == [C] * 8


def test_horizons_are_parameters() -> None:
    short = Horizons(warning_s=6 * H, critical_s=1 * H, floor=90.0, clear_margin=0.0)
    assert decide(eta(5, level=95.0), short, None, NOW).severity == W
    assert decide(eta(7, level=95.0), short, W, NOW).severity is None
    assert decide(eta(0.5, level=85.0), short, None, NOW).severity is None  # under this floor


STEP = Refusal(trend.STEP, "a level step of 6 pt at 14:05")
POOR = Refusal(trend.POOR_FIT, "rising, but a line fits poorly (R² 0.31)")
HOLD_CASES = [
    # (name, outcome, previous, hold_until - NOW in hours (None: no last ETA kept), expected, words in the reason)
    (
        "a step before the last ETA holds a warning",
        STEP,
        W,
        6.0,
        W,
        "kept warning until the last ETA (~6.0 h)",
    ),
    ("a poor fit before the last ETA holds critical", POOR, C, 1.0, C, "kept critical until the last ETA"),
    ("a step once the last ETA passed clears", STEP, W, -0.5, None, "cleared: a level step"),
    ("a poor fit exactly at the last ETA clears", POOR, C, 0.0, None, "cleared: rising, but"),
    ("a step with no last ETA kept clears", STEP, C, None, None, "cleared: a level step"),
    ("a step starts nothing, ETA or not", STEP, None, 6.0, None, "no prediction: a level step"),
    (
        "a stop clears before the last ETA",
        Refusal(trend.STOPPED, "stopped"),
        W,
        6.0,
        None,
        "cleared: stopped",
    ),
    ("not rising clears before it", Refusal(trend.NOT_RISING, "flat"), C, 2.0, None, "cleared: flat"),
    (
        "a daily cycle clears before it",
        Refusal(trend.DAILY_CYCLE, "a cycle"),
        W,
        9.0,
        None,
        "cleared: a cycle",
    ),
    ("GC clears before it", Refusal(trend.GC_WILL_CLEAN, "GC at 85 %"), W, 9.0, None, "cleared: GC"),
    ("a gap still holds past it", Refusal(trend.TOO_FEW, "3 samples"), W, -1.0, W, "kept warning: 3 samples"),
    ("a fall clears before it", Refusal(trend.FELL, "fell 15.0 pt"), W, 6.0, None, "cleared: fell 15.0 pt"),
    ("a prediction decides by its own ETA", eta(40), W, 6.0, None, "beyond 24.0 h + 25%"),
]


@pytest.mark.parametrize(
    ("name", "outcome", "previous", "until_h", "severity", "words"),
    HOLD_CASES,
    ids=[c[0] for c in HOLD_CASES],
)
def test_step_and_poor_fit_hold_until_the_last_eta(
    name: str,
    outcome: trend.Outcome,
    previous: Severity | None,
    until_h: float | None,
    severity: Severity | None,
    words: str,
) -> None:
    d = decide(outcome, HORIZONS, previous, NOW, None if until_h is None else NOW + until_h * H)
    assert d.severity == severity, d.reason
    assert words in d.reason, d.reason
