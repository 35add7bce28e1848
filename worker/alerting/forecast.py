"""The prediction stage of a scan: which nodes are worth a prediction now, their history, the kubelet's lines,
and the predicted-exhaustion findings that join the scan's other findings on the same noise path.

Cheap at 5,000 nodes by construction:

- only a metric used at least ``predictFloor`` [60 %] now is predicted (and only where ``predict`` is on): below
  it there is nothing to say, and an open alert resolves ("below the usage floor");
- each node and metric is predicted at most once per 5-minute bucket (worker/predict/findings.py staggers the
  buckets over the 5 minutes); the scan remembers the last prediction in its state (``ScanState.predictions``,
  read with the scan's state, written in its commit) and says it again at the scans in between;
- the history of the nodes due is read in one pipelined round trip per ``READ_BATCH`` nodes (``History.read``;
  a week of one metric decodes to ~0.3 MB of Python objects, so 5,000 nodes read at once held 1.5 GB more:
  bench/README.md, "Predictions in the scan"), the scan's own new sample appended to it in memory (the history
  write comes after the commit);
- the kubelet's config (eviction thresholds, image GC lines) comes from its configz when disk stats are on
  (the same ``nodes/proxy`` permission), read at most once an hour a node (worker/collect/configz.py), else the
  kubelet's documented defaults; the finding's reason says which.

The previous severity handed to ``decide`` (its hysteresis) is the open alert's, pending or firing; the time it
holds that severity through a ``step`` or ``poor_fit`` refusal is the ``eta_at`` of the last active finding, kept
in this memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from worker import clusters, settings
from worker.collect import configz
from worker.collect.options import MIB, CollectOptions, ScanStats
from worker.model import ClusterSample, Finding, NodeSample, fingerprint
from worker.model.alerts import AlertState
from worker.model.history import Series, values
from worker.model.thresholds import Thresholds
from worker.predict import decide, findings, kubelet, trend
from worker.state.predictions import Changes, field_of, split
from worker.state.store import Stores

LOOKBACK_S = trend.PARAMS.lookback_s
READ_BATCH = 200  # nodes whose history is read, and held decoded, at once
# predictions worked out in one scan at most (~9 ms each at a week of history, bench/README.md): a cluster of
# 5,000 nodes all above the floor predicted every node at its first scan (65 s of CPU, longer than the interval);
# the rest wait for the next scans, open alerts first, then the longest unpredicted
MAX_DUE = 600


@dataclass
class Forecast:
    """What the stage adds to the scan: findings, the entries of its memory to write, and what it cost."""

    findings: list[Finding] = field(default_factory=list)
    changes: Changes = field(default_factory=Changes)
    predicted: int = 0  # predictions worked out this scan
    deferred: int = 0  # due but left to a later scan (MAX_DUE)
    histories: int = 0  # nodes whose history was read


@dataclass(frozen=True)
class Due:
    node: NodeSample
    metric: str
    value: float
    thresholds: Thresholds
    last: findings.Cached | None  # the last prediction, as remembered
    open: bool  # an alert of it is open (pending or firing)

    @property
    def before(self) -> Finding | None:
        """The last prediction's finding while it was active."""
        return self.last.finding if self.last else None


def run(
    stores: Stores,
    sample: ClusterSample,
    thresholds_for: Callable[[NodeSample], Thresholds],
    prev: Mapping[str, AlertState],
    memory: Mapping[str, str],
    now: float,
    configs: Callable[[Mapping[str, int]], Mapping[str, configz.Known]],
) -> Forecast:
    """The scan's predicted-exhaustion findings. ``memory``: the raw stored predictions (``ScanState``);
    ``configs``: the kubelet settings of the nodes named ({name: memory capacity}) — ``kubelet_configs``."""
    out = Forecast()
    cached: dict[tuple[str, str], findings.Cached | None] = {}
    for name, raw in memory.items():
        node_name, metric = split(name)
        if metric in findings.RULES:
            cached[(node_name, metric)] = findings.decode(sample.cluster, node_name, metric, raw)
    seen: set[tuple[str, str]] = set()
    due: list[Due] = []
    for node in sample.nodes:
        if node.name in sample.unreadable:
            continue
        figures = values(node)
        if shared_disk(node):
            figures["imagefs"] = None  # one disk: one prediction, nodefs's, against the stricter line
        t: Thresholds | None = None
        for metric, rule in findings.RULES.items():
            value = figures[metric]
            if value is None:
                continue  # not measured (or a shared disk's imagefs): its alert and memory stay as they are
            key = (node.name, metric)
            seen.add(key)
            t = t or thresholds_for(node)
            entry = cached.get(key)
            is_open = fingerprint(sample.cluster, node.name, rule) in prev
            if not t.predict or value < t.predict_floor:
                if key in cached:
                    out.changes.delete.append(field_of(*key))
                if is_open:
                    why = "prediction switched off" if not t.predict else (
                        f"below the usage floor ({value:.1f} % < {t.predict_floor:g} %)"
                    )  # fmt: skip
                    out.findings.append(findings.quiet(node, metric, value, why, t.predict_for))
                continue
            if entry is not None and not entry.due(findings.bucket(node.name, metric, now), value):
                again = entry.again(value)
                if again is not None and (again.severity is not None or is_open):
                    out.findings.append(again)
                continue
            due.append(Due(node, metric, value, t, entry, is_open))
    out.changes.delete += [
        field_of(*key) for key in cached if key not in seen and key[0] not in sample.unreadable
    ]
    due = _most_overdue(due, out)
    if not due:
        return out
    known = configs({d.node.name: d.node.capacity.memory for d in due})
    taken = sample.taken_at.timestamp()
    for d, stored in _histories(stores, sample.cluster, due, now - LOOKBACK_S, out):
        k = known.get(d.node.name)
        config, source = (k.config, k.source) if k else (kubelet.DEFAULTS, "kubelet defaults")
        limit = line(d.node, d.metric, config)
        s = _with_now(stored, taken, d.value)
        outcome = trend.predict(s, limit, now)
        rule = findings.RULES[d.metric]
        open_alert = prev.get(fingerprint(sample.cluster, d.node.name, rule))
        previous = open_alert.severity if open_alert else None
        decision = decide.decide(
            outcome, findings.horizons(d.thresholds), previous, now, findings.hold_until(d.before)
        )
        f = findings.finding(
            d.node,
            d.metric,
            d.value,
            outcome,
            decision,
            limit,
            source,
            now,
            d.thresholds.predict_for,
            d.before,
        )
        out.findings.append(f)
        # kept whole while active or while an open alert must still resolve (with this reason); else the value
        keep = f.severity is not None or open_alert is not None
        entry = findings.Cached(findings.bucket(d.node.name, d.metric, now), f if keep else None, d.value)
        out.changes.set[field_of(d.node.name, d.metric)] = findings.encode(entry)
        out.predicted += 1
    return out


