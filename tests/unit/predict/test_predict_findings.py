"""worker/predict/findings.py: a prediction's finding says when, how fast, how sure and where the line came from;
the buckets are staggered; what a scan remembers round-trips."""

from __future__ import annotations

import collections

import pytest

from tests.unit.predict.helpers_predict import HOUR, NOW, history
from worker.collect import configz
from worker.model import DiskStats, FsStats, NodeSample, Resources, Severity
from worker.model.thresholds import Thresholds
from worker.predict import decide, findings, kubelet, trend

GIB = 2**30
DISK = FsStats(capacity=100 * GIB, used=80 * GIB, available=20 * GIB, inodes=1_000_000, inodes_free=400_000)
NODE = NodeSample(
    "c", "node-7", allocatable=Resources(memory=16 * GIB, pods=110), capacity=Resources(memory=17 * GIB),
    disk=DiskStats(DISK, None),
)  # fmt: skip


def fill(rate_pct_h: float, level_now: float) -> trend.Outcome:
    series = history(lambda t: level_now + rate_pct_h * (t - NOW) / HOUR, days=3)
    return trend.predict(series, kubelet.limit("nodefs"), NOW)


def test_a_fill_becomes_a_finding_with_its_eta_rate_and_confidence() -> None:
    outcome = fill(2.0, 80.0)  # 10 points to the line at 2 points an hour: 5 h
    assert isinstance(outcome, trend.Prediction)
    decision = decide.decide(outcome, findings.horizons(Thresholds()), None, NOW)
    f = findings.finding(
        NODE, "nodefs", 80.0, outcome, decision, outcome.limit, configz.CONFIGZ, NOW, hold_for=600.0
    )
    assert (f.rule, f.severity, f.threshold, f.hold_for) == (
        "nodefs_fill_predicted",
        Severity.WARNING,
        90.0,
        600.0,
    )
    p = f.params
    assert p["eta_s"] == pytest.approx(5 * HOUR, rel=0.05)
    assert p["eta_low_s"] <= p["eta_s"] <= p["eta_high_s"]
    assert p["eta_at"] == pytest.approx(NOW + 5 * HOUR, abs=0.05 * 5 * HOUR)
    assert p["rate_unit"] == "bytes"
    assert p["rate_h"] == pytest.approx(0.02 * 100 * GIB, rel=0.02)  # 2 % of 100 GiB an hour
    assert p["confidence_pct"] >= 90
    assert p["signal"] == "nodefs.available<10%"
    assert p["reason"].endswith("line from the kubelet config (configz)")
    assert "resolved_reason" not in p


def test_a_refusal_is_an_inactive_finding_that_says_why() -> None:
    outcome = fill(0.0, 80.0)
    assert isinstance(outcome, trend.Refusal)
    decision = decide.decide(outcome, findings.horizons(Thresholds()), Severity.WARNING, NOW)
    f = findings.finding(NODE, "nodefs", 80.0, outcome, decision, None, "kubelet defaults", NOW, 600.0)
    assert f.severity is None
    assert f.params["refusal"] == outcome.code
    assert f.params["resolved_reason"].startswith("cleared: ")


def test_a_kept_severity_keeps_the_last_figures() -> None:
    before = findings.finding(
        NODE, "nodefs", 80.0, fill(2.0, 80.0), decide.Decision(Severity.WARNING, "w"), kubelet.limit("nodefs"),
        "kubelet defaults", NOW, 600.0,
    )  # fmt: skip
    stale = trend.Refusal(trend.STALE, "no sample for 40 min")
    decision = decide.decide(stale, findings.horizons(Thresholds()), Severity.WARNING, NOW)
    kept = findings.finding(
        NODE, "nodefs", 80.0, stale, decision, kubelet.limit("nodefs"), "kubelet defaults", NOW, 600.0, before
    )
    assert kept.severity is Severity.WARNING
    assert kept.params["eta_s"] == before.params["eta_s"] and kept.params["refusal"] == trend.STALE


