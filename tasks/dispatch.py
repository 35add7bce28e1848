"""``dispatch``: ticked by beat; starts the scans that are due (``dispatch.tick``) and forgets removed clusters."""

from __future__ import annotations

import time

from tasks import context
from tasks.forget import forget_cluster
from tasks.notify import enqueue
from tasks.scan import scan_cluster
from worker import dispatch as scheduler
from worker.app import app


@app.task(name="tasks.dispatch", ignore_result=True)
def dispatch() -> list[str]:
    tick = scheduler.tick(context.stores(), context.config(), time.time())
    enqueue(tick.jobs)
    for name in tick.removed:
        forget_cluster.apply_async(args=[name], queue="control")
    for s in tick.scans:
        scan_cluster.apply_async(args=[s.cluster, s.due_at], queue="scan", countdown=s.countdown,
                                 expires=s.expires, soft_time_limit=s.soft_time_limit, time_limit=s.time_limit)  # fmt: skip
    return [s.cluster for s in tick.scans]
