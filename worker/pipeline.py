"""One scan of one cluster: collect -> rules -> alerting stages -> one Redis commit, then routing.

``run_scan`` is the scan itself; ``scan_cluster`` is what the Celery scan task runs around it (the cluster
looked up, its lock, the routing of what was accepted, the scan record) and ``forget`` what the removal task
runs. ``nodewatch scan`` reads and evaluates as ``run_scan`` does and ``nodewatch replay`` calls ``run_scan`` and
the same routing and delivery stages, so what the replay measures is what production does.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from worker import clusters, settings
from worker.alerting import forecast, route, transitions
from worker.collect import errors as collect_errors
from worker.collect import reader
from worker.collect.options import MIB, CollectOptions, ScanStats, seconds
from worker.model import ClusterSample, Finding, NodeSample, Notification, history
from worker.model import rules as registry
from worker.model.alerts import AlertState
from worker.model.thresholds import Thresholds
from worker.rules import cluster as cluster_rules
from worker.rules import health
from worker.rules.evaluate import evaluate
from worker.state import inventory, nodeview
from worker.state import store as state_store
from worker.state.store import ScanState, Stores

log = logging.getLogger("nodewatch.scan")

# rules whose open alert makes the scan read the node's live pod usage (the top pods their message names)
POD_USAGE_RULES = frozenset(r.name for r in registry.RULES if r.reads_pod_usage)


@dataclass
class ScanResult:
    cluster: str
    outcome: str  # ok | slow | unreachable | credentials_rejected | timeout | config_error
    sample: ClusterSample | None = None
    findings: list[Finding] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)  # ids of the notifications accepted (``messages``)
    messages: list[Notification] = field(default_factory=list)  # accepted, as stored: routing takes them
    error: str = ""
    stats: ScanStats = field(default_factory=ScanStats)
    read_s: float = 0.0  # wall time of the Kubernetes reads
    redis_round_trips: int = 0
    predicted: int = 0  # predictions worked out this scan (worker/alerting/forecast.py)
    deferred: int = 0  # predictions due but left to a later scan (forecast.MAX_DUE)

    def record(self) -> dict[str, Any]:
        """The scan's cost, for its scan record (``cluster list``, the fleet benchmark)."""
        return {
            **self.stats.as_record(),
            "read_total_s": round(self.read_s, 3),
            "redis_rt": self.redis_round_trips,
            "predicted": self.predicted,
            "predictions_deferred": self.deferred,
        }


def scan_budget(spec: clusters.ClusterSpec) -> float:
    """Seconds a scan of this cluster may take: its ``scanBudget``, else its interval."""
    return spec.scan_budget or spec.interval


# the reads stop at the scan budget themselves; Celery's limits are the backstop for the rest of the scan
TIME_LIMIT_SLACK = 15.0


def time_limits(budget: float) -> tuple[float, float]:
    """(soft, hard) Celery time limits of a scan with this budget."""
    return budget + TIME_LIMIT_SLACK, budget + 2 * TIME_LIMIT_SLACK


def collect_options(
    cfg: settings.Settings,
    budget: float = 0.0,
    top_for: Callable[[NodeSample], bool] | None = None,
) -> CollectOptions:
    c = cfg.collect
    return CollectOptions(
        page_size=c.page_size,
        request_timeout=c.request_timeout,
        scan_budget=budget,
        max_response_bytes=c.max_response_mib * MIB,
        compression=c.compression,
        disk_stats=c.disk_stats,
        disk_concurrency=c.disk_concurrency,
        top_pods=c.top_pods,
        top_pods_nodes=c.top_pods_nodes,
        top_for=top_for,
    )


