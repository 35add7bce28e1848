"""``notify``: deliver one stored notification to one receiver, with backoff, then dead letters.

The task carries (cluster, notification id, receiver name); the payload is read from Redis, the webhook URL and
secrets from the settings of the worker. A delivery-log key makes a redelivered task (worker killed after sending,
before acking) skip the send; the remaining window — killed between the HTTP answer and writing that key — can
send one duplicate, never lose the message.
"""

from __future__ import annotations

import logging
import random
import time

from tasks import context
from worker.app import app
from worker.notify import errors as notify_errors
from worker.notify import redact, registry

log = logging.getLogger("nodewatch.notify")


def backoff(retries: int, min_delay: float, max_delay: float, asked: float | None) -> float:
    """Exponential backoff with jitter; a delay the service asked for (Retry-After, errcode) wins, capped."""
    if asked is not None:
        return min(max(asked, 0.0), max_delay)
    base = min(max_delay, min_delay * (2**retries))
    return base * random.uniform(0.5, 1.0)  # noqa: S311 (jitter, not crypto)


@app.task(
    name="tasks.notify",
    bind=True,
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,
)
def notify(self, cluster: str, notification_id: str, receiver: str) -> str:  # type: ignore[no-untyped-def]
    cfg = context.config()
    store = context.store()
    fields = {"cluster": cluster, "notification": notification_id, "receiver": receiver}
    if store.was_delivered(cluster, notification_id, receiver):
        log.info("already delivered; redelivered task skipped", extra=fields)
        return "duplicate"
    message = store.notification(cluster, notification_id)
    if message is None:
        store.dead_letter({**fields, "reason": "payload expired before delivery", "at": time.time()})
        log.error("payload expired before delivery", extra=fields)
        return "expired"
    params = cfg.receivers().get(receiver)
    if params is None:
        store.dead_letter({**fields, "reason": "receiver no longer configured", "at": time.time()})
        log.error("receiver no longer configured", extra=fields)
        return "dead-letter"
    secrets = [v for v in params.values() if isinstance(v, str) and len(v) > 6]
    channel = registry.build(session=context.http(), timeout=cfg.notify.http_timeout, **params)
    try:
        channel.send(message)
    except notify_errors.RetryableError as err:
        reason = redact.redact(str(err), secrets)
        delay = backoff(
            self.request.retries, cfg.notify.min_retry_delay, cfg.notify.max_retry_delay, err.delay
        )
        age = time.time() - message.created_at
        if age + delay > cfg.notify.retry_window:
            store.dead_letter(
                {
                    **fields,
                    "reason": f"gave up after {self.request.retries + 1} tries: {reason}",
                    "at": time.time(),
                }
            )
            log.error("gave up; dead-lettered: %s", reason, extra=fields)
            return "dead-letter"
        store.count(f"retried:{receiver}")
        log.warning("delivery failed, retry in %.1fs: %s", delay, reason, extra=fields)
        raise self.retry(countdown=delay) from None
    except notify_errors.PermanentError as err:
        reason = redact.redact(str(err), secrets)
        store.dead_letter({**fields, "reason": f"permanent: {reason}", "at": time.time()})
        log.error("permanent failure; dead-lettered: %s", reason, extra=fields)
        return "dead-letter"
    store.mark_delivered(cluster, notification_id, receiver)
    log.info("delivered", extra={**fields, "rule": message.rule, "node": message.node})
    return "delivered"
