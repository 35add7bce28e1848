"""``dispatch``: ticked by beat; enqueues a scan for each cluster that is due and not already being scanned."""

from __future__ import annotations

import logging
import time

from tasks import context
from tasks.forget import forget_cluster
from tasks.scan import scan_budget, scan_cluster, time_limits
from worker import clusters
from worker.app import app

log = logging.getLogger("nodewatch.dispatch")


@app.task(name="tasks.dispatch", ignore_result=True)
def dispatch() -> list[str]:
    cfg = context.config()
    store = context.store()
    try:
        specs = clusters.load(cfg).by_name()
    except clusters.ClusterSourceError as err:
        # not "every cluster removed": skip the tick, keep the schedule as it is
        log.warning("cluster sources unreadable; tick skipped: %s", err)
        return []
    now = time.time()
    queued = []
    # claim what falls due before the next tick and start each scan at its due time (a countdown): the tick
    # then adds no lag of its own (bench/README.md, "fleet")
    due_list = store.claim_due({n: s.interval for n, s in specs.items()}, now + cfg.dispatch_tick)
    for name in store.take_removed():
        forget_cluster.apply_async(args=[name], queue="control")
    for due in due_list:
        spec = specs[due.cluster]
        if store.scan_locked(spec.name):
            log.info(
                "previous scan still running; not doubled", extra={"cluster": spec.name, "outcome": "skipped"}
            )
            continue
        # a scan that cannot start within its interval is stale: the broker drops it instead of replaying it
        wait = max(0.0, due.due_at - now)
        soft, hard = time_limits(scan_budget(spec))
        scan_cluster.apply_async(
            args=[spec.name, due.due_at],
            queue="scan",
            countdown=wait if wait > 0.05 else None,
            expires=wait + spec.interval,
            soft_time_limit=soft,
            time_limit=hard,
        )
        queued.append(spec.name)
    return queued
