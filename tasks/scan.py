"""``scan_cluster``: scan one cluster (``pipeline.scan_cluster``) and queue what it routed."""

from __future__ import annotations

from celery.exceptions import SoftTimeLimitExceeded

from tasks import context
from tasks.notify import enqueue
from worker import pipeline
from worker.app import app


@app.task(name="tasks.scan_cluster", ignore_result=True)
def scan_cluster(cluster: str, due_at: float | None = None) -> None:
    enqueue(pipeline.scan_cluster(context.stores(), context.config(), cluster, due_at, SoftTimeLimitExceeded))
