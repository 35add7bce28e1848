"""``scan_cluster``: read one cluster, evaluate its nodes, advance alert lifecycles, queue notifications."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from celery.exceptions import SoftTimeLimitExceeded

from tasks import context
from worker import clusters, settings
from worker.app import app
from worker.collect import errors as collect_errors
from worker.collect import reader
from worker.model import ClusterSample, Finding, Notification, NotificationKind, Severity
from worker.rules import cluster as cluster_rules
from worker.rules import lifecycle
from worker.rules.evaluate import evaluate
from worker.state.store import Store

log = logging.getLogger("nodewatch.scan")


@dataclass
class ScanResult:
    cluster: str
    outcome: str  # ok | unreachable | credentials_rejected | config_error
    sample: ClusterSample | None = None
    findings: list[Finding] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)  # notification ids queued
    error: str = ""


def collect_options(cfg: settings.Settings) -> reader.CollectOptions:
    c = cfg.collect
    return reader.CollectOptions(
        page_size=c.page_size,
        request_timeout=c.request_timeout,
        disk_stats=c.disk_stats,
        disk_concurrency=c.disk_concurrency,
        top_pods=c.top_pods,
    )


def read(cfg: settings.Settings, spec: clusters.ClusterSpec, now: datetime) -> ClusterSample:
    api = clusters.api_client(spec, allow_exec=cfg.allow_exec_plugins)
    return reader.read_cluster(api, spec.name, now, collect_options(cfg))


def _notification(
    f: Finding, kind: NotificationKind, st: lifecycle.AlertState, now: float, reason: str
) -> Notification:
    started = st.fired_at or st.since
    # deterministic ids: two workers committing the same transition store (and send) it once
    nid = f"{f.fingerprint}-{int(started)}-{kind.value}"
    if kind in (NotificationKind.REPEAT, NotificationKind.ESCALATED):
        nid += f"-{int(now)}"
    params = dict(f.params)
    params.setdefault("value", f.value)
    params.setdefault("threshold", f.threshold)
    if reason and kind == NotificationKind.RESOLVED:
        params.setdefault("resolved_reason", reason)
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


def _cluster_health(
    cfg: settings.Settings, store: Store, name: str, outcome: str, error: str
) -> list[Finding]:
    """cluster_unreachable / credentials_rejected after N consecutive failures; inactive when the scan works."""
    rules = ("cluster_unreachable", "credentials_rejected")
    if outcome == "ok":
        store.clear_failures(name)
        return [Finding(name, "", r, None, summary=f"cluster {name} answers") for r in rules]
    failures = store.add_failure(name)
    if failures < cfg.scan_failures_before_alert:
        return []
    active = "credentials_rejected" if outcome == "credentials_rejected" else "cluster_unreachable"
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
        for r in rules
    ]


def advance(
    store: Store,
    cfg: settings.Settings,
    cluster: str,
    prev: dict[str, lifecycle.AlertState],
    findings: list[Finding],
    node_names: set[str] | None,
    now: float,
) -> list[str]:
    """Run every finding through the lifecycle and commit the result; returns the notification ids to send.

    ``node_names`` is the set of nodes seen in this scan (None when the scan failed: node alerts then stay as
    they are — an unreachable cluster must not produce a false "all resolved").
    """
    firing = [
        f.fingerprint for f in findings if f.fingerprint in prev and prev[f.fingerprint].status == "firing"
    ]
    cooling = store.cooldowns(cluster, firing)
    upsert: dict[str, lifecycle.AlertState] = {}
    delete: list[str] = []
    out: list[tuple[Notification, float]] = []
    why: list[tuple[str, str]] = []

    def apply(f: Finding, s: lifecycle.Step, before: lifecycle.AlertState | None) -> None:
        if s.state is None:
            if before is not None:
                delete.append(f.fingerprint)
        elif s.state != before:
            upsert[f.fingerprint] = s.state
        if s.send is not None:
            st = s.state or before
            assert st is not None
            if s.send == NotificationKind.RESOLVED and not cfg.notify.send_resolved:
                why.append((f.fingerprint, "resolved notices are off (notify.sendResolved)"))
                return
            out.append((_notification(f, s.send, st, now, s.reason), cfg.repeat_interval))
        elif s.reason not in ("ok",) and f.severity is not None:
            why.append((f.fingerprint, s.reason))

    seen = set()
    for f in findings:
        seen.add(f.fingerprint)
        before = prev.get(f.fingerprint)
        apply(f, lifecycle.step(before, f, now, f.fingerprint in cooling), before)
    if node_names is not None:
        for fp, st in prev.items():
            if fp not in seen and st.node and st.node not in node_names:
                gone = Finding(cluster, st.node, st.rule, None, summary=f"node {st.node} was removed")
                apply(gone, lifecycle.vanished(st, "node removed"), st)
    return store.commit(cluster, upsert, delete, out, why)


def run_scan(store: Store, cfg: settings.Settings, spec: clusters.ClusterSpec, now: float) -> ScanResult:
    """One scan of one cluster, end to end but without Celery: the task below and the replay both call it."""
    now_dt = datetime.fromtimestamp(now, UTC)
    result = ScanResult(spec.name, "ok")
    prev = store.load_alerts(spec.name)
    try:
        sample = read(cfg, spec, now_dt)
    except clusters.ClusterConfigError as err:
        result.outcome, result.error = "config_error", str(err)
    except collect_errors.CredentialsRejected as err:
        result.outcome, result.error = "credentials_rejected", f"credentials rejected: {err}"
    except collect_errors.ClusterUnreachable as err:
        result.outcome, result.error = "unreachable", f"unreachable: {err}"
    else:
        result.sample = sample
        firing = {fp: st.severity for fp, st in prev.items() if st.status == "firing"}
        previous, last_ready = store.load_inventory(spec.name)
        result.findings = evaluate(
            sample,
            lambda n: cfg.thresholds_for(spec.name, n.labels),
            firing,
            now_dt,
            previous=previous,
            last_ready=last_ready,
        )
        store.save_inventory(sample, cluster_rules.update_last_ready(last_ready or {}, sample))
    health = _cluster_health(cfg, store, spec.name, result.outcome, result.error)
    node_names = {n.name for n in result.sample.nodes} if result.sample else None
    result.sent = advance(store, cfg, spec.name, prev, result.findings + health, node_names, now)
    return result


def enqueue_notifications(cfg: settings.Settings, cluster: str, ids: list[str]) -> None:
    from tasks.notify import notify

    for nid in ids:
        for receiver in cfg.receivers():
            notify.apply_async(args=[cluster, nid, receiver], queue="notify")


@app.task(name="tasks.scan_cluster", ignore_result=True)
def scan_cluster(cluster: str, due_at: float | None = None) -> None:
    cfg = context.config()
    store = context.store()
    spec = clusters.find(cfg, cluster)
    if spec is None:
        log.info("cluster no longer configured; scan skipped", extra={"cluster": cluster})
        return
    token = uuid.uuid4().hex
    if not store.acquire_scan_lock(cluster, token, ttl_s=max(spec.interval, 30) * 2):
        log.info("scan already running; skipped", extra={"cluster": cluster, "outcome": "skipped"})
        return
    started = time.time()
    try:
        result = run_scan(store, cfg, spec, started)
        enqueue_notifications(cfg, cluster, result.sent)
        outcome, error = result.outcome, result.error
        nodes = len(result.sample.nodes) if result.sample else ""
    except SoftTimeLimitExceeded:
        outcome, error, nodes = "timeout", "scan exceeded its time limit", ""
    finally:
        store.release_scan_lock(cluster, token)
    ended = time.time()
    lag = started - due_at if due_at else 0.0
    store.record_scan(
        cluster,
        {
            "started": started,
            "ended": ended,
            "duration_s": round(ended - started, 3),
            "lag_s": round(lag, 3),
            "outcome": outcome,
            "error": error,
            "nodes": nodes,
        },
    )
    level = logging.INFO if outcome == "ok" else logging.WARNING
    log.log(
        level,
        "scan done" + (f": {error}" if error else ""),
        extra={"cluster": cluster, "outcome": outcome, "duration_s": round(ended - started, 3)},
    )