def _most_overdue(due: list[Due], out: Forecast) -> list[Due]:
    """At most ``MAX_DUE`` of the due predictions: open alerts first, then the longest since their last
    prediction (never predicted first). The others say their last finding again, as between predictions, and stay
    due at the next scan."""
    if len(due) <= MAX_DUE:
        return due
    ranked = sorted(due, key=lambda d: (not d.open, d.last.bucket if d.last else -1))
    for d in ranked[MAX_DUE:]:
        again = d.last.again(d.value) if d.last else None
        if again is not None and (again.severity is not None or d.open):
            out.findings.append(again)
    out.deferred = len(ranked) - MAX_DUE
    return ranked[:MAX_DUE]


def _histories(
    stores: Stores, cluster: str, due: list[Due], since: float, out: Forecast
) -> Iterator[tuple[Due, Series]]:
    """Each due prediction, in order, with its stored history: read ``READ_BATCH`` nodes at a time, so that only
    one batch's decoded series are held (counted in ``out.histories``)."""
    by_node: dict[str, list[Due]] = {}
    for d in due:
        by_node.setdefault(d.node.name, []).append(d)
    names = list(by_node)
    for i in range(0, len(names), READ_BATCH):
        wanted = {name: [d.metric for d in by_node[name]] for name in names[i : i + READ_BATCH]}
        series = stores.history.read(cluster, wanted, since)
        out.histories += len(wanted)
        for name in wanted:
            for d in by_node[name]:
                yield d, series.get((name, d.metric), Series())


def shared_disk(node: NodeSample) -> bool:
    """The image filesystem is the node filesystem (same capacity and free bytes: kind, minikube, most managed
    node images), as worker/rules/usage.py tells it."""
    disk = node.disk
    if disk is None or disk.nodefs is None or disk.imagefs is None:
        return False
    return disk.nodefs.capacity == disk.imagefs.capacity and disk.nodefs.available == disk.imagefs.available


def line(node: NodeSample, metric: str, config: kubelet.KubeletConfig) -> kubelet.Limit | None:
    """The kubelet's line for ``metric`` on ``node``. On a shared disk the stricter of nodefs's and imagefs's
    eviction lines (imagefs.available<15 % acts first on that one disk), without image GC's refusal: logs and
    emptyDirs fill it too, and GC cannot free those."""
    if metric == "nodefs" and shared_disk(node):
        own, image = kubelet.limit("nodefs", config), kubelet.limit("imagefs", config)
        if own is not None and image is not None and image.line < own.line:
            return kubelet.Limit(image.line, image.signal)
        return own
    return kubelet.limit(
        metric, config, memory_capacity=node.capacity.memory, memory_allocatable=node.allocatable.memory
    )


def _with_now(series: Series, t: float, value: float) -> Series:
    """The stored series with this scan's sample at its end (written to the history only after the commit)."""
    if series.fine and series.fine[-1][0] >= t:
        return series
    return Series([*series.fine, (t, value)], series.coarse)


def kubelet_configs(
    cfg: settings.Settings, spec: clusters.ClusterSpec, now: float, budget_left: float, stats: ScanStats
) -> Callable[[Mapping[str, int]], Mapping[str, configz.Known]]:
    """The kubelet settings of the nodes asked for, from the process's configz cache. Read only with disk stats
    on (configz needs the same ``nodes/proxy`` permission as the Summary API; without it: the defaults), within
    what is left of the scan budget and a quarter of it at most."""
    api = clusters.api_client(spec, allow_exec=cfg.allow_exec_plugins) if cfg.collect.disk_stats else None
    budget = spec.scan_budget or spec.interval
    c = cfg.collect
    options = CollectOptions(
        request_timeout=c.request_timeout,
        scan_budget=max(1.0, min(budget_left, budget / 4)),
        max_response_bytes=c.max_response_mib * MIB,
        compression=c.compression,
        disk_concurrency=c.disk_concurrency,
    )

    def get(nodes: Mapping[str, int]) -> Mapping[str, configz.Known]:
        return configz.CACHE.get(api, spec.name, nodes, now, options, stats)

    return get
