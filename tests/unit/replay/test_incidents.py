"""Replay scoring: incident periods from sampled ground truth and detection of each by a policy's messages."""

from __future__ import annotations

import pytest

from worker.replay.incidents import (
    Episode,
    Incident,
    Sent,
    TruthPoint,
    detection,
    detection_delay,
    episodes,
    floor,
    incidents,
    periods,
    score,
)

STEP = 60.0


def series(pattern: str, t0: float = 0.0) -> list[tuple[float, bool]]:
    """'x' = bad sample, '.' = good sample, ' ' = no sample; one character per STEP."""
    return [(t0 + i * STEP, c == "x") for i, c in enumerate(pattern) if c != " "]


PERIODS = [
    # (name, pattern, merge_gap, min_duration, expected [(start, end)] in steps)
    ("all good", "..........", 600, 600, []),
    ("exactly ten minutes is an incident", ".xxxxxxxxxx.", 600, 600, [(1, 11)]),
    ("nine minutes is not", ".xxxxxxxxx..", 600, 600, []),
    ("five-minute rule for readiness", "..xxxxx...", 600, 300, [(2, 7)]),
    ("runs to the end of the series", "....xxxxxxxxxx", 600, 600, [(4, 14)]),
    ("a dip under ten minutes is merged", "xxxxx.........xxxxx", 600, 600, [(0, 19)]),
    ("a ten-minute dip splits", "xxxxxxxxxx..........xxxxxxxxxx", 600, 600, [(0, 10), (20, 30)]),
    ("short spikes merge into one long period", "x..x..x..x", 600, 600, [(0, 10)]),
    ("short spikes far apart stay apart and short", "x" + "." * 12 + "x", 600, 600, []),
    ("a missing sample ends a run", "xxxxx xxxxx", 0, 300, [(0, 5), (6, 11)]),
    ("no merging when the gap is zero", "xxxxx.xxxxx", 0, 300, [(0, 5), (6, 11)]),
]


@pytest.mark.parametrize(
    ("name", "pattern", "gap", "minimum", "expected"), PERIODS, ids=[c[0] for c in PERIODS]
)
def test_periods(
    name: str, pattern: str, gap: float, minimum: float, expected: list[tuple[int, int]]
) -> None:
    got = periods(series(pattern), STEP, gap, minimum)
    assert got == [(a * STEP, b * STEP) for a, b in expected]


def truth(node: str, metric: str, pattern: str) -> list[TruthPoint]:
    return [TruthPoint(t, "c", node, metric, bad) for t, bad in series(pattern)]


def test_incidents_per_node_and_metric_with_their_own_minimum() -> None:
    points = truth("n1", "cpu", "xxxxxxxxxx") + truth("n2", "cpu", "xxxxxx....")
    points += truth("n2", "ready", "..xxxxx...") + truth("n1", "memory", "..........")
    found = incidents(points, STEP)
    assert found == [Incident("c", "n1", "cpu", 0.0, 600.0), Incident("c", "n2", "ready", 120.0, 420.0)]


def test_readiness_is_not_merged_unless_asked() -> None:
    flapping = truth("n1", "ready", "xxx..xxx..xxx..xxxxx")
    assert incidents(flapping, STEP) == [Incident("c", "n1", "ready", 900.0, 1200.0)]
    merged = incidents(flapping, STEP, merge_gap={"ready": 600})
    assert merged == [Incident("c", "n1", "ready", 0.0, 1200.0)]


def test_incidents_accept_unsorted_points() -> None:
    points = list(reversed(truth("n1", "memory", "..xxxxxxxxxxx..")))
    assert incidents(points, STEP) == [Incident("c", "n1", "memory", 120.0, 780.0)]


INC = Incident("c", "n1", "cpu", 1000.0, 2000.0)


def sent(t: float, kind: str = "firing", rule: str = "cpu_usage", nodes: tuple[str, ...] = ("n1",)) -> Sent:
    return Sent(t, "c", rule, kind, "critical", nodes)


