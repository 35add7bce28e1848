"""Scoring predictive alerts, pure: when nodes really reached the kubelet's limit, and how early each policy said so.

- An **exhaustion** is a node's metric reaching the kubelet's limit: kubesim's kubelet logs each hard-eviction
  crossing (``nodefs.available<10%``, ``imagefs.available<15%`` once image GC could not free enough,
  ``nodefs.inodesFree<5%``, ``memory.available<100Mi``: the lines of worker/predict/kubelet.py for the simulated
  kubelet config), at its 10-s housekeeping, so one crossing between two scans is not lost. Crossings of one node
  and metric closer than ``MERGE_S`` (the kubelet's 5-minute pressure transition period) are one exhaustion.
- An **alarm** is one firing episode of a predictive alert for a node and metric at one severity
  (``mixin.Alarm``); its horizon is 24 h for a warning, 4 h for a critical one (both policies' horizons).
- An exhaustion is **predicted** when an alarm for its node and metric started after the previous exhaustion and
  before it, and was still firing within ``GRACE_S`` of it; its **lead time** is from the earliest such alarm's
  start. The median over predicted exhaustions is ``median_lead_time_s``.
- An alarm is **false** when its node and metric reach no limit within its horizon plus 25 % of its start;
  **undecided** when that window runs past the end of the replay and nothing was reached (counted apart, never
  false).
- **Pooled** over several scenarios (``pooled``): every exhaustion's lead time and every alarm of a policy
  together, over the metrics node-mixin covers (the comparison) and, for nodewatch, over all metrics; the JSON
  carries each exhaustion's lead time (``lead_times_s``) so that separate runs pool the same (``from_summary``).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from worker.replay import mixin
from worker.replay.incidents import Sent
from worker.replay.mixin import HORIZON_S, Alarm

MERGE_S = 300.0
GRACE_S = 300.0
MARGIN = 0.25
# nodewatch's predictive rules and the history metric each speaks about
RULES = {
    "nodefs_fill_predicted": "nodefs",
    "imagefs_fill_predicted": "imagefs",
    "inodes_fill_predicted": "inodes",
    "memory_fill_predicted": "memory",
    "pods_fill_predicted": "pods",
}
METRICS = ("nodefs", "imagefs", "inodes", "memory")
# kubesim's usage slot names -> the history metric
FROM_KUBESIM = {"disk": "nodefs", "imagefs": "imagefs", "inodes": "inodes", "memory": "memory"}


@dataclass(frozen=True)
class Exhaustion:
    cluster: str
    node: str
    metric: str
    t: float


@dataclass
class Figures:
    """One policy's figures for one metric of one scenario."""

    exhaustions: int = 0
    predicted: int = 0
    median_lead_time_s: float | None = None
    alarms: int = 0
    false_alarms: int = 0
    undecided: int = 0
    lead_times: list[float] = field(default_factory=list)
    missed: list[Exhaustion] = field(default_factory=list)
    false: list[Alarm] = field(default_factory=list)

    def add(self, other: Figures) -> None:
        """Pool ``other`` into these figures (its lead times with these: the median is over them all)."""
        self.exhaustions += other.exhaustions
        self.alarms += other.alarms
        self.false_alarms += other.false_alarms
        self.undecided += other.undecided
        self.lead_times += other.lead_times
        self.missed += other.missed
        self.false += other.false
        self.predicted = len(self.lead_times)
        self.median_lead_time_s = round(statistics.median(self.lead_times), 1) if self.lead_times else None

    @classmethod
    def from_summary(cls, doc: Mapping[str, Any]) -> Figures:
        """The figures back from ``summary`` (counts and lead times; not which ones were missed or false)."""
        fig = cls(
            alarms=int(doc["alarms"]), false_alarms=int(doc["false_alarms"]), undecided=int(doc["undecided"])
        )
        fig.add(cls(exhaustions=int(doc["exhaustions"]), lead_times=[float(x) for x in doc["lead_times_s"]]))
        return fig

    def summary(self, t0: float = 0.0) -> dict[str, Any]:
        """The figures, and which exhaustions were missed and which alarms were false (times from ``t0``)."""
        return {
            "exhaustions": self.exhaustions,
            "predicted": self.predicted,
            "median_lead_time_s": self.median_lead_time_s,
            "lead_times_s": [round(x, 1) for x in self.lead_times],
            "alarms": self.alarms,
            "false_alarms": self.false_alarms,
            "undecided": self.undecided,
            "missed": [{"node": x.node, "at_s": x.t - t0} for x in self.missed],
            "false": [{"node": a.node, "severity": a.severity, "at_s": a.start - t0} for a in self.false],
        }


def exhaustions(cluster: str, events: Iterable[Mapping[str, Any]]) -> list[Exhaustion]:
    """kubesim's kubelet log (``GET /_sim/clusters/{c}/kubelet``'s events) -> exhaustions, ordered by time."""
    last: dict[tuple[str, str], float] = {}
    out: list[Exhaustion] = []
    for e in sorted(events, key=lambda e: float(e["t"])):
        if e.get("action") != "evict":
            continue
        metric = FROM_KUBESIM.get(str(e["metric"]), str(e["metric"]))
        key, t = (str(e["node"]), metric), float(e["t"])
        if key not in last or t - last[key] > MERGE_S:
            out.append(Exhaustion(cluster, key[0], metric, t))
        last[key] = t
    return out


