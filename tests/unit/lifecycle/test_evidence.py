"""The evidence rule: how far above the line and for how long decides when a pending alert fires, not a fixed wait."""

from __future__ import annotations

import math

import pytest

from worker.model import Finding, NotificationKind, Severity
from worker.model.alerts import AlertState
from worker.model.policies import EvidencePolicy
from worker.rules import evidence, lifecycle

POLICY = EvidencePolicy(scale=5.0, allowance=0.2, decision=3.0)
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
    ("99 %: a couple of scans", [99.0] * 20, 120.0),
    ("95 %: four scans", [95.0] * 20, 240.0),
    ("94 %: five", [94.0] * 20, 300.0),
    ("93 %: the evidence comes before the for-duration", [93.0] * 20, 480.0),
    ("92 %: the for-duration comes first", [92.0] * 20, 540.0),
    ("90.5 %: too close to the line, the for-duration decides", [90.5] * 20, 540.0),
    ("a one-scan spike to 100 % never pages", [85.0, 100.0, 85.0, 85.0, 70.0, 70.0], None),
    ("a two-scan spike to 100 % does not either: the crossing counts half", [85.0, 100.0, 100.0, 86.0, 70.0], None),
    ("nor from nothing: the first scan counts nothing", [100.0, 100.0, 86.0, 70.0], None),
    ("three scans at 100 % after a warm one page", [85.0, 100.0, 100.0, 100.0, 70.0], 180.0),
    ("a 16-minute swing 84-96 % pages in its first half", [90 + 6 * math.sin(i * math.pi / 8) for i in range(1, 40)],
     240.0),
    ("back and forth across the line builds little", [88.0, 94.0] * 10, 540.0),
    ("cleared before enough evidence: never fired", [99.0, 99.0, 70.0, 99.0, 99.0, 70.0], None),
]  # fmt: skip


@pytest.mark.parametrize(("name", "values", "expected"), PAGES, ids=[c[0] for c in PAGES])
def test_how_soon_a_pending_alert_pages(name: str, values: list[float], expected: float | None) -> None:
    assert fired_after(values) == expected


def test_without_the_rule_the_for_duration_alone_decides() -> None:
    assert fired_after([99.0] * 20, policy=None) == HOLD


def test_the_sum_is_per_minute_so_the_scan_interval_does_not_change_it() -> None:
    assert fired_after([99.0] * 40, every=30.0) == 120.0  # 2 minutes of 1.6/min
    assert fired_after([99.0] * 10, every=120.0) == 120.0


ACCUMULATE = [
    # (name, prev, excess, elapsed, previous reading's excess, expected)
    ("first scan adds nothing", 0.0, 9.0, 0.0, None, 0.0),
    ("a minute at 9 points over: 1.8 - 0.2", 0.0, 9.0, 60.0, 4.0, 1.6),
    ("the previous reading unknown: the whole minute", 0.0, 9.0, 60.0, None, 1.6),
    ("crossed the line since: half the minute", 0.0, 9.0, 60.0, -5.0, 0.8),
    ("on the line counts as above it", 0.0, 9.0, 60.0, 0.0, 1.6),
    ("below the line takes evidence away", 2.0, -5.0, 60.0, -1.0, 0.8),
    ("fell below it since: half as much", 2.0, -5.0, 60.0, 3.0, 1.4),
    ("never below zero", 0.5, -10.0, 60.0, -10.0, 0.0),
    ("no excess (a rule without it): unchanged", 1.5, None, 60.0, None, 1.5),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "prev", "excess", "elapsed", "before", "expected"), ACCUMULATE, ids=[c[0] for c in ACCUMULATE]
)
def test_accumulate(
    name: str, prev: float, excess: float | None, elapsed: float, before: float | None, expected: float
) -> None:
    assert evidence.accumulate(prev, excess, elapsed, POLICY, before) == pytest.approx(expected)


def test_the_reason_says_what_it_waits_for() -> None:
    v = evidence.decide(1.0, 9.0, since=0.0, last_seen=60.0, now=120.0, hold_for=HOLD, policy=POLICY)
    assert not v.fire and v.reason == "pending until 540 (for 540s) or evidence 3 (now 2.6)"
    v = evidence.decide(2.0, 9.0, since=0.0, last_seen=60.0, now=120.0, hold_for=HOLD, policy=POLICY)
    assert v.fire and v.reason == "evidence 3.6 >= 3 after 120s"


def test_the_sum_lives_in_the_pending_state_and_its_json() -> None:
    f = Finding("c", "n1", "cpu_usage", Severity.CRITICAL, value=99.0, hold_for=HOLD, excess=9.0)
    first = lifecycle.step(None, f, 0.0, False, evidence_policy=POLICY).state
    second = lifecycle.step(first, f, 60.0, False, evidence_policy=POLICY).state
    assert first is not None and second is not None and second.evidence == pytest.approx(1.6)
    assert second.excess == 9.0  # the next scan needs to know which side of the line this one read
    assert AlertState.from_json(second.to_json()) == second
    old = second.to_json()
    del old["evidence"], old["excess"]  # a state written before the rule existed
    assert (AlertState.from_json(old).evidence, AlertState.from_json(old).excess) == (0.0, None)
