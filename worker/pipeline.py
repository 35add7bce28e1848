"""One scan of one cluster without Celery: collect -> rules -> noise path -> one Redis commit.

The Celery task (tasks/scan.py), the cluster-removal task and ``nodewatch replay`` all run this same path, so what
the replay measures is what production does.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from worker import clusters, settings
from worker.collect import errors as collect_errors
from worker.collect import reader
from worker.collect.options import MIB, CollectOptions, ScanStats, seconds
from worker.model import ClusterSample, Finding, NodeSample, Notification, NotificationKind, Severity
from worker.model.alerts import AlertState
from worker.rules import cluster as cluster_rules
from worker.rules import muting, noise, storms
from worker.rules.evaluate import evaluate
from worker.state import inventory
from worker.state import store as state_store
from worker.state.store import Commit, ScanState, Store

USAGE_RULES = frozenset({"cpu_usage", "memory_usage"})
HEALTH_RULES = ("cluster_unreachable", "credentials_rejected", "cluster_scan_slow")


@dataclass
class ScanResult:
    cluster: str
    outcome: str  # ok | slow | unreachable | credentials_rejected | timeout | config_error
    sample: ClusterSample | None = None
    findings: list[Finding] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)  # notification ids queued
    error: str = ""
    stats: ScanStats = field(default_factory=ScanStats)
    read_s: float = 0.0  # wall time of the Kubernetes reads
    redis_round_trips: int = 0

    def record(self) -> dict[str, Any]:
        """The scan's cost, for its scan record (``cluster list``, the fleet benchmark)."""
        return {
            **self.stats.as_record(),
            "read_total_s": round(self.read_s, 3),
            "redis_rt": self.redis_round_trips,
        }


def scan_budget(spec: clusters.ClusterSpec) -> float:
    """Seconds a scan of this cluster may take: its ``scanBudget``, else its interval."""
    return spec.scan_budget or spec.interval


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
    open_nodes = {st.node for st in prev.values() if st.rule in USAGE_RULES}

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


def _notification(o: noise.Outgoing, now: float, node_group: str = "") -> Notification:
    f, kind, st = o.finding, o.kind, o.state
    started = st.fired_at or st.since
    # deterministic ids: two workers committing the same transition store (and send) it once
    nid = f"{f.fingerprint}-{int(started)}-{kind.value}"
    if kind in (NotificationKind.REPEAT, NotificationKind.ESCALATED, NotificationKind.FLAP_ENDED):
        nid += f"-{int(now)}"
    params = dict(f.params)
    params.setdefault("value", f.value)
    params.setdefault("threshold", f.threshold)
    if node_group:
        params["node_group"] = node_group  # routes may match on it
    if kind == NotificationKind.RESOLVED:
        params.setdefault("resolved_reason", o.reason)
    if kind in (NotificationKind.FLAPPING, NotificationKind.FLAP_ENDED):
        params["flap"] = o.reason
        params["now_firing"] = f.severity is not None
    severity = f.severity or st.sent_severity or st.severity
    return Notification(
        id=nid,
        kind=kind,
        cluster=f.cluster,
        node=f.node,
        rule=f.rule,
        severity=severity,
        summary=f.summary,
        params=params,
        started_at=started,
        created_at=now,
        fingerprint=f.fingerprint,
    )


def _group_storms(
    store: Store, cfg: settings.Settings, cluster: str, notes: list[Notification], now: float
) -> tuple[list[Notification], list[tuple[str, str]]]:
    """Storm handling (decided by ``storms.plan``): read which storms are on, apply the plan, and flush the
    group buffers of storms whose interval has ended."""
    active = store.storms_active(cluster, storms.rules_of(notes))
    p = storms.plan(notes, active, cfg.noise.storm_min, cfg.noise.group_interval)
    for rule in p.start:
        store.start_storm(cluster, rule, cfg.noise.group_interval)
    store.buffer_for_group(cluster, p.wait)
    flushed = store.take_group_buffers(cluster, skip_rules=active)
    out = [
        msg[0] if len(msg) == 1 else storms.grouped(cluster, msg[0].rule, list(msg), now)
        for msg in [*p.messages, *(tuple(members) for members in flushed.values())]
    ]
    return out, p.why


def cluster_health(
    cfg: settings.Settings, name: str, outcome: str, error: str, failures: int, slow: str = ""
) -> list[Finding]:
    """The cluster's own alerts from this scan's outcome and the failed scans in a row (``failures``):
    ``cluster_unreachable`` / ``credentials_rejected`` / ``cluster_scan_slow`` (critical: scans time out) after
    ``scanFailuresBeforeAlert`` failures; ``cluster_scan_slow`` as a warning when a scan worked but took longer
    than its interval (``slow`` says how long). Inactive findings when the scan works, so they resolve."""
    if outcome in ("ok", "slow"):
        out = [Finding(name, "", r, None, summary=f"cluster {name} answers") for r in HEALTH_RULES[:2]]
        if slow:
            out.append(
                Finding(
                    name,
                    "",
                    "cluster_scan_slow",
                    Severity.WARNING,
                    summary=f"cluster {name}: {slow}",
                    params={"reason": slow},
                )
            )
        else:
            out.append(Finding(name, "", "cluster_scan_slow", None, summary=f"cluster {name} scans in time"))
        return out
    if failures < cfg.scan_failures_before_alert:
        return []
    active = {"credentials_rejected": "credentials_rejected", "timeout": "cluster_scan_slow"}.get(
        outcome, "cluster_unreachable"
    )
    return [
        Finding(
            name,
            "",
            r,
            Severity.CRITICAL if r == active else None,
            value=float(failures),
            summary=f"cluster {name}: {error} ({failures} consecutive failed scans)",
            params={"reason": error, "failures": failures},
        )
        for r in HEALTH_RULES
    ]


