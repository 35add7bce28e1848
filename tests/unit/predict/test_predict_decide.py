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
    d = decide(outcome, HORIZONS, previous)
    assert d.severity == severity, d.reason
    assert words in d.reason


def test_an_eta_wobbling_around_the_critical_horizon_does_not_flap() -> None:
    previous: Severity | None = None
    seen = []
    for hours in (3.9, 4.2, 3.95, 4.6, 4.1, 4.8, 3.99, 4.4):
        previous = decide(eta(hours), HORIZONS, previous).severity
        seen.append(previous)
    assert seen == [C] * 8


def test_horizons_are_parameters() -> None:
    short = Horizons(warning_s=6 * H, critical_s=1 * H, floor=90.0, clear_margin=0.0)
    assert decide(eta(5, level=95.0), short, None).severity == W
    assert decide(eta(7, level=95.0), short, W).severity is None
    assert decide(eta(0.5, level=85.0), short, None).severity is None  # under this floor