DETECTION = [
    # (name, messages, resolves, expected delay or None = missed)
    ("nothing sent", [], True, None),
    ("firing during the incident", [sent(1120)], True, 120.0),
    ("first of several counts", [sent(1500), sent(1060, "escalated")], True, 60.0),
    ("one interval early counts, delay 0", [sent(940)], True, 0.0),
    ("two intervals early does not count", [sent(880)], False, None),
    ("fired earlier and still open counts for a policy that resolves", [sent(500)], True, 0.0),
    ("fired earlier and resolved does not", [sent(500), sent(700, "resolved")], True, None),
    ("earlier without resolves is not open", [sent(500)], False, None),
    ("a resolved notice is no detection", [sent(1200, "resolved")], True, None),
    ("after the end is too late", [sent(2100)], True, None),
    ("another node is not this incident", [sent(1200, nodes=("n2",))], True, None),
    ("another rule is not this metric", [sent(1200, rule="memory_usage")], True, None),
    ("a grouped message naming the node counts", [sent(1300, nodes=("n0", "n1", "n2"))], True, 300.0),
    ("a repeat during the incident counts", [sent(1600, "repeat")], False, 600.0),
]


@pytest.mark.parametrize(
    ("name", "messages", "resolves", "expected"), DETECTION, ids=[c[0] for c in DETECTION]
)
def test_detection_delay(name: str, messages: list[Sent], resolves: bool, expected: float | None) -> None:
    assert detection_delay(INC, messages, STEP, resolves) == expected


def test_readiness_is_detected_by_either_ready_rule() -> None:
    inc = Incident("c", "n1", "ready", 1000.0, 1400.0)
    assert detection_delay(inc, [sent(1060, rule="node_unknown")], STEP, True) == 60.0
    assert detection_delay(inc, [sent(1000, rule="node_not_ready")], STEP, True) == 0.0


def test_score_figures() -> None:
    found = [INC, Incident("c", "n2", "memory", 5000.0, 6000.0), Incident("c", "n3", "ready", 0.0, 600.0)]
    messages = [
        sent(1060),
        sent(1100, "repeat"),
        sent(2200, "resolved"),
        sent(5180, rule="memory_usage", nodes=("n2",)),
        sent(9000, rule="taint", nodes=("n9",)),
    ]
    f = score(found, messages, STEP, resolves=True, machine_days=2.5)
    assert f.summary() == {
        "incidents": 3,
        "detected": 2,
        "paged": 2,
        "already_open": 0,
        "missed": 1,
        "notifications": 5,
        "notifications_per_incident": 1.67,
        "notifications_per_machine_day": 2.0,
        "median_detection_delay_s": 120.0,
        "median_detection_delay_by_metric_s": {"cpu/memory": 120.0},
        "episodes": 2,
        "noise_episodes": 0,
        "median_episode_delay_s": 120.0,
        "floor_per_machine_day": 2.4,  # 6 messages: the three incidents are of three metrics
    }
    assert f.missed_incidents == [found[2]]
    assert f.by_rule_kind["cpu_usage:firing"] == 1 and f.by_rule_kind["taint:firing"] == 1


def test_score_without_incidents_has_no_ratio() -> None:
    f = score([], [sent(10)], STEP, resolves=False)
    assert (f.incidents, f.notifications, f.notifications_per_incident, f.median_detection_delay_s) == (
        0,
        1,
        None,
        None,
    )


def test_an_incident_found_by_an_open_alert_is_counted_apart_not_as_a_zero_delay() -> None:
    early = [sent(500)]  # fired on a spike before the incident and never resolved
    assert detection(INC, early, STEP, True) == ("open", None)
    f = score([INC, Incident("c", "n1", "cpu", 4000.0, 5000.0)], [*early, sent(4240)], STEP, resolves=True)
    assert (f.detected, f.already_open, f.missed, f.delays) == (2, 1, 0, [240.0])
    assert f.median_detection_delay_s == 240.0  # the open one is not a 0 s page


