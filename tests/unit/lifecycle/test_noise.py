"""Noise decisions with explicit ``now``: inhibition, silences, maintenance windows, ack, flapping, removal."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from worker.model import Finding, NotificationKind, Severity
from worker.model.alerts import AlertState, FlapRecord, Silence
from worker.rules import muting, noise
from worker.rules.lifecycle import FlapPolicy, flap

C, W = Severity.CRITICAL, Severity.WARNING
FIRING, RESOLVED, FLAPPING, FLAP_ENDED = (
    NotificationKind.FIRING,
    NotificationKind.RESOLVED,
    NotificationKind.FLAPPING,
    NotificationKind.FLAP_ENDED,
)


def f(node: str, rule: str, sev: Severity | None) -> Finding:
    return Finding("c", node, rule, sev, summary=f"{node} {rule}")


def firing(fnd: Finding, sent: Severity | None = C, acked: bool = False) -> AlertState:
    return AlertState(fnd.fingerprint, fnd.node, fnd.rule, "firing", C, 0.0, 0.0, sent, acked)


def sends(p: noise.Plan) -> list[tuple[str, str, str]]:
    return sorted((o.finding.node, o.finding.rule, o.kind.value) for o in p.outgoing)


def test_not_ready_inhibits_that_nodes_usage_only() -> None:
    findings = [f("n1", "node_not_ready", C), f("n1", "cpu_usage", C), f("n2", "cpu_usage", C)]
    p = noise.plan("c", {}, findings, noise.Context(now=100))
    assert sends(p) == [("n1", "node_not_ready", "firing"), ("n2", "cpu_usage", "firing")]
    why = dict(p.why)
    assert why[findings[1].fingerprint] == "inhibited by node_not_ready"
    # the inhibited alert is tracked as firing-but-unsent: it pages when the node is Ready again
    held = p.upsert[findings[1].fingerprint]
    assert held.status == "firing" and held.sent_severity is None
    later = noise.plan(
        "c", {findings[1].fingerprint: held}, [f("n1", "cpu_usage", C)], noise.Context(now=200)
    )
    assert sends(later) == [("n1", "cpu_usage", "firing")]


def test_inhibited_alert_that_clears_sends_no_resolved() -> None:
    cpu = f("n1", "cpu_usage", None)
    p = noise.plan("c", {cpu.fingerprint: firing(cpu, sent=None)}, [cpu], noise.Context(now=10))
    assert sends(p) == [] and p.delete == [cpu.fingerprint]


@pytest.mark.parametrize(
    ("silence", "muted"),
    [
        (Silence("s1", ends=500, node="web-*"), True),
        (Silence("s1", ends=500, node="db-*"), False),
        (Silence("s1", ends=500, rule="cpu_usage", cluster="c"), True),
        (Silence("s1", ends=50), False),  # ended
        (Silence("s1", ends=500, starts=200), False),  # not started
        (Silence("s1", ends=500, labels={"team": "web"}), True),
        (Silence("s1", ends=500, labels={"team": "db"}), False),
    ],
)
def test_silences_match_by_glob_and_labels(silence: Silence, muted: bool) -> None:
    cpu = f("web-1", "cpu_usage", C)
    ctx = noise.Context(now=100, silences=[silence], labels={"web-1": {"team": "web"}})
    p = noise.plan("c", {}, [cpu], ctx)
    assert (sends(p) == []) is muted
    if muted:
        assert dict(p.why)[cpu.fingerprint].startswith("silenced by s1")


def test_maintenance_window_crossing_midnight() -> None:
    w = muting.Window(("sat",), time(23, 0), 120, "UTC", "nightly")
    sat_2330 = datetime(2026, 11, 28, 23, 30, tzinfo=UTC).timestamp()  # a Saturday
    assert w.contains(sat_2330)
    assert w.contains(sat_2330 + 3600)  # Sunday 00:30
    assert not w.contains(sat_2330 + 2 * 3600)  # Sunday 01:30
    assert not w.contains(sat_2330 - 3600)  # Saturday 22:30
    assert muting.in_maintenance([w], sat_2330) == "in maintenance window nightly"


def test_ack_stops_repeats_until_resolved() -> None:
    cpu = f("n1", "cpu_usage", C)
    acked = firing(cpu, acked=True)
    p = noise.plan("c", {cpu.fingerprint: acked}, [cpu], noise.Context(now=10**6))  # cooldown long over
    assert sends(p) == [] and "acknowledged" in dict(p.why)[cpu.fingerprint]
    p = noise.plan("c", {cpu.fingerprint: acked}, [f("n1", "cpu_usage", None)], noise.Context(now=10**6))
    assert sends(p) == [("n1", "cpu_usage", "resolved")]


POLICY = FlapPolicy(window=600, threshold=4, quiet=300)


def test_flap_detection_sequence() -> None:
    rec = FlapRecord()
    kinds = []
    # fire/resolve every minute: the 4th transition marks it flapping; the rest are held back
    for i, t in enumerate([FIRING, RESOLVED, FIRING, RESOLVED, FIRING, RESOLVED]):
        d = flap(rec, t, 60.0 * i, POLICY)
        rec = d.record
        kinds.append(d.send)
    assert kinds == [FIRING, RESOLVED, FIRING, FLAPPING, None, None]
    assert rec.flapping_since == 180.0
    # quiet, but not long enough
    assert flap(rec, None, 300 + 299, POLICY).send is None
    ended = flap(rec, None, 300 + 300, POLICY)
    assert ended.send == FLAP_ENDED and ended.record.flapping_since is None


def test_slow_transitions_are_not_flapping() -> None:
    rec = FlapRecord()
    for i, t in enumerate([FIRING, RESOLVED, FIRING, RESOLVED, FIRING]):
        d = flap(rec, t, 400.0 * i, POLICY)  # one every 400 s: never 4 within 600 s
        assert d.send == t
        rec = d.record


def test_plan_holds_flapping_transitions_and_keeps_the_record() -> None:
    nr = f("n1", "node_not_ready", C)
    rec = FlapRecord((0.0, 60.0, 120.0))
    p = noise.plan("c", {}, [nr], noise.Context(now=180, flaps={nr.fingerprint: rec}, flap_policy=POLICY))
    assert sends(p) == [("n1", "node_not_ready", "flapping")]
    # the record names its node (a record written before nodes were kept learns it here)
    assert p.flaps[nr.fingerprint] == FlapRecord((0.0, 60.0, 120.0, 180.0), 180.0, "n1")
    # resolving while flapping: held back, state forgotten, record kept
    p2 = noise.plan(
        "c",
        {nr.fingerprint: p.upsert[nr.fingerprint]},
        [f("n1", "node_not_ready", None)],
        noise.Context(now=240, flaps={nr.fingerprint: p.flaps[nr.fingerprint]}, flap_policy=POLICY),  # type: ignore[dict-item]
    )
    assert sends(p2) == [] and p2.delete == [nr.fingerprint]
    assert "flapping" in dict(p2.why)[nr.fingerprint]


def test_cluster_removed_closes_every_sent_alert() -> None:
    cpu, nr = f("n1", "cpu_usage", C), f("n2", "node_not_ready", C)
    prev = {cpu.fingerprint: firing(cpu), nr.fingerprint: firing(nr, sent=None)}
    p = noise.plan("c", prev, [], noise.Context(now=5, removed_reason="cluster removed"))
    assert sends(p) == [("n1", "cpu_usage", "resolved")]
    assert sorted(p.delete) == sorted(prev)
    assert p.outgoing[0].reason == "cluster removed"


def test_warning_then_critical_escalates_once() -> None:
    cpu = f("n1", "cpu_usage", W)
    st = AlertState(cpu.fingerprint, "n1", "cpu_usage", "firing", W, 0, 0, W)
    p = noise.plan(
        "c",
        {cpu.fingerprint: st},
        [f("n1", "cpu_usage", C)],
        noise.Context(now=10, cooldowns=frozenset({cpu.fingerprint})),
    )
    assert sends(p) == [("n1", "cpu_usage", "escalated")]
    assert p.cooldown_start == [cpu.fingerprint]


def test_flap_summary_after_the_alert_resolved_and_was_forgotten() -> None:
    nr = f("n1", "node_not_ready", None)
    rec = FlapRecord((0.0, 60.0, 120.0, 180.0), 180.0)
    ctx = noise.Context(now=180 + POLICY.quiet, flaps={nr.fingerprint: rec}, flap_policy=POLICY)
    p = noise.plan("c", {}, [nr], ctx)  # no state left: it resolved while flapping
    assert sends(p) == [("n1", "node_not_ready", "flap_ended")]
    assert p.flaps[nr.fingerprint] is None  # counting starts afresh


# --- flap records stay bounded: vanished nodes, removed clusters, records nothing touches ---------------------


def test_flap_record_of_a_node_that_left_is_forgotten_once_its_alert_is_gone() -> None:
    gone, here = f("gone-1", "node_not_ready", None), f("n1", "node_not_ready", None)
    flaps = {
        gone.fingerprint: FlapRecord((100.0, 160.0), None, "gone-1"),
        here.fingerprint: FlapRecord((100.0, 160.0), None, "n1"),
    }
    ctx = noise.Context(now=200, flaps=flaps, node_names=frozenset({"n1"}), flap_policy=POLICY)
    p = noise.plan("c", {}, [here], ctx)  # gone-1 is not in the sample: no finding, no alert
    assert p.flaps == {gone.fingerprint: None}  # n1's record was touched and is still inside the window


def test_node_that_left_while_flapping_closes_its_alert_and_forgets_the_record() -> None:
    nr = f("gone-1", "node_not_ready", C)
    flaps = {nr.fingerprint: FlapRecord((0.0, 60.0, 120.0, 180.0), 180.0, "gone-1")}
    ctx = noise.Context(now=240, flaps=flaps, node_names=frozenset({"n1"}), flap_policy=POLICY)
    p = noise.plan("c", {nr.fingerprint: firing(nr)}, [], ctx)
    # a removal is no flap transition: the closing notice goes out instead of being held back for ever
    assert sends(p) == [("gone-1", "node_not_ready", "resolved")]
    assert p.delete == [nr.fingerprint] and p.flaps == {nr.fingerprint: None}


def test_flap_record_of_an_open_alert_is_kept_when_its_rule_was_not_evaluated() -> None:
    disk = f("n1", "disk_nodefs", C)
    flaps = {disk.fingerprint: FlapRecord((0.0,), None, "n1")}
    ctx = noise.Context(now=5000, flaps=flaps, node_names=frozenset({"n1"}), flap_policy=POLICY)
    p = noise.plan("c", {disk.fingerprint: firing(disk)}, [], ctx)  # the disk read failed: no disk findings
    assert p.flaps == {} and p.delete == []


@pytest.mark.parametrize(
    ("record", "now", "forgotten"),
    [
        (FlapRecord((100.0,), None, "n1"), 100 + POLICY.window, False),  # still inside the window
        (FlapRecord((100.0,), None, "n1"), 101 + POLICY.window, True),
        (FlapRecord((), None, ""), 0.0, True),  # empty: nothing to remember
        (
            FlapRecord((100.0,), 100.0, "n1"),
            100 + POLICY.window + POLICY.quiet,
            False,
        ),  # flapping: a summary may fall due
        (FlapRecord((100.0,), 100.0, "n1"), 101 + POLICY.window + POLICY.quiet, True),
        (
            FlapRecord((100.0,), None, ""),
            101 + POLICY.window,
            True,
        ),  # written before records named their node
    ],
)
def test_untouched_flap_records_expire(record: FlapRecord, now: float, forgotten: bool) -> None:
    fp = "f" * 16
    # a failed scan (node_names None) still forgets what expired, and nothing else
    p = noise.plan("c", {}, [], noise.Context(now=now, flaps={fp: record}, flap_policy=POLICY))
    assert (p.flaps == {fp: None}) is forgotten


def test_removed_cluster_forgets_every_flap_record() -> None:
    cpu, other = f("n1", "cpu_usage", C), f("n2", "node_not_ready", None)
    flaps = {
        cpu.fingerprint: FlapRecord((1.0,), None, "n1"),
        other.fingerprint: FlapRecord((2.0,), 2.0, "n2"),
    }
    ctx = noise.Context(now=5, flaps=flaps, removed_reason="cluster removed", flap_policy=POLICY)
    p = noise.plan("c", {cpu.fingerprint: firing(cpu)}, [], ctx)
    assert sends(p) == [("n1", "cpu_usage", "resolved")]
    assert p.flaps == {cpu.fingerprint: None, other.fingerprint: None}


def test_flap_record_round_trips_with_its_node_and_reads_old_records() -> None:
    rec = FlapRecord((1.0, 2.0), 2.0, "n1")
    assert FlapRecord.from_json(rec.to_json()) == rec
    assert FlapRecord.from_json({"times": [1.0], "since": None}) == FlapRecord((1.0,), None, "")
