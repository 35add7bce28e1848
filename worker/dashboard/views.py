"""What each page shows, decided from plain values: a cluster's status, the fleet's rows sorted and filtered, a
page of a cluster's nodes, the heatmap's cells, an alert's state. Pure: ``now`` is passed in, nothing is read
here (``read`` gathers, ``app`` renders)."""

from __future__ import annotations

import base64
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from worker.model.alerts import AlertState, Silence
from worker.state.nodeview import METRICS, WORST, Row, Summary

# a scan outcome (pipeline.scan_cluster's record) that means the cluster could not be read
UNREACHABLE = {"unreachable", "credentials_rejected", "timeout", "config_error"}
LATE_INTERVALS = 3  # no scan for this many intervals: the schedule is behind (beat dead, workers stuck)
STATUSES = ("unreachable", "slow", "degraded", "ok", "unknown")
SEVERITIES = ("critical", "warning", "info")
PAGE = 100  # nodes per page of the cluster table


def status(
    record: Mapping[str, str], summary: Summary | None, interval: float, now: float
) -> tuple[str, str]:
    """(ok | degraded | unreachable | slow | unknown, why) of a cluster from its last scan record and view."""
    outcome = record.get("outcome", "")
    if not outcome:
        return "unknown", "not scanned yet"
    if outcome in UNREACHABLE:
        return "unreachable", record.get("error") or outcome
    ended = float(record.get("ended") or 0.0)
    if ended and now - ended > LATE_INTERVALS * interval:
        return "slow", f"no scan for {now - ended:.0f} s ({LATE_INTERVALS} intervals of {interval:.0f} s)"
    if outcome != "ok":
        return "slow", record.get("error") or outcome
    if summary is not None and summary.warnings:
        return "degraded", "; ".join(summary.warnings)
    return "ok", ""


@dataclass(frozen=True)
class ClusterLine:
    """One row of the fleet page."""

    name: str
    status: str
    why: str
    nodes: int
    ready: int
    worst: dict[str, tuple[float, str]]
    firing: dict[str, int]  # severity -> count
    age_s: float | None  # since the last scan ended
    lag_s: float | None
    labels: dict[str, str] = field(default_factory=dict)

    def key(self, column: str) -> Any:
        """The value ``column`` sorts by; worst first for figures, alerts and age (a missing figure sorts last)."""
        if column == "name":
            return (self.name,)
        if column == "status":
            return (STATUSES.index(self.status), self.name)
        if column in WORST:
            v = self.worst.get(column)
            return (v is None, -(v[0] if v else 0.0), self.name)
        if column == "alerts":
            return tuple(-self.firing.get(s, 0) for s in SEVERITIES) + (self.name,)
        if column == "nodes":
            return (-(self.nodes - self.ready), -self.nodes, self.name)
        if column == "age":
            return (self.age_s is None, -(self.age_s or 0.0), self.name)
        if column == "lag":
            return (self.lag_s is None, -(self.lag_s or 0.0), self.name)
        raise ValueError(f"unknown column {column!r}")


FLEET_COLUMNS = ("status", "name", "nodes", *WORST, "alerts", "age", "lag")


def firing_by_severity(alerts: Iterable[AlertState]) -> dict[str, int]:
    return dict(Counter(a.severity.label for a in alerts if a.status == "firing"))


def fleet_line(
    name: str,
    record: Mapping[str, str],
    summary: Summary | None,
    alerts: Mapping[str, AlertState],
    interval: float,
    now: float,
    labels: Mapping[str, str] | None = None,
) -> ClusterLine:
    st, why = status(record, summary, interval, now)
    if st == "ok" and any(a.rule == "cluster_degraded" for a in alerts.values()):
        st, why = "degraded", "cluster_degraded"
    ended = float(record.get("ended") or 0.0)
    lag = record.get("lag_s")
    return ClusterLine(
        name=name,
        status=st,
        why=why,
        nodes=summary.nodes if summary else 0,
        ready=summary.ready if summary else 0,
        worst=dict(summary.worst) if summary else {},
        firing=firing_by_severity(alerts.values()),
        age_s=now - ended if ended else None,
        lag_s=float(lag) if lag not in (None, "") else None,
        labels=dict(labels or {}),
    )


