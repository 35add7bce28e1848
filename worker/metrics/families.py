"""What /metrics exposes, as Prometheus metric families built from one ``scrape.Snapshot``. Pure: the snapshot,
the node-group lookup and ``now`` are handed in (docs/metrics.md lists every family with its labels and
cardinality).

Per node (labels cluster, node, node_group; dropped with per-node series off): the last scan's usage and request
ratios, disk and inode use, pod slots, Ready, cordon. Per cluster: the last scan (timestamp, duration, lag,
interval, nodes, ready), the scan counters (outcomes, duration and lag histograms), open alerts by rule, severity
and state, what was held back. Fleet-wide: delivery counters per receiver, dead letters, queue lengths.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric

from worker.state import schedule
from worker.state.scrape import ClusterFigures, Snapshot

# history metric (worker/model/history.py) -> the per-node gauge that shows it, as a ratio (0..1)
NODE_RATIOS = {
    "cpu": ("nodewatch_node_cpu_usage_ratio", "CPU usage / allocatable at the last scan (metrics-server)"),
    "memory": ("nodewatch_node_memory_usage_ratio", "Memory working set / allocatable at the last scan"),
    "cpu_requests": ("nodewatch_node_cpu_requests_ratio", "CPU requested by pods / allocatable"),
    "memory_requests": ("nodewatch_node_memory_requests_ratio", "Memory requested by pods / allocatable"),
    "nodefs": ("nodewatch_node_nodefs_used_ratio", "nodefs used (1 - available / capacity, as the kubelet)"),
    "imagefs": ("nodewatch_node_imagefs_used_ratio", "imagefs used (1 - available / capacity)"),
    "inodes": ("nodewatch_node_inodes_used_ratio", "nodefs inodes used / total"),
    "pods": ("nodewatch_node_pods_used_ratio", "pods scheduled / pod capacity"),
}
NODE_LABELS = ["cluster", "node", "node_group"]

NodeGroup = Callable[[str, Mapping[str, str]], str]


def _float(record: Mapping[str, str], key: str) -> float | None:
    try:
        return float(record[key])
    except (KeyError, ValueError):
        return None


def families(snapshot: Snapshot, node_group: NodeGroup, node_series: bool = True) -> Iterator[Metric]:
    """Every family /metrics shows, from ``snapshot``."""
    if node_series:
        yield from _nodes(snapshot, node_group)
    yield from _clusters(snapshot)
    yield from _histograms(snapshot)
    yield from _alerts(snapshot)
    yield from _delivery(snapshot)


def _nodes(snapshot: Snapshot, node_group: NodeGroup) -> Iterator[Metric]:
    gauges = {m: GaugeMetricFamily(name, doc, labels=NODE_LABELS) for m, (name, doc) in NODE_RATIOS.items()}
    ready = GaugeMetricFamily(
        "nodewatch_node_ready", "1 if the node was Ready at the last scan", labels=NODE_LABELS
    )
    cordoned = GaugeMetricFamily(
        "nodewatch_node_unschedulable", "1 if the node is cordoned (spec.unschedulable)", labels=NODE_LABELS
    )
    for c in snapshot.clusters:
        for name, n in (c.nodes or {}).items():
            labels = [c.name, name, node_group(c.name, n.labels)]
            ready.add_metric(labels, 1.0 if n.ready == "True" else 0.0)
            cordoned.add_metric(labels, 1.0 if n.unschedulable else 0.0)
            for metric, pct in n.percent.items():
                if metric in gauges:
                    gauges[metric].add_metric(labels, round(pct / 100.0, 6))
    yield from gauges.values()
    yield ready
    yield cordoned


def _clusters(snapshot: Snapshot) -> Iterator[Metric]:
    def gauge(name: str, doc: str) -> GaugeMetricFamily:
        return GaugeMetricFamily(name, doc, labels=["cluster"])

    last = gauge("nodewatch_last_scan_timestamp", "When the cluster's last scan ended (any outcome), epoch s")
    ok = gauge("nodewatch_last_scan_success", "1 if the last scan read the cluster (outcome ok or slow)")
    duration = gauge("nodewatch_last_scan_duration_seconds", "Wall time of the last scan")
    lag = gauge("nodewatch_last_scan_lag_seconds", "How late the last scan started after its due time")
    interval = gauge("nodewatch_scan_interval_seconds", "The cluster's scan interval (from its last scan)")
    due = gauge("nodewatch_next_scan_due_timestamp", "When the next scan is due (the dispatcher moves it on)")
    nodes = gauge("nodewatch_cluster_nodes", "Nodes listed by the last scan that read the cluster")
    ready = gauge("nodewatch_cluster_nodes_ready", "Nodes Ready at the last scan that read the cluster")
    outcomes = CounterMetricFamily(
        "nodewatch_scans", "Scans by outcome (ok, slow, unreachable, credentials_rejected, timeout, config_error)",
        labels=["cluster", "outcome"],
    )  # fmt: skip
    for c in snapshot.clusters:
        s = c.status
        for family, key in (
            (last, "ended"),
            (duration, "duration_s"),
            (lag, "lag_s"),
            (interval, "interval_s"),
        ):
            v = _float(s, key)
            if v is not None:
                family.add_metric([c.name], v)
        if s.get("outcome"):
            ok.add_metric([c.name], 1.0 if s["outcome"] in ("ok", "slow") else 0.0)
        if c.next_due is not None:
            due.add_metric([c.name], c.next_due)
        for family, key in ((nodes, "nodes"), (ready, "ready")):
            v = _float(s, key)
            if v is not None:
                family.add_metric([c.name], v)
        for field, value in c.counts.items():
            if field.startswith("outcome:"):
                outcomes.add_metric([c.name, field.removeprefix("outcome:")], float(value))
    yield from (last, ok, duration, lag, interval, due, nodes, ready, outcomes)


def _histogram(
    c: ClusterFigures, name: str, bounds: tuple[float, ...]
) -> tuple[list[tuple[str, float]], float]:
    """Prometheus's cumulative buckets from the per-bucket counts ``schedule.record_scan`` writes."""
    running, buckets = 0.0, []
    for i, bound in enumerate(bounds):
        running += float(c.counts.get(f"{name}:{i}", 0))
        buckets.append((repr(bound), running))
    running += float(c.counts.get(f"{name}:inf", 0))
    buckets.append(("+Inf", running))
    return buckets, float(c.counts.get(f"{name}_sum", 0.0))


