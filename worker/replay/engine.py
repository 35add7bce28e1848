"""Replay: drive kubesim on a manual clock through the real scan path and score nodewatch against the baseline.

Each step advances kubesim's clock by the scan interval, reads the ground truth from its control API, calls the
scan function (``worker.pipeline.run_scan``, which the Celery task runs: collect -> rules -> mute, lifecycle,
flap, storm -> Redis commit) with ``now`` = the simulated time, then the same route and delivery stages as the
worker (``worker.alerting``: routing with the cluster's labels, a route's repeat interval, the delivery log)
with a sink for channel, on the simulated clock. Not applied: receivers' rate limits (their token buckets run
on Redis's clock; the replay counts messages, not their pace). Cooldown keys expire on the simulated clock
(worker/replay/cooldowns.py), so a long incident is repeated as it would be. With no receiver configured every
message goes to one sink receiver. The baseline (worker/replay/baseline.py) sees the same ClusterSamples. Scoring is
worker/replay/incidents.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml

from worker import clusters, settings
from worker.alerting import route
from worker.alerting.deliver import Delivery
from worker.model import ClusterSample, Finding, NodeSample, Notification, history
from worker.model.thresholds import Thresholds
from worker.replay import baseline, forecasts, incidents, mixin
from worker.replay.cooldowns import SimulatedCooldowns
from worker.replay.memory import Memory, measure
from worker.replay.sink import Clock, Sink
from worker.state.store import Stores

DEFAULT_HOURS = 24.0
DEFAULT_START = "2026-01-05T00:00:00Z"  # a fixed start makes daily curves, and so the figures, reproducible
SINK = "replay"  # the receiver every message goes to when the config has none


class ScanOutcome(Protocol):
    outcome: str
    sample: ClusterSample | None
    findings: list[Finding]
    messages: list[Notification]


ScanFn = Callable[[Stores, settings.Settings, clusters.ClusterSpec, float], ScanOutcome]
Message = tuple[str, str, str, str, str]  # receiver, cluster, node, rule, kind: what a receiver got


@dataclass
class Scenario:
    path: Path
    name: str
    seed: int
    start: str
    hours: float
    disk: bool = False  # replay.disk: read the kubelet Summary whatever the config says (disk scenarios)
    metrics: tuple[str, ...] = ()  # replay.metrics: predictive figures shown even when nothing happened
    score_from: float = 0.0  # replay.score_from: predictive figures count from here (history built before)


def _seconds(value: object) -> float:
    """A duration in a scenario file: seconds, or "90s" / "5m" / "48h" / "2d", as kubesim reads its own."""
    text = str(value).strip()
    unit = {"s": 1, "m": 60, "h": 3600, "d": 86400}.get(text[-1:], 0)
    return float(text[:-1]) * unit if unit else float(text)


def resolve(scenario: str) -> Path:
    """A path, or a bare name meaning kubesim/scenarios/NAME.yaml (as kubesim itself resolves it)."""
    from kubesim import scenario as ks

    p = Path(scenario)
    if p.exists():
        return p
    named = ks.SCENARIOS_DIR / f"{scenario}.yaml"
    if named.exists():
        return named
    raise FileNotFoundError(
        f"no scenario {scenario!r} (neither a file nor kubesim/scenarios/{scenario}.yaml)"
    )


def load_scenario(scenario: str, hours: float | None) -> Scenario:
    """The scenario file plus its optional ``replay: {hours: H}`` key (kubesim ignores it)."""
    path = resolve(scenario)
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    replay = data.get("replay") or {}
    start = data.get("start") or DEFAULT_START
    span = float(hours if hours is not None else replay.get("hours", DEFAULT_HOURS))
    check_traces(path, data, span)
    return Scenario(
        path=path,
        name=path.stem,
        seed=int(data.get("seed", 1)),
        start=str(start),
        hours=span,
        disk=bool(replay.get("disk", False)),
        metrics=tuple(str(m) for m in replay.get("metrics") or ()),
        score_from=_seconds(replay.get("score_from", 0)),
    )


def check_traces(path: Path, data: dict[str, Any], hours: float) -> None:
    """Refuse, before anything starts, a replay longer than a trace's recording (unless it says ``loop: true``):
    traces replay at their own timestamps and never wrap around silently."""
    from kubesim import scenario as ks

    for end, what in ks.trace_ends(ks.normalise(data)):
        if end <= hours * 3600:
            raise ValueError(
                f"{path}: {what} ends {end / 3600:.1f} h into the replay, which runs {hours:g} h: "
                "replay fewer hours (replay.hours, --hours), start it at an earlier row, or say loop: true"
            )


@dataclass
class Report:
    scenario: str
    clusters: list[str]
    nodes: int
    hours: float
    interval: float
    steps: int
    wall_s: float
    redis: str
    nodewatch: incidents.Figures
    baseline: incidents.Figures
    found: list[incidents.Incident]
    memory: Memory  # after the replay
    memory_peak: Memory  # at the scan with the most alerts (pending or firing) in Redis
    fingerprints_seen: int
    t0: float = 0.0  # simulated epoch when the replay began; incidents are shown relative to it
    messages: list[Message] = field(default_factory=list)  # every delivery, in order (not in the JSON)
    # predictive alerts: metric -> policy -> figures (None: the policy has no such rule, as node-mixin for memory)
    forecasts: dict[str, dict[str, forecasts.Figures | None]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        def extra(f: incidents.Figures) -> dict[str, Any]:
            return f.summary() | {
                "by_rule_kind": f.by_rule_kind,
                "missed_incidents": [_incident(i, self.t0) for i in f.missed_incidents],
            }

        return {
            "scenario": self.scenario,
            "clusters": self.clusters,
            "nodes": self.nodes,
            "hours": self.hours,
            "interval_s": self.interval,
            "steps": self.steps,
            "wall_s": round(self.wall_s, 1),
            "redis": self.redis,
            "nodewatch": extra(self.nodewatch),
            "baseline": extra(self.baseline),
            "incidents": [_incident(i, self.t0) for i in self.found],
            "redis_memory_end": self.memory.to_json(),
            "redis_memory_peak": self.memory_peak.to_json(),
            "fingerprints_seen": self.fingerprints_seen,
            "predictions": {
                metric: {name: f.summary(self.t0) if f else "n/a" for name, f in policies.items()}
                for metric, policies in self.forecasts.items()
            },
        }


def _incident(i: incidents.Incident, t0: float) -> dict[str, Any]:
    return {
        "cluster": i.cluster,
        "node": i.node,
        "metric": i.metric,
        "start": i.start,
        "at_s": i.start - t0,
        "duration_s": i.duration,
    }


def subjects(n: Notification) -> tuple[str, ...]:
    """The nodes a notification speaks about: its node, plus the members of a grouped message."""
    out = [n.node] if n.node else []
    # worker.rules.storms.grouped puts [{node, ...}] under "group"; ready_drop names its nodes under "dropped"
    for key in ("group", "dropped", "nodes", "members"):
        extra = n.params.get(key)
        if isinstance(extra, list | tuple):
            out += [x if isinstance(x, str) else str(x.get("node", "")) for x in extra if x]
    return tuple(dict.fromkeys(x for x in out if x))


@dataclass
class Truth:
    """Ground truth from kubesim's control API at one moment."""

    points: list[incidents.TruthPoint] = field(default_factory=list)

    def record(
        self, cfg: settings.Settings, cluster: str, node: dict[str, Any], now: float, disk: bool
    ) -> None:
        t = cfg.thresholds_for(cluster, node.get("labels") or {})
        ready = node.get("ready") == "True"
        usage = node.get("usage") or {}
        add = self.points.append
        name = node["name"]
        add(incidents.TruthPoint(now, cluster, name, "ready", not ready))
        # metrics-server drops a node that is not Ready: its usage is not observable, so not an incident
        add(
            incidents.TruthPoint(
                now, cluster, name, "cpu", ready and 100 * usage.get("cpu", 0) >= t.cpu_critical
            )
        )
        add(
            incidents.TruthPoint(
                now, cluster, name, "memory", ready and 100 * usage.get("memory", 0) >= t.memory_critical
            )
        )
        if disk:
            add(
                incidents.TruthPoint(
                    now, cluster, name, "disk", ready and 100 * usage.get("disk", 0) >= t.nodefs_critical
                )
            )