EPISODES = [
    # (name, messages, resolves, expected [(node, rule, start, end, messages, delay)])
    ("firing then resolved covering the incident", [sent(1120), sent(2400, "resolved")], True,
     [("n1", "cpu_usage", 1120, 2400, 2, 120.0)]),
    ("opened before the incident: delay 0, one episode", [sent(700), sent(1500, "repeat")], True,
     [("n1", "cpu_usage", 700, None, 2, 0.0)]),
    ("a page with no incident is noise", [sent(3000), sent(3300, "resolved")], True,
     [("n1", "cpu_usage", 3000, 3300, 2, None)]),
    ("two alerts, two episodes", [sent(1100), sent(1200, "resolved"), sent(1300), sent(2500, "resolved")], True,
     [("n1", "cpu_usage", 1100, 1200, 2, 100.0), ("n1", "cpu_usage", 1300, 2500, 2, 300.0)]),
    ("a grouped message opens one per node", [sent(1060, nodes=("n1", "n2"))], True,
     [("n1", "cpu_usage", 1060, None, 1, 60.0), ("n2", "cpu_usage", 1060, None, 1, None)]),
    ("no resolves: re-pages 15 min apart are one episode", [sent(1000), sent(1900), sent(2800)], False,
     [("n1", "cpu_usage", 1000, 2800, 3, 0.0)]),
    ("no resolves: an hour apart are two", [sent(1000), sent(4800)], False,
     [("n1", "cpu_usage", 1000, 1000, 1, 0.0), ("n1", "cpu_usage", 4800, 4800, 1, None)]),
    ("rules the incidents do not score are left out", [sent(1000, rule="taint")], True, []),
]  # fmt: skip


@pytest.mark.parametrize(("name", "messages", "resolves", "expected"), EPISODES, ids=[c[0] for c in EPISODES])
def test_episodes(
    name: str, messages: list[Sent], resolves: bool, expected: list[tuple[object, ...]]
) -> None:
    got = episodes([INC], messages, STEP, resolves)
    assert got == [Episode("c", n, r, a, b, m, d) for n, r, a, b, m, d in expected]  # type: ignore[arg-type]


FLOOR = [
    # (name, incidents [(node, metric, start, end)], expected least messages)
    ("none", [], 0),
    ("one incident: its page and its resolved notice", [("n1", "cpu", 0, 900)], 2),
    ("two nodes crossing within the window share both messages", [("n1", "cpu", 0, 900), ("n2", "cpu", 240, 1100)],
     2),
    ("the same, ending far apart: one page, two resolved notices",
     [("n1", "cpu", 0, 900), ("n2", "cpu", 240, 3000)], 3),
    ("starts further apart than the window: two pages", [("n1", "cpu", 0, 900), ("n2", "cpu", 360, 900)], 3),
    ("another metric is another message", [("n1", "cpu", 0, 900), ("n2", "memory", 0, 900)], 4),
    ("one node's incidents under 30 min apart may be one alert", [("n1", "cpu", 0, 900), ("n1", "cpu", 2000, 3000)],
     2),
    ("and an hour apart are two", [("n1", "cpu", 0, 900), ("n1", "cpu", 4500, 5500)], 4),
    ("still going at the end of the replay (6000): nothing to resolve", [("n1", "cpu", 0, 900), ("n2", "cpu", 4500, 6000)],
     3),
    ("a chain of windows: each opens at its earliest start",
     [("n1", "cpu", 0, 900), ("n2", "cpu", 300, 900), ("n3", "cpu", 301, 900)], 3),
]  # fmt: skip


@pytest.mark.parametrize(("name", "found", "expected"), FLOOR, ids=[c[0] for c in FLOOR])
def test_floor_of_messages(name: str, found: list[tuple[str, str, float, float]], expected: int) -> None:
    assert floor([Incident("c", n, m, a, b) for n, m, a, b in found], until=6000.0) == expected