def advance(
    store: Store,
    cfg: settings.Settings,
    cluster: str,
    prev: dict[str, AlertState],
    findings: list[Finding],
    sample: ClusterSample | None,
    now: float,
    removed_reason: str = "",
    cluster_labels: Mapping[str, str] | None = None,
    state: ScanState | None = None,
) -> list[str]:
    """Run the findings through the noise path and commit; returns the notification ids to send.

    ``sample`` None means the scan failed: node alerts then stay as they are (an unreachable cluster must not
    produce a false "all resolved"), and only the cluster-health findings advance.
    """
    flaps = state.flaps if state is not None else store.load_flaps(cluster)
    # an inactive finding with no alert state and no flap record changes nothing (most of a healthy cluster's
    # ~17 findings per node): leave it out before the noise path
    findings = [
        f for f in findings if f.severity is not None or f.fingerprint in prev or f.fingerprint in flaps
    ]
    fps = [
        f.fingerprint for f in findings if f.fingerprint in prev and prev[f.fingerprint].status == "firing"
    ]
    spec_labels = dict(cluster_labels or {})
    ctx = noise.Context(
        now=now,
        cooldowns=frozenset(store.cooldowns(cluster, fps)),
        flaps=flaps,
        silences=state.silences if state is not None else store.silences(now),
        maintenance=muting.in_maintenance(cfg.maintenance_windows(cluster), now),
        inhibit=cfg.noise.inhibit_rules(),
        labels={n.name: {**spec_labels, **n.labels} for n in sample.nodes} if sample else {},
        # an unreadable node is still a node of the cluster: its alerts are not closed as "node removed"
        node_names=frozenset([*(n.name for n in sample.nodes), *sample.unreadable]) if sample else None,
        flap_policy=cfg.noise.flap_policy(),
        send_resolved=cfg.notify.send_resolved,
        removed_reason=removed_reason,
        keep_firing_for=cfg.noise.keep_firing_for,
    )
    p = noise.plan(cluster, prev, findings, ctx)
    groups = {n.name: cfg.node_group_of(cluster, n.labels) for n in sample.nodes} if sample else {}
    notes, why = _group_storms(
        store, cfg, cluster, [_notification(o, now, groups.get(o.finding.node, "")) for o in p.outgoing], now
    )
    commit = Commit(
        repeat_s=cfg.repeat_interval,
        upsert=p.upsert,
        delete=p.delete,
        flaps=p.flaps,
        notifications=notes,
        cooldown_start=p.cooldown_start,
        cooldown_clear=p.cooldown_clear,
        why=p.why + why,
    )
    return store.commit(cluster, commit)


def run_scan(store: Store, cfg: settings.Settings, spec: clusters.ClusterSpec, now: float) -> ScanResult:
    """One scan of one cluster, end to end but without Celery: the task below and the replay both call it.

    Redis: one round trip reads the state, one writes the inventory and failure count, one Lua script commits
    the alert transitions (plus one for cooldowns and storms when something fires)."""
    rt_before = state_store.round_trips.count
    now_dt = datetime.fromtimestamp(now, UTC)
    result = ScanResult(spec.name, "ok")
    state = store.load_scan_state(spec.name, now)
    with reader.gc_paused():  # a scan allocates ~20 objects per pod, none in cycles: see reader.gc_paused
        return _scan(store, cfg, spec, now, now_dt, state, result, rt_before)


def _scan(
    store: Store,
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
        result.findings = evaluate(
            sample,
            lambda n: cfg.thresholds_for(spec.name, n.labels, spec.threshold_profile),
            firing,
            now_dt,
            previous=previous,
            last_ready=last_ready,
        )
        inv = inventory.diff(
            state.inventory, sample, cluster_rules.update_last_ready(last_ready or {}, sample)
        )
    failures = store.save_scan(spec.name, inv)
    result.findings += cluster_health(cfg, spec.name, result.outcome, result.error, failures, slow)
    result.sent = advance(
        store,
        cfg,
        spec.name,
        prev,
        result.findings,
        result.sample,
        now,
        cluster_labels=spec.labels,
        state=state,
    )
    result.redis_round_trips = state_store.round_trips.count - rt_before
    return result


def scan_failed(
    store: Store, cfg: settings.Settings, spec: clusters.ClusterSpec, now: float, outcome: str, error: str
) -> list[str]:
    """A scan that died outside the reads (the task's time limit): counted as a failed scan, so a cluster that
    cannot be scanned alerts like an unreachable one instead of going quiet. Returns notification ids."""
    failures = store.save_scan(spec.name, None)
    health = cluster_health(cfg, spec.name, outcome, error, failures)
    prev = store.load_alerts(spec.name)
    return advance(store, cfg, spec.name, prev, health, None, now, cluster_labels=spec.labels)