def test_a_step_holds_until_the_eta_the_scans_remember() -> None:
    """The last ETA travels with the stored finding: a step holds the alert through the scans' memory (encoded,
    decoded, held again) until the time the last prediction put the line at, then clears it."""
    before = findings.finding(
        NODE, "nodefs", 80.0, fill(2.0, 80.0), decide.Decision(Severity.WARNING, "w"), kubelet.limit("nodefs"),
        "kubelet defaults", NOW, 600.0,
    )  # fmt: skip
    assert findings.hold_until(before) == pytest.approx(NOW + 5 * HOUR, abs=0.2 * HOUR)
    step = trend.Refusal(trend.STEP, "a level step")
    horizons = findings.horizons(Thresholds())
    held = before
    for later in (HOUR, 3 * HOUR):  # remembered between scans, held again
        raw = findings.encode(findings.Cached(1, held))
        remembered = findings.decode("c", NODE.name, "nodefs", raw)
        assert remembered is not None
        decision = decide.decide(
            step, horizons, Severity.WARNING, NOW + later, findings.hold_until(remembered.finding)
        )
        assert decision.severity is Severity.WARNING, decision.reason
        held = findings.finding(
            NODE, "nodefs", 81.0, step, decision, kubelet.limit("nodefs"), "kubelet defaults", NOW + later, 600.0,
            remembered.finding,
        )  # fmt: skip
        assert held.params["eta_at"] == before.params["eta_at"]
    late = decide.decide(step, horizons, Severity.WARNING, NOW + 6 * HOUR, findings.hold_until(held))
    assert late.severity is None and late.reason.startswith("cleared: ")
    cleared = findings.finding(
        NODE,
        "nodefs",
        81.0,
        step,
        late,
        kubelet.limit("nodefs"),
        "kubelet defaults",
        NOW + 6 * HOUR,
        600.0,
        held,
    )
    assert findings.hold_until(cleared) is None  # an inactive finding holds nothing


@pytest.mark.parametrize(
    ("metric", "total"),
    [("nodefs", 100 * GIB), ("inodes", 1_000_000), ("memory", 16 * GIB), ("pods", 110), ("imagefs", 0)],
)
def test_the_rate_is_in_the_resources_own_units(metric: str, total: float) -> None:
    assert findings.total(NODE, metric) == total


def test_buckets_are_five_minutes_and_staggered_over_them() -> None:
    starts = collections.Counter()
    for i in range(1000):
        name = f"node-{i}"
        b = findings.bucket(name, "nodefs", NOW)
        assert findings.bucket(name, "nodefs", NOW + 300) == b + 1
        # the first second of this node's bucket
        t = NOW
        while findings.bucket(name, "nodefs", t - 1) == b:
            t -= 1
        starts[int(t % 300) // 60] += 1
    assert all(150 <= starts[m] <= 250 for m in range(5)), starts  # ~a fifth of the nodes due each minute


def test_what_a_scan_remembers_round_trips() -> None:
    active = findings.finding(
        NODE, "memory", 81.0, fill(2.0, 80.0), decide.Decision(Severity.CRITICAL, "c"), kubelet.limit("nodefs"),
        "kubelet defaults", NOW, 600.0,
    )  # fmt: skip
    entry = findings.Cached(123, active)
    back = findings.decode("c", "node-7", "memory", findings.encode(entry))
    assert back is not None and back.bucket == 123 and back.finding is not None
    again = back.again(82.5)
    assert again is not None
    assert (again.rule, again.severity, again.value, again.params) == (
        "memory_fill_predicted", Severity.CRITICAL, 82.5, active.params
    )  # fmt: skip
    quiet = findings.Cached(124, None, 71.25)
    assert findings.encode(quiet) == "124:71.2"
    assert findings.decode("c", "node-7", "memory", "124:71.2") == findings.Cached(124, None, 71.2)
    assert findings.decode("c", "node-7", "memory", "124") == findings.Cached(124)
    assert findings.decode("c", "node-7", "memory", "[garbage") is None
    # an inactive finding kept for an open alert (it resolves with this reason) round-trips too
    cleared = findings.quiet(NODE, "memory", 70.0, "cleared: the rise stopped", 600.0)
    back = findings.decode("c", "node-7", "memory", findings.encode(findings.Cached(125, cleared)))
    assert back is not None and back.finding is not None and back.finding.severity is None
    assert back.finding.params["resolved_reason"] == "cleared: the rise stopped"


@pytest.mark.parametrize(
    ("entry", "bucket", "value", "due"),
    [
        (findings.Cached(10, None, 70.0), 10, 75.0, False),  # one prediction a bucket at most
        (findings.Cached(10, None, 70.0), 11, 70.5, False),  # quiet and steady: every third bucket
        (findings.Cached(10, None, 70.0), 13, 70.5, True),
        (findings.Cached(10, None, 70.0), 11, 71.5, True),  # rising: every bucket
        (findings.Cached(10), 11, 70.0, True),  # no value kept: every bucket
    ],
)
def test_when_a_prediction_is_due(entry: findings.Cached, bucket: int, value: float, due: bool) -> None:
    assert entry.due(bucket, value) is due


def test_an_active_prediction_is_due_every_bucket() -> None:
    active = findings.finding(
        NODE, "nodefs", 80.0, fill(2.0, 80.0), decide.Decision(Severity.WARNING, "w"), kubelet.limit("nodefs"),
        "kubelet defaults", NOW, 600.0,
    )  # fmt: skip
    assert findings.Cached(10, active).due(11, 80.0)
