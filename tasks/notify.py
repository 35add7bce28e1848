"""``notify`` and ``notify_digest``: deliver one routed message, or a receiver's digest (``alerting.deliver``).

Both ack late: a worker lost mid-send leaves the task to another, and the delivery log makes the redelivery skip
what was sent. Arguments are (cluster, notification id, receiver) and a receiver name: the payload is in Redis.
"""

from __future__ import annotations

from collections.abc import Iterable

from tasks import context
from worker.alerting.deliver import Outcome
from worker.alerting.route import Job
from worker.app import app

OPTIONS = dict(bind=True, ignore_result=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)


def enqueue(jobs: Iterable[Job]) -> None:
    for j in jobs:
        notify.apply_async(args=[j.cluster, j.notification, j.receiver], queue="notify")


def _next(task, receiver: str, out: Outcome) -> str:  # type: ignore[no-untyped-def]
    if out.flush_in is not None:
        notify_digest.apply_async(args=[receiver], countdown=out.flush_in, queue="notify")
    if out.retry_in is not None:
        raise task.retry(countdown=out.retry_in)
    return out.status


@app.task(name="tasks.notify", **OPTIONS)
def notify(self, cluster: str, notification_id: str, receiver: str) -> str:  # type: ignore[no-untyped-def]
    job = Job(cluster, notification_id, receiver)
    return _next(self, receiver, context.delivery().one(job, self.request.retries))


@app.task(name="tasks.notify_digest", **OPTIONS)
def notify_digest(self, receiver: str) -> str:  # type: ignore[no-untyped-def]
    return _next(self, receiver, context.delivery().digest(receiver, self.request.retries))
