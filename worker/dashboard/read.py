"""What each page reads from the state stores, in as few round trips as the stores allow: the fleet page is one
pipelined round trip whatever the number of clusters; a cluster page is three (its view, its alerts, the labels
of the nodes on the page); a node page reads its history one metric at a time. Read only: the actions are the
CLI's own functions (worker/cli/alerts.py)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from worker import clusters, settings
from worker.cli import alerts as cli_alerts
from worker.cli import history as cli_history
from worker.cli import story
from worker.dashboard import views
from worker.model import NodeSample
from worker.model.alerts import AlertState, Silence
from worker.model.history import METRICS, Series
from worker.model.thresholds import Thresholds
from worker.predict import kubelet, trend
from worker.state import batch
from worker.state.nodeview import Row, View
from worker.state.store import Stores


class Clusters:
    """The configured clusters (config, clusters directory, hub Secrets), listed again at most every ``ttl_s``:
    a page every few seconds must not list the hub's Secrets each time."""

    def __init__(self, cfg: settings.Settings, ttl_s: float = 15.0) -> None:
        self.cfg = cfg
        self.ttl_s = ttl_s
        self._at = float("-inf")
        self._specs: list[clusters.ClusterSpec] = []

    def specs(self) -> list[clusters.ClusterSpec]:
        if time.monotonic() - self._at > self.ttl_s:
            once = self.cfg.model_copy(update={"hub": self.cfg.hub.model_copy(update={"watch": False})})
            self._specs = list(clusters.load(once).specs)
            self._at = time.monotonic()
        return self._specs

    def spec(self, name: str) -> clusters.ClusterSpec | None:
        return next((s for s in self.specs() if s.name == name), None)

    def names(self) -> list[str]:
        return [s.name for s in self.specs()]


def fleet(stores: Stores, specs: Sequence[clusters.ClusterSpec], now: float) -> list[views.ClusterLine]:
    """Every cluster's line, in one round trip."""
    b = batch.Batch(stores.client)
    parts = [
        (
            spec,
            stores.schedule.read_summary(b, spec.name),
            stores.views.read_summary(b, spec.name),
            stores.alerts.read_all(b, spec.name),
        )
        for spec in specs
    ]
    b.run()
    return [
        views.fleet_line(
            spec.name, sched.value[0], summary.value, alerts.value, spec.interval, now, spec.labels
        )
        for spec, sched, summary, alerts in parts
    ]


def cluster(stores: Stores, name: str) -> tuple[View | None, dict[str, AlertState]]:
    """The cluster's view (every node's row) and its open alerts."""
    return stores.views.load(name), stores.alerts.load(name)


def kept(stores: Stores, name: str, rows: Iterable[Row]) -> dict[str, NodeSample]:
    """The nodes of ``rows`` as the inventory keeps them (labels, taint details): one HMGET for a page."""
    return stores.inventory.named(name, [r.name for r in rows])


@dataclass
class Chart:
    metric: str
    points: list[tuple[float, float]]
    warning: float | None
    critical: float | None
    limit: kubelet.Limit | None
    outcome: trend.Outcome | None


def node_charts(
    cfg: settings.Settings, stores: Stores, cluster: str, node: str, row: Row | None, since: float, now: float
) -> list[Chart]:
    """One chart per metric: the points since ``since`` (thinned by the renderer), the node's warning and
    critical lines, the kubelet's limit and what ``trend.predict`` says of the whole stored history."""
    limits: Thresholds = cli_history.thresholds(cfg, stores, cluster, node)
    out = []
    stored = stores.history.node_series(cluster, node)  # one round trip for the eight
    for metric in METRICS:
        series: Series = stored[metric]
        warn, crit = (
            (getattr(limits, n) for n in cli_history.LINES[metric])
            if metric in cli_history.LINES
            else (None, None)
        )
        limit = kubelet.limit(
            metric,
            memory_capacity=row.memory_capacity if row else 0,
            memory_allocatable=row.memory_allocatable if row else 0,
        )
        outcome = trend.predict(series, limit, now) if limit is not None else None
        points = [(t, v) for t, v in cli_history.points(series) if t >= since]
        out.append(Chart(metric, points, warn, crit, limit, outcome))
    return out


@dataclass
class AlertLine:
    cluster: str
    fingerprint: str
    state: str  # firing | pending | silenced | acknowledged
    alert: AlertState


def alert_lines(stores: Stores, names: Sequence[str], silences: Sequence[Silence]) -> list[AlertLine]:
    """Every open alert of ``names``, filed by ``views.alert_state`` (labels from the inventory, for silences
    that match on labels): two round trips."""
    b = batch.Batch(stores.client)
    got = [(name, stores.alerts.read_all(b, name)) for name in names]
    b.run()
    out = []
    for name, res in got:
        by_fp = res.value
        labels: dict[str, dict[str, str]] = {}
        if any(s.labels for s in silences):
            nodes = sorted({a.node for a in by_fp.values() if a.node})
            labels = {n: s.labels for n, s in stores.inventory.named(name, nodes).items()}
        for fp, a in by_fp.items():
            out.append(AlertLine(name, fp, views.alert_state(a, silences, labels.get(a.node, {}), name), a))
    order = {"firing": 0, "pending": 1, "silenced": 2, "acknowledged": 3}
    return sorted(out, key=lambda x: (order.get(x.state, 9), -x.alert.severity, x.cluster, x.alert.node))


def why(stores: Stores, names: Sequence[str], count: int, tz: tzinfo, now: float) -> list[dict[str, Any]]:
    """The why-stream's last ``count`` entries of each cluster named, newest first (``alerts why``'s reading),
    each with the state it left its alert in and its reason in local time (``story``, as the CLI tells it); the
    repeats of one decision about one alert folded (``views.collapse_why``)."""
    rows = cli_alerts.why_rows(stores, names, None, count)
    for r in rows:
        r["state"] = story.state_after(r["reason"])
        r["text"] = story.humanize(r["reason"], tz, now)
    return views.collapse_why(sorted(rows, key=lambda r: -r["at"]))


def alert_story(
    stores: Stores, names: Sequence[str], fp: str, lines: Sequence[AlertLine], tz: tzinfo, now: float
) -> list[str]:
    """``nodewatch alerts why FP``'s story of one alert: its headline while open, then one line per decision."""
    decisions = [
        story.Decision(r["at"], r["cluster"], r["reason"]) for r in cli_alerts.why_rows(stores, names, fp)
    ]
    heads = [story.headline(fp, x.cluster, x.alert, tz, now) for x in lines if x.fingerprint == fp]
    return heads + story.lines(decisions, tz, now)