def top_pods_wanted(
    cfg: settings.Settings, spec: clusters.ClusterSpec, prev: Mapping[str, AlertState]
) -> Callable[[NodeSample], bool]:
    """Which nodes are worth live pod usage (the top pods a usage message names): a usage alert pending or
    firing, or cpu/memory at its warning line now. Everyone else costs no pod usage read at all."""
    open_nodes = {st.node for st in prev.values() if st.rule in POD_USAGE_RULES}

    def wanted(node: NodeSample) -> bool:
        if node.name in open_nodes:
            return True
        cpu, memory = node.cpu_pct, node.memory_pct
        if cpu is None and memory is None:
            return False
        t = cfg.thresholds_for(spec.name, node.labels, spec.threshold_profile)
        return (cpu or 0.0) >= t.cpu_warning or (memory or 0.0) >= t.memory_warning

    return wanted


def read(
    cfg: settings.Settings,
    spec: clusters.ClusterSpec,
    now: datetime,
    prev: Mapping[str, AlertState] | None = None,
    stats: ScanStats | None = None,
) -> ClusterSample:
    api = clusters.api_client(spec, allow_exec=cfg.allow_exec_plugins)
    options = collect_options(cfg, scan_budget(spec), top_pods_wanted(cfg, spec, prev or {}))
    return reader.read_cluster(api, spec.name, now, options, stats)


def run_scan(stores: Stores, cfg: settings.Settings, spec: clusters.ClusterSpec, now: float) -> ScanResult:
    """One scan of one cluster, end to end but without Celery: the scan task and the replay both call it.

    Redis: one round trip reads the state, one more per 200 nodes whose prediction is due reads their history
    (when any is: worker/alerting/forecast.py), one Lua script writes everything the scan decided (plus one read of
    cooldowns and one of storm markers when something fires), then one more pipelined round trip records the
    nodes' history (``Stores.record_history``: the history has a Lua script of its own, so it is not folded into
    the commit's). Only a scan that read the cluster records history, and only its readable nodes (those in
    ``sample.unreadable`` record nothing), at the scan's ``taken_at``; a failed scan records nothing."""
    rt_before = state_store.round_trips.count
    now_dt = datetime.fromtimestamp(now, UTC)
    result = ScanResult(spec.name, "ok")
    state = stores.load_scan_state(spec.name, now)
    with reader.gc_paused():  # a scan allocates ~20 objects per pod, none in cycles: see reader.gc_paused
        return _scan(stores, cfg, spec, now, now_dt, state, result, rt_before)


def _scan(
    stores: Stores,
    cfg: settings.Settings,
    spec: clusters.ClusterSpec,
    now: float,
    now_dt: datetime,
    state: ScanState,
    result: ScanResult,
    rt_before: int,
) -> ScanResult:
    prev = state.alerts
    started = time.monotonic()
    slow = ""
    try:
        sample = read(cfg, spec, now_dt, prev, result.stats)
    except clusters.ClusterConfigError as err:
        result.outcome, result.error = "config_error", str(err)
    except collect_errors.CredentialsRejected as err:
        result.outcome, result.error = "credentials_rejected", f"credentials rejected: {err}"
    except collect_errors.ScanTimeout as err:
        result.outcome, result.error = "timeout", f"scan timed out: {err}"
    except collect_errors.ClusterUnreachable as err:
        result.outcome, result.error = "unreachable", f"unreachable: {err}"
    result.read_s = time.monotonic() - started
    inv: inventory.Diff | None = None
    predicted: forecast.Forecast | None = None
    if result.outcome == "ok":
        result.sample = sample
        if result.read_s > spec.interval:
            result.outcome = "slow"
            slow = (
                f"the scan took {seconds(result.read_s)}, longer than its "
                f"{seconds(spec.interval)} interval (scanBudget {seconds(scan_budget(spec))}): "
                "intervals are skipped"
            )
        # pending alerts too: a dip inside the hysteresis band must not restart a for-duration
        firing = {fp: st.severity for fp, st in prev.items()}
        previous, last_ready = inventory.decode(spec.name, state.inventory)

        def thresholds_for(n: NodeSample) -> Thresholds:
            return cfg.thresholds_for(spec.name, n.labels, spec.threshold_profile)

        result.findings = evaluate(
            sample,
            thresholds_for,
            firing,
            now_dt,
            previous=previous,
            last_ready=last_ready,
        )
        inv = inventory.diff(
            state.inventory, sample, cluster_rules.update_last_ready(last_ready or {}, sample)
        )
        configs = forecast.kubelet_configs(cfg, spec, now, scan_budget(spec) - result.read_s, result.stats)
        predicted = forecast.run(stores, sample, thresholds_for, prev, state.predictions, now, configs)
        result.findings += predicted.findings
        result.predicted, result.deferred = predicted.predicted, predicted.deferred
    # the failure count is written in the commit below: under the scan lock, nobody else counts meanwhile
    failures = 0 if inv is not None else state.failures + 1
    result.findings += health.cluster_health(
        cfg.scan_failures_before_alert, spec.name, result.outcome, result.error, failures, slow
    )
    t = transitions.advance(
        stores,
        cfg,
        spec.name,
        state,
        result.findings,
        result.sample,
        now,
        cluster_labels=spec.labels,
        display_name=spec.display_name,
    )
    result.messages = stores.commit_scan(
        spec.name,
        t,
        inventory=inv,
        scan_failed=inv is None,
        predictions=predicted.changes if predicted else None,
    )
    result.sent = [n.id for n in result.messages]
    if result.sample is not None:
        record_history(stores, cfg, result.sample)
    result.redis_round_trips = state_store.round_trips.count - rt_before
    return result


