"""Replay scoring, pure: ground-truth incidents from sampled series, and how a policy's notifications met them.

An incident is a maximal period in which a node's true usage stays above its critical threshold for
at least 10 minutes, dips shorter than 10 minutes merged, or in which a node is not Ready for at least 5
minutes (read literally: no merging for readiness, so a node flapping in 2-minute steps is noise, not an
incident; ``merge_gap`` changes that). Samples are taken once per scan interval; a bad sample at ``t`` covers
``[t, t + step)``. No I/O and no clock: everything is handed in.

The figures tell the whole truth about a policy: an incident is *paged* (a message about it went out while it
lasted), *already open* (no message, but an alert about it fired earlier and was not resolved: counted apart, and
not in the delays, where it would count as 0 s), or *missed*. An alert *episode* is one alert from its first
message to its resolved notice (a policy that never resolves: its messages about one node and rule less than
``EPISODE_GAP`` apart); its first-page delay is from the start of the first incident it covers, and an episode
that covers none is noise.
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
# kinds that end an alert episode
ENDING = frozenset({"resolved"})
# a policy without resolved notices: its messages about one node and rule this close are one episode (the sketch
# re-pages every 15 minutes while a condition lasts)
EPISODE_GAP = 1800.0
METRIC_OF = {rule: metric for metric, rules in METRIC_RULES.items() for rule in rules}
FAST = ("cpu", "memory")  # the incidents whose first page the targets want within 300 s (NotReady: 180 s)
# incidents that start (or end) this close may share one grouped message in ``floor``: the first-page target, so a
# page never waits longer for company than the target allows
SHARE_WINDOW = 300.0


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


@dataclass(frozen=True)
class Episode:
    """One alert of one node (a grouped message opens one per node it names), first message to resolved."""

    cluster: str
    node: str
    rule: str
    start: float
    end: float | None  # None: still open when the replay ended
    messages: int
    delay: float | None  # first page - start of the first incident it covers; None: it covers none (noise)


@dataclass
class Figures:
    incidents: int
    detected: int  # paged + already open
    missed: int
    notifications: int
    notifications_per_incident: float | None
    median_detection_delay_s: float | None  # over paged incidents only
    missed_incidents: list[Incident] = field(default_factory=list)
    delays: list[float] = field(default_factory=list)
    by_rule_kind: dict[str, int] = field(default_factory=dict)
    already_open: int = 0  # detected only because an alert about it was already open (not in the delays)
    per_machine_day: float | None = None
    median_delay_by_metric: dict[str, float] = field(default_factory=dict)  # "cpu/memory", "ready", "disk"
    episodes: list[Episode] = field(default_factory=list)
    # ``floor`` per machine-day: the fewest messages any policy that pages every incident and resolves it could send
    floor_per_machine_day: float | None = None

    @property
    def noise_episodes(self) -> int:
        return sum(1 for e in self.episodes if e.delay is None)

    @property
    def median_episode_delay_s(self) -> float | None:
        delays = [e.delay for e in self.episodes if e.delay is not None]
        return round(statistics.median(delays), 1) if delays else None

    def summary(self) -> dict[str, object]:
        return {
            "incidents": self.incidents,
            "detected": self.detected,
            "paged": self.detected - self.already_open,
            "already_open": self.already_open,
            "missed": self.missed,
            "notifications": self.notifications,
            "notifications_per_incident": self.notifications_per_incident,
            "notifications_per_machine_day": self.per_machine_day,
            "median_detection_delay_s": self.median_detection_delay_s,
            "median_detection_delay_by_metric_s": self.median_delay_by_metric,
            "episodes": len(self.episodes),
            "noise_episodes": self.noise_episodes,
            "median_episode_delay_s": self.median_episode_delay_s,
            "floor_per_machine_day": self.floor_per_machine_day,
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


def detection(
    inc: Incident, sent: Sequence[Sent], interval: float, resolves: bool
) -> tuple[str, float | None]:
    """("paged", delay) when a notice about ``inc`` went out from one scan interval before its start (the scan
    that saw the crossing may precede the sampled start) to its end; ("open", None) when none did but, for a
    policy that sends resolved notices (``resolves``), an alert about the same node and metric had fired earlier
    and was not resolved (the on-call person already has it); ("missed", None) otherwise."""
    about = sorted((s for s in sent if _about(s, inc)), key=lambda s: s.t)
    window = [s for s in about if inc.start - interval <= s.t <= inc.end and s.kind not in NOT_DETECTING]
    if window:
        return "paged", max(0.0, window[0].t - inc.start)
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
            return "open", None
    return "missed", None


def detection_delay(inc: Incident, sent: Sequence[Sent], interval: float, resolves: bool) -> float | None:
    """Seconds from the incident's start to its first notice (0 when an alert was already open), None if missed."""
    how, delay = detection(inc, sent, interval, resolves)
    return delay if how == "paged" else 0.0 if how == "open" else None


