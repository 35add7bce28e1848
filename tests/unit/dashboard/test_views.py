"""The dashboard's pure decisions from tables with an explicit ``now``: a cluster's status, the fleet's sorting
and filtering, a cluster's nodes filtered, sorted and paged, the heatmap's cells, an alert's state, and the
node view a scan stores (``state.nodeview``)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from worker.dashboard import views
from worker.model import ClusterSample, Condition, NodeSample, Resources, Severity, Taint, Usage
from worker.model.alerts import AlertState, Silence
from worker.state import nodeview
from worker.state.nodeview import Row, Summary

NOW = 1_000_000.0


def summary(warnings: list[str] | None = None) -> Summary:
    return Summary(
        t=NOW - 30, nodes=3, ready=2, cordoned=0, worst={"cpu": (91.0, "n1")}, warnings=warnings or []
    )


@pytest.mark.parametrize(
    ("record", "warnings", "expected"),
    [
        ({}, None, "unknown"),
        ({"outcome": "ok", "ended": str(NOW - 30)}, None, "ok"),
        ({"outcome": "ok", "ended": str(NOW - 30)}, ["metrics API absent"], "degraded"),
        (
            {"outcome": "unreachable", "ended": str(NOW - 30), "error": "unreachable: refused"},
            None,
            "unreachable",
        ),
        ({"outcome": "credentials_rejected", "ended": str(NOW - 30)}, None, "unreachable"),
        ({"outcome": "slow", "ended": str(NOW - 30)}, None, "slow"),
        # three intervals without a scan: the schedule is behind, whatever the last outcome said
        ({"outcome": "ok", "ended": str(NOW - 181)}, None, "slow"),
        ({"outcome": "ok", "ended": str(NOW - 179)}, None, "ok"),
    ],
)
def test_status(record: dict[str, str], warnings: list[str] | None, expected: str) -> None:
    assert views.status(record, summary(warnings), 60.0, NOW)[0] == expected


def alert(
    node: str, rule: str, severity: Severity = Severity.CRITICAL, status: str = "firing", acked: bool = False
) -> AlertState:
    return AlertState(f"fp-{node}-{rule}", node, rule, status, severity, NOW - 100, acked=acked)


def line(
    name: str, record: dict[str, str], alerts: list[AlertState], labels: dict[str, str] | None = None
) -> views.ClusterLine:
    return views.fleet_line(name, record, summary(), {a.fingerprint: a for a in alerts}, 60.0, NOW, labels)


def test_fleet_lines_count_firing_alerts_by_severity_and_sort_worst_first() -> None:
    ok = {"outcome": "ok", "ended": str(NOW - 10), "lag_s": "0.2"}
    lines = [
        line("calm", ok, []),
        line("busy", ok, [alert("a", "cpu_usage"), alert("b", "cpu_usage"), alert("c", "taint", Severity.WARNING),
                          alert("d", "cpu_usage", status="pending")]),
        line("dark", {"outcome": "unreachable", "ended": str(NOW - 10)}, [], {"env": "prod"}),
        line("degraded", ok, [alert("", "cluster_degraded", Severity.WARNING)]),
    ]  # fmt: skip
    busy = lines[1]
    assert busy.firing == {"critical": 2, "warning": 1} and busy.lag_s == 0.2 and busy.age_s == 10
    assert lines[3].status == "degraded"
    assert [c.name for c in views.fleet(lines)] == ["dark", "degraded", "busy", "calm"]
    assert [c.name for c in views.fleet(lines, sort="alerts")][:2] == ["busy", "degraded"]
    assert [c.name for c in views.fleet(lines, q="env=prod")] == ["dark"]
    assert [c.name for c in views.fleet(lines, only="ok")] == ["busy", "calm"]
    assert views.fleet(lines, sort="no-such-column") == views.fleet(lines)


def row(name: str, ready: str = "True", cpu: float | None = 10.0, **kw: object) -> Row:
    values: list[float | None] = [cpu, 20.0, 30.0, None, None, 5.0, 40.0, 50.0]
    base = dict(name=name, group="general", ready=ready, unschedulable=False, taints=[], conditions=[],
                values=values, pods=5, pods_allocatable=110, memory_capacity=0, memory_allocatable=0)  # fmt: skip
    return Row(**{**base, **kw})  # type: ignore[arg-type]


def test_nodes_filtered_sorted_and_paged() -> None:
    rows = [row(f"n{i:04d}", cpu=float(i % 100)) for i in range(250)]
    rows += [
        row("down", ready="Unknown", conditions=["Ready=Unknown"]),
        row("full", conditions=["DiskPressure"]),
    ]
    first = views.nodes(rows)
    assert first[0].name == "down"  # NotReady first by default
    assert [r.name for r in views.nodes(rows, only="pressure")] == ["full"]
    by_cpu = views.nodes(rows, sort="cpu")
    assert by_cpu[0].value("cpu") == 99.0
    assert [r.name for r in views.nodes(rows, q="n0042")] == ["n0042"]
    page = views.page(by_cpu, 3)
    assert (page.number, page.pages, page.total, len(page.rows)) == (3, 3, 252, 52)
    assert views.page(by_cpu, 99).number == 3 and views.page([], 1).pages == 1


def test_heatmap_cells_are_percent_bytes_with_unknown_as_255() -> None:
    cells = base64.b64decode(views.heatmap([row("a", cpu=12.4), row("b", cpu=None)]))
    assert len(cells) == 2 * len(nodeview.METRICS)
    assert cells[0] == 12 and cells[3] == views.MISSING and cells[8] == views.MISSING


def test_an_alert_is_silenced_acknowledged_or_as_it_is() -> None:
    silence = Silence("s-1", ends=NOW + 60, starts=NOW - 60, cluster="prod-*", rule="disk_*")
    disk, cpu = alert("n1", "disk_nodefs"), alert("n1", "cpu_usage")
    assert views.alert_state(disk, [silence], {}, "prod-eu") == "silenced"
    assert views.alert_state(disk, [silence], {}, "dev") == "firing"
    assert views.alert_state(cpu, [silence], {}, "prod-eu") == "firing"
    assert views.alert_state(alert("n1", "cpu_usage", status="pending"), [], {}, "x") == "pending"
    assert views.alert_state(alert("n1", "cpu_usage", acked=True), [silence], {}, "x") == "acknowledged"


def test_thin_keeps_at_most_width_points() -> None:
    pts = [(float(t), float(t % 7)) for t in range(10_000)]
    assert len(views.thin(pts, 300)) == 300 and views.thin(pts[:10], 300) == pts[:10]


def test_the_stored_view_of_a_scan() -> None:
    taken = datetime.fromtimestamp(NOW, UTC)
    nodes = (
        NodeSample("c", "a", labels={"pool": "gpu"}, conditions={"Ready": Condition("Ready", "True"),
                   "DiskPressure": Condition("DiskPressure", "True")}, allocatable=Resources(cpu_m=1000, pods=10),
                   usage=Usage(cpu_m=950, memory=0), pod_count=4, taints=(Taint("k", "NoSchedule"),)),
        NodeSample("c", "b", unschedulable=True, conditions={"Ready": Condition("Ready", "Unknown")},
                   allocatable=Resources(cpu_m=1000, pods=10), usage=Usage(cpu_m=100, memory=0), pod_count=1),
    )  # fmt: skip
    view, summ = nodeview.encode(
        ClusterSample("c", taken, nodes, warnings=("metrics API absent",)),
        lambda labels: labels.get("pool", ""),
    )
    rows = {r.name: r for r in nodeview._view.decode(view).rows}
    assert (
        rows["a"].group == "gpu"
        and rows["a"].conditions == ["DiskPressure"]
        and rows["a"].value("cpu") == 95.0
    )
    assert rows["a"].taints == [("k", "NoSchedule")] and rows["b"].conditions == ["Ready=Unknown"]
    s = nodeview._summary.decode(summ)
    assert (s.nodes, s.ready, s.cordoned, s.t) == (2, 1, 1, NOW)
    assert (
        s.worst["cpu"] == (95.0, "a")
        and s.worst["pods"] == (40.0, "a")
        and s.warnings == ["metrics API absent"]
    )


def test_the_why_stream_folds_one_decision_repeated_about_one_alert() -> None:
    rows = [
        {"at": NOW - i, "cluster": "c", "fp": "a", "reason": f"in cooldown for {300 - i} s"}
        for i in range(60)
    ]
    rows += [{"at": NOW - 5.5, "cluster": "c", "fp": "b", "reason": "silenced by s-1"}]
    rows += [{"at": NOW - 6.5, "cluster": "c", "fp": "", "reason": "cluster removed"}] * 2
    folded = views.collapse_why(sorted(rows, key=lambda r: -r["at"]))
    assert [(r["fp"], r["count"]) for r in folded] == [("a", 60), ("b", 1), ("", 1), ("", 1)]
    assert folded[0]["at"] == NOW and folded[0]["first"] == NOW - 59