def record_history(stores: Stores, cfg: settings.Settings, sample: ClusterSample) -> None:
    """The scanned nodes' history metrics (``model.history.values``) at the scan's time, unreadable nodes skipped,
    and the dashboard's view of the scan (``state.nodeview``)."""
    points = {n.name: history.values(n) for n in sample.nodes if n.name not in sample.unreadable}
    view = nodeview.encode(sample, lambda labels: cfg.node_group_of(sample.cluster, labels))
    stores.record_history(sample.cluster, sample.taken_at.timestamp(), points, view)


def scan_failed(
    stores: Stores, cfg: settings.Settings, spec: clusters.ClusterSpec, now: float, outcome: str, error: str
) -> list[Notification]:
    """A scan that died outside the reads (the task's time limit): counted as a failed scan, so a cluster that
    cannot be scanned alerts like an unreachable one instead of going quiet. Returns the messages accepted."""
    state = stores.load_scan_state(spec.name, now)
    findings = health.cluster_health(
        cfg.scan_failures_before_alert, spec.name, outcome, error, state.failures + 1
    )
    t = transitions.advance(
        stores,
        cfg,
        spec.name,
        state,
        findings,
        None,
        now,
        cluster_labels=spec.labels,
        display_name=spec.display_name,
    )
    return stores.commit_scan(spec.name, t, scan_failed=True)


