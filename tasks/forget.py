"""``forget_cluster``: a cluster left the registry; close its open alerts as "cluster removed", not firing forever,
and leave none of its keys without a bound (``state.store.forget_cluster``)."""

from __future__ import annotations

import logging
import time
import uuid

from tasks import context
from tasks.scan import enqueue_notifications
from worker import clusters
from worker.app import app
from worker.pipeline import advance
from worker.state import store as state_store

log = logging.getLogger("nodewatch.forget")

REASON = "cluster removed"


@app.task(name="tasks.forget_cluster", bind=True, ignore_result=True, max_retries=20)
def forget_cluster(self, cluster: str) -> str:  # type: ignore[no-untyped-def]
    cfg = context.config()
    store = context.store()
    try:
        back = clusters.find(cfg, cluster) is not None
    except clusters.ClusterSourceError as err:
        log.warning("cluster sources unreadable; forget postponed: %s", err, extra={"cluster": cluster})
        raise self.retry(countdown=cfg.dispatch_tick * 2) from None
    if back:  # removed and added again before this ran: nothing to close
        log.info("cluster is configured again; not forgotten", extra={"cluster": cluster})
        return "configured"
    token = uuid.uuid4().hex
    # a scan still running would write alert states after us: wait for it to finish
    if not store.acquire_scan_lock(cluster, token, ttl_s=60):
        raise self.retry(countdown=cfg.dispatch_tick)
    try:
        prev = store.load_alerts(cluster)
        ids = advance(store, cfg, cluster, prev, [], None, time.time(), removed_reason=REASON)
        state_store.forget_cluster(store, cluster)
    finally:
        store.release_scan_lock(cluster, token)
    enqueue_notifications(cfg, cluster, ids)
    log.info(
        "cluster removed: its alerts closed, %d notice(s) queued",
        len(ids),
        extra={"cluster": cluster, "outcome": "forgotten"},
    )
    return "forgotten"
