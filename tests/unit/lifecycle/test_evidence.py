"""The evidence rule: how far above the line and for how long decides when a pending alert fires, not a fixed wait."""

from __future__ import annotations

import pytest

from worker.model import Finding, NotificationKind, Severity
from worker.model.alerts import AlertState
from worker.model.policies import EvidencePolicy
from worker.rules import evidence, lifecycle

POLICY = EvidencePolicy(scale=5.0, allowance=0.2, decision=4.0)
CRITICAL = 90.0
HOLD = 540.0


def fired_after(
    values: list[float], policy: EvidencePolicy | None = POLICY, every: float = 60.0
) -> float | None:
    """Feed one critical reading per scan through lifecycle.step; the seconds from the first scan to the page."""
    state: AlertState | None = None
    for i, v in enumerate(values):
        now = 1000.0 + i * every
        sev = Severity.CRITICAL if v >= CRITICAL else Severity.WARNING if v >= 80 else None
        f = Finding(
            "c", "n1", "cpu_usage", sev, value=v, threshold=CRITICAL, hold_for=HOLD, excess=v - CRITICAL
        )
        s = lifecycle.step(state, f, now, False, evidence_policy=policy)
        if s.send == NotificationKind.FIRING:
            return now - 1000.0
        state = s.state
    return None


PAGES = [
    # (name, readings one scan apart, seconds to the page or None)
    ("99 %: a couple of scans", [99.0] * 20, 180.0),
    ("95 %: five scans", [95.0] * 20, 300.0),
    ("94 %: the evidence comes before the for-duration", [94.0] * 20, 420.0),
    ("93 %: the for-duration comes first", [93.0] * 20, 540.0),
    ("90.5 %: too close to the line, the for-duration decides", [90.5] * 20, 540.0),
    ("a one-scan spike to 100 % never pages", [85.0, 100.0, 85.0, 85.0, 70.0, 70.0], None),
    ("a two-scan spike to 100 % does not either", [85.0, 100.0, 100.0, 86.0, 70.0], None),
    ("back and forth across the line builds little", [88.0, 94.0] * 10, 540.0),
    ("cleared before enough evidence: never fired", [99.0, 99.0, 70.0, 99.0, 99.0, 70.0], None),
]  # fmt: skip


@pytest.mark.parametrize(("name", "values", "expected"), PAGES, ids=[c[0] for c in PAGES])
def test_how_soon_a_pending_alert_pages(name: str, values: list[float], expected: float | None) -> None:
    assert fired_after(values) == expected


def test_without_the_rule_the_for_duration_alone_decides() -> None:
    assert fired_after([99.0] * 20, policy=None) == HOLD


def test_the_sum_is_per_minute_so_the_scan_interval_does_not_change_it() -> None:
    assert fired_after([99.0] * 40, every=30.0) == 150.0  # 2.5 minutes of 1.6/min
    assert fired_after([99.0] * 10, every=120.0) == 240.0


ACCUMULATE = [
    # (name, prev, excess, elapsed, expected)
    ("first scan adds nothing", 0.0, 9.0, 0.0, 0.0),
    ("a minute at 9 points over: 1.8 - 0.2", 0.0, 9.0, 60.0, 1.6),
    ("below the line takes evidence away", 2.0, -5.0, 60.0, 0.8),
    ("never below zero", 0.5, -10.0, 60.0, 0.0),
    ("no excess (a rule without it): unchanged", 1.5, None, 60.0, 1.5),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "prev", "excess", "elapsed", "expected"), ACCUMULATE, ids=[c[0] for c in ACCUMULATE]
)
def test_accumulate(name: str, prev: float, excess: float | None, elapsed: float, expected: float) -> None:
    assert evidence.accumulate(prev, excess, elapsed, POLICY) == pytest.approx(expected)


def test_the_reason_says_what_it_waits_for() -> None:
    v = evidence.decide(1.0, 9.0, since=0.0, last_seen=60.0, now=120.0, hold_for=HOLD, policy=POLICY)
    assert not v.fire and v.reason == "pending until 540 (for 540s) or evidence 4 (now 2.6)"
    v = evidence.decide(3.0, 9.0, since=0.0, last_seen=60.0, now=120.0, hold_for=HOLD, policy=POLICY)
    assert v.fire and v.reason == "evidence 4.6 >= 4 after 120s"


def test_the_sum_lives_in_the_pending_state_and_its_json() -> None:
    f = Finding("c", "n1", "cpu_usage", Severity.CRITICAL, value=99.0, hold_for=HOLD, excess=9.0)
    first = lifecycle.step(None, f, 0.0, False, evidence_policy=POLICY).state
    second = lifecycle.step(first, f, 60.0, False, evidence_policy=POLICY).state
    assert first is not None and second is not None and second.evidence == pytest.approx(1.6)
    assert AlertState.from_json(second.to_json()) == second
    old = second.to_json()
    del old["evidence"]  # a state written before the rule existed
    assert AlertState.from_json(old).evidence == 0.0