def _histograms(snapshot: Snapshot) -> Iterator[Metric]:
    duration = HistogramMetricFamily(
        "nodewatch_scan_duration_seconds", "Scan wall time (lock to record)", labels=["cluster"]
    )
    lag = HistogramMetricFamily(
        "nodewatch_scan_lag_seconds", "How late scans start after their due time", labels=["cluster"]
    )
    for c in snapshot.clusters:
        if not c.counts:
            continue
        for family, name, bounds in (
            (duration, "duration", schedule.DURATION_BUCKETS),
            (lag, "lag", schedule.LAG_BUCKETS),
        ):
            buckets, total = _histogram(c, name, bounds)
            family.add_metric([c.name], buckets, total)
    yield duration
    yield lag


def _alerts(snapshot: Snapshot) -> Iterator[Metric]:
    open_ = GaugeMetricFamily(
        "nodewatch_alerts", "Open alerts (pending or firing) by rule and severity",
        labels=["cluster", "rule", "severity", "state"],
    )  # fmt: skip
    suppressed = CounterMetricFamily(
        "nodewatch_notifications_suppressed",
        "Messages held back, by reason; receiver is empty where the hold came before routing (silence, "
        "inhibition, cooldown...) and cluster is empty for a receiver's rate limit",
        labels=["cluster", "receiver", "reason"],
    )
    for c in snapshot.clusters:
        counted: dict[tuple[str, str, str], int] = {}
        for a in c.alerts:
            key = (a.rule, a.severity, a.status)
            counted[key] = counted.get(key, 0) + 1
        for (rule, severity, state), n in sorted(counted.items()):
            open_.add_metric([c.name, rule, severity, state], float(n))
        for field, value in c.counts.items():
            if field.startswith("suppressed:"):
                _, reason, receiver = field.split(":", 2)
                suppressed.add_metric([c.name, receiver, reason], float(value))
    for stat, n in snapshot.stats.items():
        if stat.startswith("held:"):
            suppressed.add_metric(["", stat.removeprefix("held:"), "rate_limited"], float(n))
    yield open_
    yield suppressed


def _delivery(snapshot: Snapshot) -> Iterator[Metric]:
    sent = CounterMetricFamily(
        "nodewatch_notifications_sent", "Messages delivered, by receiver", labels=["receiver"]
    )
    failed = CounterMetricFamily(
        "nodewatch_notifications_failed",
        "Failed sends by receiver: retried (will be tried again) or dead_lettered (given up, or undeliverable)",
        labels=["receiver", "outcome"],
    )
    digests = CounterMetricFamily(
        "nodewatch_notification_digests", "Digests sent (rate-limited messages as one)", labels=["receiver"]
    )
    for stat, value in sorted(snapshot.stats.items()):
        kind, _, receiver = stat.partition(":")
        if kind == "delivered":
            sent.add_metric([receiver], float(value))
        elif kind == "retried":
            failed.add_metric([receiver, "retried"], float(value))
        elif kind == "deadlettered":
            failed.add_metric([receiver, "dead_lettered"], float(value))
        elif kind == "digests":
            digests.add_metric([receiver], float(value))
    dead = GaugeMetricFamily(
        "nodewatch_dead_letters", "Messages in the dead-letter list (nodewatch deadletters)"
    )
    dead.add_metric([], float(snapshot.dead_letters))
    queues = GaugeMetricFamily(
        "nodewatch_queue_length", "Tasks waiting in each Celery queue", labels=["queue"]
    )
    for q, n in snapshot.queues.items():
        queues.add_metric([q], float(n))
    yield from (sent, failed, digests, dead, queues)