def _thresholds(cfg: settings.Settings, cluster: str) -> Callable[[NodeSample], Thresholds]:
    return lambda node: cfg.thresholds_for(cluster, node.labels)


def _sent(n: Notification, now: float) -> incidents.Sent:
    return incidents.Sent(now, n.cluster, n.rule, n.kind.value, n.severity.label, subjects(n))


def run(
    cfg: settings.Settings,
    scenario: Scenario,
    stores: Stores,
    scan: ScanFn,
    speed: float | None = None,
    redis_origin: str = "",
    progress: Callable[[str], None] | None = None,
) -> Report:
    """Replay ``scenario`` for ``scenario.hours``; ``speed`` None = as fast as possible, else simulated
    seconds per wall-clock second."""
    from kubesim.testing import KubesimProcess

    receivers = list(cfg.endpoints()) or [SINK]
    sink, clock = Sink(), Clock()
    delivery = Delivery(
        stores, cfg, clock=clock, channel=sink.channel, receivers=receivers, rate_limits=False
    )
    messages: list[Message] = []
    labels = {
        c.name: dict(c.labels) for c in cfg.clusters
    }  # a configured cluster of the same name: its labels

    interval = cfg.check_interval
    steps = max(1, int(scenario.hours * 3600 // interval))
    truth = Truth()
    cooldowns = SimulatedCooldowns(stores.client, cfg.repeat_interval)
    nw_sent: list[incidents.Sent] = []
    base_sent: list[incidents.Sent] = []
    base_last: dict[str, float] = {}
    seen: set[str] = set()
    if scenario.disk and not cfg.collect.disk_stats:
        cfg = cfg.model_copy(update={"collect": cfg.collect.model_copy(update={"disk_stats": True})})
    disk = cfg.collect.disk_stats
    started = time.monotonic()
    extra = ["--start", scenario.start]
    with KubesimProcess(scenario.path, speed=0, seed=scenario.seed, extra_args=extra) as sim:
        ctl = sim.control
        t0 = ctl.now()
        names = list(ctl.call("GET", "")["clusters"])
        for c in names:
            stores.clear_cluster(c)
        mixins = {c: mixin.Baseline(c) for c in names}
        specs = {
            c: clusters.ClusterSpec(
                c, interval, str(sim.kubeconfigs[c]), labels=labels.get(c, {}), source="replay"
            )
            for c in names
        }
        nodes_max = 0
        alerts: dict[str, int] = {}
        peak = 0
        memory_peak = Memory()
        for i in range(steps):
            now = ctl.advance(interval)
            for c in names:
                node_names = ctl.cluster(c)["nodes"]
                nodes_max = max(nodes_max, len(node_names))
                for n in node_names:
                    truth.record(cfg, c, ctl.node(c, n), now, disk)
                result = scan(stores, cfg, specs[c], now)
                alerts[c] = len(stores.alerts.load(c))
                seen.update(f.fingerprint for f in result.findings if f.severity is not None)
                clock.now = now
                for job in route.route(stores, cfg, c, specs[c].labels, result.messages, now, receivers):
                    delivery.one(job, 0)
                cooldowns.expire(c, now)  # repeats on the simulated clock, as in production on the real one
                counted: set[str] = set()  # a message counts once, however many receivers got it
                for receiver, n in sink.take():
                    messages.append((receiver, n.cluster, n.node, n.rule, n.kind.value))
                    if n.id not in counted:
                        counted.add(n.id)
                        nw_sent.append(_sent(n, now))
                if result.sample is not None:
                    for node in result.sample.nodes:
                        mixins[c].observe(node.name, history.values(node), now)
                    sent, base_last = baseline.step(result.sample, _thresholds(cfg, c), base_last, now)
                    base_sent += sent
            if sum(alerts.values()) > peak:
                peak = sum(alerts.values())
                memory_peak = measure(stores, names, now - t0)
            if speed:
                lag = started + (i + 1) * interval / speed - time.monotonic()
                if lag > 0:
                    time.sleep(lag)  # pacing to the requested speed, not synchronisation
            if progress and (i + 1) % 240 == 0:
                progress(f"replay {scenario.name}: {(i + 1) * interval / 3600:.0f} h of {scenario.hours:g} h")
        memory = measure(stores, names, now - t0)
        exhausted = [
            x
            for c in names
            for x in forecasts.exhaustions(c, ctl.call("GET", f"/clusters/{c}/kubelet")["events"])
        ]
    found = incidents.incidents(truth.points, interval)
    machine_days = nodes_max * steps * interval / 86400
    return Report(
        scenario=scenario.name,
        clusters=names,
        nodes=nodes_max,
        hours=scenario.hours,
        interval=interval,
        steps=steps,
        wall_s=time.monotonic() - started,
        redis=redis_origin,
        # an incident still bad at the last scan ends at that scan + interval: still going, nothing to resolve
        nodewatch=incidents.score(found, nw_sent, interval, True, machine_days, until=now + interval),
        baseline=incidents.score(found, base_sent, interval, False, machine_days, until=now + interval),
        found=found,
        memory=memory,
        memory_peak=memory_peak,
        fingerprints_seen=len(seen),
        t0=t0,
        messages=messages,
        forecasts=forecasts.figures(
            exhausted,
            nw_sent,
            [a for m in mixins.values() for a in m.finish()],
            (t0 + scenario.score_from, now),
            scenario.metrics,
        ),
    )