def scan_cluster(
    stores: Stores,
    cfg: settings.Settings,
    cluster: str,
    due_at: float | None,
    interrupted: type[BaseException] | tuple[type[BaseException], ...] = (),
    clock: Callable[[], float] = time.time,
) -> list[route.Job]:
    """What the scan task runs: the cluster looked up, its lock taken, one scan, what it accepted routed, the
    scan recorded. ``interrupted``: the exception that says the task's time limit came (Celery's); the scan then
    counts as failed. Returns the (message, receiver) jobs to send."""
    try:
        spec = clusters.find(cfg, cluster)
    except clusters.ClusterSourceError as err:
        log.warning("cluster sources unreadable; scan skipped: %s", err, extra={"cluster": cluster})
        return []
    if spec is None:
        log.info("cluster no longer configured; scan skipped", extra={"cluster": cluster})
        return []
    token = uuid.uuid4().hex
    budget = scan_budget(spec)
    # the lock lives as long as the soft limit: a worker killed mid-scan holds its cluster back that long, not
    # two intervals; a scan still running then is past its budget and only finishing its commit
    if not stores.schedule.acquire_lock(cluster, token, ttl_s=time_limits(budget)[0]):
        log.info("scan already running; skipped", extra={"cluster": cluster, "outcome": "skipped"})
        return []
    started = clock()
    cost: dict[str, object] = {}
    nodes: object = ""
    ready: object = ""
    try:
        result = run_scan(stores, cfg, spec, started)
        jobs = route.route(stores, cfg, cluster, spec.labels, result.messages, clock())
        outcome, error = result.outcome, result.error
        if result.sample:
            nodes = len(result.sample.nodes)
            ready = sum(1 for n in result.sample.nodes if n.ready == "True")
        cost = result.record()
    except interrupted:
        outcome = "timeout"
        error = (
            f"scan exceeded its time limit ({time_limits(budget)[0]:.0f}s: scanBudget {budget:.0f}s + slack)"
        )
        failed = scan_failed(stores, cfg, spec, clock(), outcome, error)
        jobs = route.route(stores, cfg, cluster, spec.labels, failed, clock())
    finally:
        stores.schedule.release_lock(cluster, token)
    ended = clock()
    duration = round(ended - started, 3)
    lag = round(started - due_at if due_at else 0.0, 3)
    stores.schedule.record_scan(
        cluster,
        {"started": started, "ended": ended, "duration_s": duration, "lag_s": lag, "outcome": outcome,
         "error": error, "nodes": nodes, "ready": ready, "interval_s": spec.interval, **cost},
    )  # fmt: skip
    level = logging.INFO if outcome == "ok" else logging.WARNING
    log.log(
        level,
        "scan done" + (f": {error}" if error else ""),
        extra={"cluster": cluster, "outcome": outcome, "duration_s": duration},
    )
    return jobs


REMOVED = "cluster removed"


@dataclass(frozen=True)
class Forgotten:
    status: str  # forgotten | configured | postponed | locked
    retry_in: float | None = None  # try again after this many seconds
    jobs: list[route.Job] = field(default_factory=list)


def forget(
    stores: Stores, cfg: settings.Settings, cluster: str, clock: Callable[[], float] = time.time
) -> Forgotten:
    """What the removal task runs: a cluster left the registry; its open alerts close as "cluster removed" (not
    firing forever) and none of its keys is left without a bound, in one commit under its scan lock (a scan
    still running would write alert states after us). Its nodes' history is deleted too (``History.forget``,
    still under the lock). A node that leaves a cluster still scanned keeps its history until it expires
    (keys.HISTORY_TTL, 8 days after its last sample): `nodewatch history` can still show what it did before it
    went."""
    try:
        back = clusters.find(cfg, cluster) is not None
    except clusters.ClusterSourceError as err:
        log.warning("cluster sources unreadable; forget postponed: %s", err, extra={"cluster": cluster})
        return Forgotten("postponed", retry_in=cfg.dispatch_tick * 2)
    if back:  # removed and added again before this ran: nothing to close
        log.info("cluster is configured again; not forgotten", extra={"cluster": cluster})
        return Forgotten("configured")
    token = uuid.uuid4().hex
    if not stores.schedule.acquire_lock(cluster, token, ttl_s=60):
        return Forgotten("locked", retry_in=cfg.dispatch_tick)
    try:
        now = clock()
        state = stores.load_scan_state(cluster, now)
        t = transitions.advance(stores, cfg, cluster, state, [], None, now, removed_reason=REMOVED)
        stores.history.forget(cluster)  # first: if it fails, the task retries before anything was closed
        closed = stores.commit_scan(cluster, t, forget=True)
    finally:
        stores.schedule.release_lock(cluster, token)
    jobs = route.route(stores, cfg, cluster, {}, closed, clock())
    log.info(
        "cluster removed: its alerts closed, %d notice(s) queued",
        len(closed),
        extra={"cluster": cluster, "outcome": "forgotten"},
    )
    return Forgotten("forgotten", jobs=jobs)
