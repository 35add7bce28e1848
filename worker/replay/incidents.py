"""Replay scoring, pure: ground-truth incidents from sampled series, and how a policy's notifications met them.

An incident is a maximal period in which a node's true usage stays above its critical threshold for
at least 10 minutes, dips shorter than 10 minutes merged, or in which a node is not Ready for at least 5
minutes (read literally: no merging for readiness, so a node flapping in 2-minute steps is noise, not an
incident; ``merge_gap`` changes that). Samples are taken once per scan interval; a bad sample at ``t`` covers
``[t, t + step)``. No I/O and no clock: everything is handed in.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from worker.model import rules as registry

MIN_DURATION: dict[str, float] = {"cpu": 600.0, "memory": 600.0, "disk": 600.0, "ready": 300.0}
MERGE_GAP: dict[str, float] = {"cpu": 600.0, "memory": 600.0, "disk": 600.0, "ready": 0.0}
# which notification rules speak about which ground-truth metric (the rule registry's ``metric``)
METRIC_RULES: dict[str, tuple[str, ...]] = {metric: registry.by_metric(metric) for metric in MIN_DURATION}
# kinds that never count as detecting anything
NOT_DETECTING = frozenset({"resolved", "test"})


@dataclass(frozen=True)
class TruthPoint:
    """One ground-truth reading of one node's metric: is it bad (above critical / not Ready) at ``t``?"""

    t: float
    cluster: str
    node: str
    metric: str
    bad: bool


@dataclass(frozen=True)
class Incident:
    cluster: str
    node: str
    metric: str
    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Sent:
    """One notification a policy would have sent. ``nodes`` lists every node it speaks about (a grouped
    message names several); ``node`` alone is the usual case."""

    t: float
    cluster: str
    rule: str
    kind: str
    severity: str
    nodes: tuple[str, ...]


@dataclass
class Figures:
    incidents: int
    detected: int
    missed: int
    notifications: int
    notifications_per_incident: float | None
    median_detection_delay_s: float | None
    missed_incidents: list[Incident] = field(default_factory=list)
    delays: list[float] = field(default_factory=list)
    by_rule_kind: dict[str, int] = field(default_factory=dict)

    def summary(self) -> dict[str, object]:
        return {
            "incidents": self.incidents,
            "detected": self.detected,
            "missed": self.missed,
            "notifications": self.notifications,
            "notifications_per_incident": self.notifications_per_incident,
            "median_detection_delay_s": self.median_detection_delay_s,
        }


def periods(
    samples: Sequence[tuple[float, bool]], step: float, merge_gap: float, min_duration: float
) -> list[tuple[float, float]]:
    """Bad periods of one series of (t, bad) samples, sorted by t.

    A missing sample (a gap longer than ``step``) ends a run, like a good one. Runs closer than ``merge_gap``
    are merged (the dip between them included); merged periods shorter than ``min_duration`` are dropped.
    """
    runs: list[list[float]] = []
    last_t: float | None = None
    for t, bad in samples:
        contiguous = last_t is not None and t - last_t <= step * 1.5
        last_t = t
        if not bad:
            continue
        if runs and contiguous and runs[-1][1] == t:
            runs[-1][1] = t + step
        else:
            runs.append([t, t + step])
    merged: list[list[float]] = []
    for run in runs:
        if merged and run[0] - merged[-1][1] < merge_gap:
            merged[-1][1] = run[1]
        else:
            merged.append(list(run))
    return [(a, b) for a, b in merged if b - a >= min_duration]


def incidents(
    truth: Iterable[TruthPoint],
    step: float,
    merge_gap: dict[str, float] | None = None,
    min_duration: dict[str, float] | None = None,
) -> list[Incident]:
    """Every incident in the ground truth, ordered by start (``merge_gap``/``min_duration`` override per metric)."""
    minimum = MIN_DURATION | (min_duration or {})
    gap = MERGE_GAP | (merge_gap or {})
    series: dict[tuple[str, str, str], list[tuple[float, bool]]] = defaultdict(list)
    for p in truth:
        series[(p.cluster, p.node, p.metric)].append((p.t, p.bad))
    out = []
    for (cluster, node, metric), points in series.items():
        points.sort()
        for a, b in periods(points, step, gap.get(metric, 600.0), minimum.get(metric, 600.0)):
            out.append(Incident(cluster, node, metric, a, b))
    return sorted(out, key=lambda i: (i.start, i.cluster, i.node, i.metric))


def _about(s: Sent, inc: Incident) -> bool:
    return s.cluster == inc.cluster and inc.node in s.nodes and s.rule in METRIC_RULES[inc.metric]


def detection_delay(inc: Incident, sent: Sequence[Sent], interval: float, resolves: bool) -> float | None:
    """Seconds from the incident's start to its first notice, or None when it was missed.

    A notice counts from one scan interval before the start (the scan that saw the crossing may precede the
    sampled start) to the end. For a policy that sends resolved notices (``resolves``), an alert about the
    same node and metric that fired earlier and was not resolved by then counts too, with delay 0: the
    on-call person already has it.
    """
    about = sorted((s for s in sent if _about(s, inc)), key=lambda s: s.t)
    window = [s for s in about if inc.start - interval <= s.t <= inc.end and s.kind not in NOT_DETECTING]
    if window:
        return max(0.0, window[0].t - inc.start)
    if resolves:
        open_rules: dict[str, bool] = {}
        for s in about:
            if s.t >= inc.start - interval:
                break
            if s.kind == "resolved":
                open_rules[s.rule] = False
            elif s.kind not in NOT_DETECTING:
                open_rules[s.rule] = True
        if any(open_rules.values()):
            return 0.0
    return None


def score(found: Sequence[Incident], sent: Sequence[Sent], interval: float, resolves: bool) -> Figures:
    """The replay's figures for one policy."""
    delays: list[float] = []
    missed: list[Incident] = []
    for inc in found:
        d = detection_delay(inc, sent, interval, resolves)
        if d is None:
            missed.append(inc)
        else:
            delays.append(d)
    by = Counter(f"{s.rule}:{s.kind}" for s in sent)
    return Figures(
        incidents=len(found),
        detected=len(delays),
        missed=len(missed),
        notifications=len(sent),
        notifications_per_incident=round(len(sent) / len(found), 2) if found else None,
        median_detection_delay_s=round(statistics.median(delays), 1) if delays else None,
        missed_incidents=missed,
        delays=delays,
        by_rule_kind=dict(by.most_common()),
    )