def fleet(
    lines: Iterable[ClusterLine], sort: str = "status", q: str = "", only: str = ""
) -> list[ClusterLine]:
    """The fleet's rows: ``q`` in the name or a label (``key=value`` or a value), ``only`` one status, sorted."""
    q = q.strip().lower()
    out = [
        c
        for c in lines
        if (not only or c.status == only)
        and (not q or q in c.name.lower() or any(q in f"{k}={v}".lower() for k, v in c.labels.items()))
    ]
    column = sort if sort in FLEET_COLUMNS else "status"
    return sorted(out, key=lambda c: c.key(column))


# --- the cluster page ---

NODE_COLUMNS = ("name", "group", "ready", *METRICS)


def node_key(column: str) -> Any:
    if column == "name":
        return lambda r: (r.name,)
    if column == "group":
        return lambda r: (r.group, r.name)
    if column == "ready":
        # NotReady and Unknown first, then cordoned, then by name
        return lambda r: (r.ready == "True", not r.unschedulable, not r.conditions, r.name)
    i = METRICS.index(column)
    return lambda r: (r.values[i] is None, -(r.values[i] or 0.0), r.name)


def nodes(rows: Iterable[Row], sort: str = "ready", q: str = "", only: str = "") -> list[Row]:
    """A cluster's nodes: ``q`` in the name, the node group or a condition; ``only``: ``notready``, ``cordoned``,
    ``tainted``, ``pressure``; sorted by ``sort`` (a metric sorts the fullest first)."""
    q = q.strip().lower()
    wanted = {
        "": lambda r: True,
        "notready": lambda r: r.ready != "True",
        "cordoned": lambda r: r.unschedulable,
        "tainted": lambda r: bool(r.taints),
        "pressure": lambda r: any(not c.startswith("Ready") for c in r.conditions),
    }.get(only, lambda r: True)
    out = [
        r
        for r in rows
        if wanted(r)
        and (
            not q or q in r.name.lower() or q in r.group.lower() or any(q in c.lower() for c in r.conditions)
        )
    ]
    return sorted(out, key=node_key(sort if sort in NODE_COLUMNS else "ready"))


@dataclass(frozen=True)
class Page:
    rows: Sequence[Row]
    number: int  # from 1
    pages: int
    total: int


def page(rows: Sequence[Row], number: int, size: int = PAGE) -> Page:
    pages = max(1, -(-len(rows) // size))
    number = min(max(1, number), pages)
    return Page(rows[(number - 1) * size : number * size], number, pages, len(rows))


MISSING = 255


def heatmap(rows: Sequence[Row], metrics: Sequence[str] = METRICS) -> str:
    """The nodes × metrics grid as base64 bytes, a node's metrics in a row, 0..100 percent (255: unknown); the
    page's script paints it on a canvas: 5,000 nodes are 40 KB, not 40,000 elements."""
    idx = [METRICS.index(m) for m in metrics]
    cells = bytearray()
    for r in rows:
        for i in idx:
            v = r.values[i]
            cells.append(MISSING if v is None else max(0, min(100, round(v))))
    return base64.b64encode(bytes(cells)).decode()


# --- alerts ---


def alert_state(a: AlertState, silences: Sequence[Silence], labels: Mapping[str, str], cluster: str) -> str:
    """firing | pending | silenced | acknowledged: what the alerts page files an open alert under."""
    if a.acked:
        return "acknowledged"
    if any(s.matches(cluster, a.node, a.rule, labels) for s in silences):
        return "silenced"
    return a.status


def thin(points: Sequence[tuple[float, float]], width: int) -> list[tuple[float, float]]:
    """At most ``width`` points, each the mean of its share (a chart never ships a whole history)."""
    if len(points) <= width:
        return list(points)
    step = len(points) / width
    out = []
    for i in range(width):
        chunk = points[round(i * step) : round((i + 1) * step)]
        if chunk:
            out.append((sum(t for t, _ in chunk) / len(chunk), sum(v for _, v in chunk) / len(chunk)))
    return out


_DIGITS = re.compile(r"\d+(?:\.\d+)?")


def collapse_why(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The why-stream's entries (newest first) with the repeats of one decision about one alert folded into its
    newest entry (``count``, ``first``): a cooldown held scan after scan is one line, not sixty."""
    out: list[dict[str, Any]] = []
    seen: dict[tuple[str, str, str], dict[str, Any]] = {}
    for r in rows:
        key = (r["cluster"], r.get("fp", ""), _DIGITS.sub("#", r["reason"]))
        if key in seen and r.get("fp"):
            seen[key]["count"] += 1
            seen[key]["first"] = r["at"]
            continue
        seen[key] = dict(r, count=1, first=r["at"])
        out.append(seen[key])
    return out