def episodes(
    found: Sequence[Incident], sent: Sequence[Sent], interval: float, resolves: bool
) -> list[Episode]:
    """Every alert episode of the incident-scored rules (METRIC_RULES), with the incidents it covers."""
    runs: dict[tuple[str, str, str], list[list[Sent]]] = defaultdict(list)
    for s in sorted(sent, key=lambda s: s.t):
        if s.rule not in METRIC_OF or s.kind == "test":
            continue
        for node in s.nodes:
            key = (s.cluster, node, s.rule)
            open_ = runs[key][-1] if runs[key] else None
            closed = open_ is None or (
                open_[-1].kind in ENDING if resolves else s.t - open_[-1].t > EPISODE_GAP
            )
            if closed:
                if s.kind in ENDING:
                    continue  # a resolved notice with nothing open (its firing was before the replay)
                runs[key].append([s])
            else:
                open_.append(s)  # type: ignore[union-attr]
    out = []
    for (cluster, node, rule), groups in runs.items():
        metric = METRIC_OF[rule]
        for msgs in groups:
            start = msgs[0].t
            end = msgs[-1].t if (msgs[-1].kind in ENDING or not resolves) else None
            covered = [
                i.start
                for i in found
                if i.cluster == cluster and i.node == node and i.metric == metric
                and i.end >= start - interval and (end is None or i.start <= end + interval)
            ]  # fmt: skip
            delay = max(0.0, start - min(covered)) if covered else None
            out.append(Episode(cluster, node, rule, start, end, len(msgs), delay))
    return sorted(out, key=lambda e: (e.start, e.cluster, e.node, e.rule))


def _windows(times: Iterable[float], window: float) -> int:
    """The fewest windows of ``window`` seconds that hold every time (greedy from the earliest is optimal)."""
    count, opened = 0, None
    for t in sorted(times):
        if opened is None or t - opened > window:
            count, opened = count + 1, t
    return count


def floor(found: Sequence[Incident], until: float | None = None, window: float = SHARE_WINDOW) -> int:
    """The fewest messages of any policy that pages every incident and sends a resolved notice when it ends (an
    incident still going at ``until``, the end of the replay, has none to send).

    Incidents of one node and metric less than ``EPISODE_GAP`` apart may be one alert (one page, one resolved
    notice: an alert kept open across the gap); alerts of one cluster and metric that start within ``window`` of
    the earliest of them may share one grouped page, those that end so one resolved notice. Nothing else can
    share: a different cluster or metric is a different message, and a page that waits longer for company is late.
    """
    alerts: dict[tuple[str, str], list[tuple[str, float, float]]] = defaultdict(list)  # (node, start, end)
    for inc in sorted(found, key=lambda i: (i.cluster, i.metric, i.node, i.start)):
        runs = alerts[(inc.cluster, inc.metric)]
        if runs and runs[-1][0] == inc.node and inc.start - runs[-1][2] < EPISODE_GAP:
            runs[-1] = (inc.node, runs[-1][1], inc.end)
        else:
            runs.append((inc.node, inc.start, inc.end))
    return sum(
        _windows((a for _, a, _ in runs), window)
        + _windows((b for _, _, b in runs if until is None or b < until), window)
        for runs in alerts.values()
    )


def _median(values: Sequence[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def score(
    found: Sequence[Incident],
    sent: Sequence[Sent],
    interval: float,
    resolves: bool,
    machine_days: float | None = None,
    until: float | None = None,
) -> Figures:
    """The replay's figures for one policy (``machine_days``: nodes x days replayed, for messages per machine-day;
    ``until``: the end of the replay, for ``floor``)."""
    delays: list[float] = []
    by_metric: dict[str, list[float]] = defaultdict(list)
    missed: list[Incident] = []
    already = 0
    for inc in found:
        how, d = detection(inc, sent, interval, resolves)
        if how == "missed":
            missed.append(inc)
        elif how == "open":
            already += 1
        elif d is not None:
            delays.append(d)
            by_metric["cpu/memory" if inc.metric in FAST else inc.metric].append(d)
    by = Counter(f"{s.rule}:{s.kind}" for s in sent)
    return Figures(
        incidents=len(found),
        detected=len(found) - len(missed),
        missed=len(missed),
        notifications=len(sent),
        notifications_per_incident=round(len(sent) / len(found), 2) if found else None,
        median_detection_delay_s=_median(delays),
        missed_incidents=missed,
        delays=delays,
        by_rule_kind=dict(by.most_common()),
        already_open=already,
        per_machine_day=round(len(sent) / machine_days, 2) if machine_days else None,
        median_delay_by_metric={k: m for k, v in sorted(by_metric.items()) if (m := _median(v)) is not None},
        episodes=episodes(found, sent, interval, resolves),
        floor_per_machine_day=round(floor(found, until) / machine_days, 2) if machine_days else None,
    )