def alarms_from(sent: Iterable[Sent], end: float) -> list[Alarm]:
    """nodewatch's predictive messages -> alarms: a firing (or an escalation to a severity not yet active) starts
    one at that severity, a resolve ends every open one of that node and rule."""
    open_: dict[tuple[str, str, str], dict[str, float]] = defaultdict(
        dict
    )  # (cluster, node, metric) -> sev -> start
    out: list[Alarm] = []
    for s in sorted(sent, key=lambda s: s.t):
        metric = RULES.get(s.rule)
        if metric is None:
            continue
        for node in s.nodes:
            active = open_[(s.cluster, node, metric)]
            if s.kind == "resolved":
                out += [Alarm(s.cluster, node, metric, sev, t0, s.t) for sev, t0 in active.items()]
                active.clear()
            elif s.kind in ("firing", "escalated") and s.severity in HORIZON_S and s.severity not in active:
                active[s.severity] = s.t
    for (cluster, node, metric), active in open_.items():
        out += [Alarm(cluster, node, metric, sev, t0, None) for sev, t0 in active.items()]
    return sorted(out, key=lambda a: (a.start, a.node, a.metric, a.severity))


def score(found: Sequence[Exhaustion], alarms: Sequence[Alarm], metric: str, end: float) -> Figures:
    """One policy's figures for ``metric``; ``end`` is when the replay stopped."""
    fig = Figures()
    mine = [x for x in found if x.metric == metric]
    raised = [a for a in alarms if a.metric == metric]
    by_node: dict[tuple[str, str], list[float]] = defaultdict(list)
    for x in mine:
        by_node[(x.cluster, x.node)].append(x.t)
    fig.exhaustions = len(mine)
    for x in mine:
        before = [t for t in by_node[(x.cluster, x.node)] if t < x.t]
        since = max(before, default=float("-inf"))
        starts = [
            a.start
            for a in raised
            if (a.cluster, a.node) == (x.cluster, x.node)
            and since < a.start < x.t
            and (a.end is None or a.end >= x.t - GRACE_S)
        ]
        if starts:
            fig.lead_times.append(x.t - min(starts))
        else:
            fig.missed.append(x)
    fig.predicted = len(fig.lead_times)
    if fig.lead_times:
        fig.median_lead_time_s = round(statistics.median(fig.lead_times), 1)
    fig.alarms = len(raised)
    for a in raised:
        window = a.start + HORIZON_S[a.severity] * (1 + MARGIN)
        if any(a.start <= t <= window for t in by_node[(a.cluster, a.node)]):
            continue
        if window > end:
            fig.undecided += 1
        else:
            fig.false_alarms += 1
            fig.false.append(a)
    return fig


def figures(
    exhausted: Sequence[Exhaustion],
    nw_sent: Sequence[Sent],
    base: Sequence[Alarm],
    window: tuple[float, float],
    shown: Iterable[str] = (),
) -> dict[str, dict[str, Figures | None]]:
    """Per metric exhausted, alarmed about or ``shown``: nodewatch's and node-mixin's figures (None: no such rule).

    Only exhaustions and alarm starts within ``window`` (start, end) count: before its start the policies build
    the history a node watched for days would have (nodewatch's predictor needs two days to tell a daily cycle)."""
    start, end = window
    exhausted = [x for x in exhausted if x.t >= start]
    nw = [a for a in alarms_from(nw_sent, end) if a.start >= start]
    base = [a for a in base if a.start >= start]
    metrics = {x.metric for x in exhausted} | {a.metric for a in [*nw, *base]} | set(shown)
    return {
        m: {
            "nodewatch": score(exhausted, nw, m, end),
            "baseline": score(exhausted, base, m, end) if m in mixin.METRICS else None,
        }
        for m in METRICS
        if m in metrics
    }


Report = tuple[str, Mapping[str, Mapping[str, Figures | None]]]
ALL = "all scenarios"


def pooled(reports: Iterable[Report]) -> dict[str, dict[str, Figures | None]]:
    """Each policy's figures over every scenario: on node-mixin's metrics (both policies, the comparison), and
    nodewatch's on every metric (node-mixin: n/a)."""
    nw, base, every = Figures(), Figures(), Figures()
    for _, by_metric in reports:
        for metric, policies in by_metric.items():
            every.add(policies.get("nodewatch") or Figures())
            if metric in mixin.METRICS:
                nw.add(policies.get("nodewatch") or Figures())
                base.add(policies.get("baseline") or Figures())
    return {
        "+".join(mixin.METRICS): {"nodewatch": nw, "baseline": base},
        "all": {"nodewatch": every, "baseline": None},
    }


def table(reports: Iterable[Report]) -> str:
    """(scenario, figures) pairs as a Markdown table, per scenario and metric: nodewatch, then node-mixin's rule;
    with several scenarios, the figures pooled over them all last (``pooled``)."""
    scenarios = list(reports)
    if len(scenarios) > 1:
        scenarios.append((ALL, pooled(scenarios)))
    rows = [
        "| scenario | metric | policy | exhaustions | predicted | median lead time s | alarms | false alarms "
        "| undecided |\n|---|---|---|---|---|---|---|---|---|"
    ]
    for scenario, by_metric in scenarios:
        for metric, policies in by_metric.items():
            for name, f in policies.items():
                if f is None:
                    rows.append(f"| {scenario} | {metric} | {name} | n/a | n/a | n/a | n/a | n/a | n/a |")
                    continue
                lead = "-" if f.median_lead_time_s is None else f"{f.median_lead_time_s:.0f}"
                rows.append(
                    f"| {scenario} | {metric} | {name} | {f.exhaustions} | {f.predicted} | {lead} | {f.alarms} "
                    f"| {f.false_alarms} | {f.undecided} |"
                )
    return "\n".join(rows)
