"""``forget_cluster``: a cluster left the registry; close its alerts (``pipeline.forget``) and queue the notices."""

from __future__ import annotations

from tasks import context
from tasks.notify import enqueue
from worker import pipeline
from worker.app import app


@app.task(name="tasks.forget_cluster", bind=True, ignore_result=True, max_retries=20)
def forget_cluster(self, cluster: str) -> str:  # type: ignore[no-untyped-def]
    out = pipeline.forget(context.stores(), context.config(), cluster)
    if out.retry_in is not None:
        raise self.retry(countdown=out.retry_in)
    enqueue(out.jobs)
    return out.status
