"""``scan_cluster``: read one cluster, evaluate its nodes, advance alert lifecycles, queue notifications."""

from __future__ import annotations

import logging
import time
import uuid

from celery.exceptions import SoftTimeLimitExceeded

from tasks import context
from worker import clusters, settings
from worker.app import app
from worker.pipeline import ScanResult, advance, collect_options, run_scan, scan_budget, scan_failed

__all__ = ["ScanResult", "advance", "collect_options", "enqueue_notifications", "run_scan", "scan_cluster"]

# the reads stop at the scan budget themselves; Celery's limits are the backstop for the rest of the scan
TIME_LIMIT_SLACK = 15.0


def time_limits(budget: float) -> tuple[float, float]:
    """(soft, hard) Celery time limits of a scan with this budget."""
    return budget + TIME_LIMIT_SLACK, budget + 2 * TIME_LIMIT_SLACK


log = logging.getLogger("nodewatch.scan")


def enqueue_notifications(cfg: settings.Settings, cluster: str, ids: list[str]) -> None:
    """Route each stored notification to its receivers (worker/notify/routing.py) and queue one task per pair.

    Whatever routing drops — no route, resolved messages off, the route's repeat interval — is recorded in the
    cluster's why-log.
    """
    from tasks.notify import notify
    from worker.model import NotificationKind as Kind
    from worker.notify import routing

    if not ids:
        return
    store = context.store()
    spec = clusters.find(cfg, cluster)
    labels = spec.labels if spec is not None else {}
    configured = list(cfg.receivers())
    now = time.time()
    for nid in ids:
        n = store.notification(cluster, nid)
        if n is None:
            continue
        targets = routing.route(
            cfg.route,
            routing.subject(n, labels),
            all_receivers=configured,
            send_resolved=cfg.notify.send_resolved,
        )
        if not targets:
            store.note_why(cluster, n.fingerprint, f"{n.kind.value}: no route has a receiver for it")
        for t in targets:
            if t.receiver not in configured:
                store.note_why(cluster, n.fingerprint, f"receiver {t.receiver}: its URL (file/env) is empty")
                continue
            if reason := routing.wanted(t, n):
                store.note_why(cluster, n.fingerprint, reason)
                continue
            if t.repeat_interval and n.kind is not Kind.RESOLVED:
                last = store.route_sent_at(cluster, t.receiver, n.fingerprint)
                if held := routing.repeat_held(t, n, last, now):
                    store.note_why(cluster, n.fingerprint, held)
                    continue
                store.mark_route_sent(cluster, t.receiver, n.fingerprint, now, t.repeat_interval)
            notify.apply_async(args=[cluster, nid, t.receiver], queue="notify")


@app.task(name="tasks.scan_cluster", ignore_result=True)
def scan_cluster(cluster: str, due_at: float | None = None) -> None:
    cfg = context.config()
    store = context.store()
    try:
        spec = clusters.find(cfg, cluster)
    except clusters.ClusterSourceError as err:
        log.warning("cluster sources unreadable; scan skipped: %s", err, extra={"cluster": cluster})
        return
    if spec is None:
        log.info("cluster no longer configured; scan skipped", extra={"cluster": cluster})
        return
    token = uuid.uuid4().hex
    budget = scan_budget(spec)
    # the lock lives as long as the soft limit: a worker killed mid-scan holds its cluster back that long, not
    # two intervals; a scan still running then is past its budget and only finishing its commit
    if not store.acquire_scan_lock(cluster, token, ttl_s=time_limits(budget)[0]):
        log.info("scan already running; skipped", extra={"cluster": cluster, "outcome": "skipped"})
        return
    started = time.time()
    cost: dict[str, object] = {}
    try:
        result = run_scan(store, cfg, spec, started)
        enqueue_notifications(cfg, cluster, result.sent)
        outcome, error = result.outcome, result.error
        nodes = len(result.sample.nodes) if result.sample else ""
        cost = result.record()
    except SoftTimeLimitExceeded:
        outcome, nodes = "timeout", ""
        error = (
            f"scan exceeded its time limit ({time_limits(budget)[0]:.0f}s: scanBudget {budget:.0f}s + slack)"
        )
        enqueue_notifications(cfg, cluster, scan_failed(store, cfg, spec, time.time(), outcome, error))
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
            **cost,
        },
    )
    level = logging.INFO if outcome == "ok" else logging.WARNING
    log.log(
        level,
        "scan done" + (f": {error}" if error else ""),
        extra={"cluster": cluster, "outcome": outcome, "duration_s": round(ended - started, 3)},
    )
