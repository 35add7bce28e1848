"""``notify`` and ``notify_digest``: deliver stored notifications to one receiver, within its rate limit, with
backoff, then dead letters.

``notify`` carries (cluster, notification id, receiver); the payload is read from Redis, the webhook URL and
secrets from the settings of the worker. When the receiver's token bucket is empty (or messages already wait for
it) the message is held in the receiver's queue and one ``notify_digest`` per receiver sends everything held as
one digest when the next token comes — critical first — instead of dropping or trickling.

A delivery-log key per (notification, receiver) makes a redelivered task (worker killed after sending, before
acking) skip the send; the remaining window — killed between the service's answer and writing that key — can
send one duplicate, never lose the message. A digest leaves its messages queued until they are marked delivered,
so a killed flush is redone (at most once more), not lost.
"""

from __future__ import annotations

import functools
import logging
import time
from typing import Any

from tasks import context
from worker import settings_notify
from worker.app import app
from worker.model import Notification
from worker.notify import delivery, redact, registry, stateloss
from worker.notify import errors as notify_errors
from worker.state import ratelimit

log = logging.getLogger("nodewatch.notify")


@functools.cache
def limiter() -> ratelimit.RateLimiter:
    return ratelimit.RateLimiter(context.store().r)


def backoff(retries: int, min_delay: float, max_delay: float, asked: float | None) -> float:
    return delivery.backoff(retries, min_delay, max_delay, asked)


def _secrets(params: dict[str, Any]) -> list[str]:
    return redact.param_secrets(params)


def _policy(receiver: str) -> tuple[settings_notify.ReceiverPolicy, ratelimit.Bucket | None]:
    policy = settings_notify.receiver_policies(context.config())[receiver]
    return policy, ratelimit.Bucket.for_limit(policy.messages, policy.per)


def _why(store: Any, message: Notification, reason: str) -> None:
    """A delayed or lost notification says why in its cluster's why-stream (``nodewatch alerts why FP``)."""
    if message.fingerprint:
        store.note_why(message.cluster, message.fingerprint, reason)


def _hold(receiver: str, message: Notification, wait: float) -> None:
    """Queue ``message`` for the receiver's digest; the first holder schedules the flush."""
    score = ratelimit.priority(int(message.severity), message.created_at)
    if limiter().hold(receiver, message.cluster, message.id, score, wait):
        notify_digest.apply_async(args=[receiver], countdown=wait, queue="notify")


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
    _, bucket = _policy(receiver)
    if bucket is not None:
        # messages already wait for a digest: join them, so critical ones go first and nothing trickles
        if limiter().waiting_count(receiver):
            wait = limiter().wait_hint(receiver, bucket)
        else:
            wait = limiter().take(receiver, bucket)
            if wait == 0.0:
                return _send_one(self, cfg, store, message, receiver, params, fields)
        _hold(receiver, message, wait)
        store.count(f"held:{receiver}")
        _why(store, message, f"rate-limited: {receiver} sends it in a digest in {wait:.0f}s")
        log.info("rate limited; held for the next digest in %.1fs", wait, extra=fields)
        return "held"
    return _send_one(self, cfg, store, message, receiver, params, fields)


def _send_one(
    task: Any,
    cfg: Any,
    store: Any,
    message: Notification,
    receiver: str,
    params: dict[str, Any],
    fields: dict[str, str],
) -> str:
    secrets = _secrets(params)
    channel = registry.build(session=context.http(), timeout=cfg.notify.http_timeout, **params)
    # made after Redis lost the state: it may repeat a message sent before, and says so
    message = stateloss.noted(message, store.state_lost_at(), str(params.get("lang", "en")))
    try:
        channel.send(message)
    except notify_errors.RetryableError as err:
        reason = redact.redact(str(err), secrets)
        retries = task.request.retries
        delay = backoff(retries, cfg.notify.min_retry_delay, cfg.notify.max_retry_delay, err.delay)
        if delivery.gives_up(message.created_at, time.time(), delay, cfg.notify.retry_window):
            store.dead_letter(
                {**fields, "reason": f"gave up after {retries + 1} tries: {reason}", "at": time.time()}
            )
            _why(store, message, f"dead-lettered by {receiver} after {retries + 1} tries: {reason}")
            log.error("gave up; dead-lettered: %s", reason, extra=fields)
            return "dead-letter"
        store.count(f"retried:{receiver}")
        _why(store, message, f"{receiver} failed ({reason}); retry in {delay:.0f}s")
        log.warning("delivery failed, retry in %.1fs: %s", delay, reason, extra=fields)
        raise task.retry(countdown=delay) from None
    except notify_errors.PermanentError as err:
        reason = redact.redact(str(err), secrets)
        store.dead_letter({**fields, "reason": f"permanent: {reason}", "at": time.time()})
        _why(store, message, f"dead-lettered by {receiver}: permanent: {reason}")
        log.error("permanent failure; dead-lettered: %s", reason, extra=fields)
        return "dead-letter"
    store.mark_delivered(message.cluster, message.id, receiver)
    log.info("delivered", extra={**fields, "rule": message.rule, "node": message.node})
    return "delivered"


@app.task(
    name="tasks.notify_digest",
    bind=True,
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,
)
def notify_digest(self, receiver: str) -> str:  # type: ignore[no-untyped-def]
    """Send what waits for ``receiver`` as one message when a token is there; re-arm while more waits."""
    cfg = context.config()
    store = context.store()
    lim = limiter()
    fields = {"receiver": receiver, "cluster": "", "notification": "digest"}
    params = cfg.receivers().get(receiver)
    policy_bucket = _policy(receiver) if params is not None else None
    items = lim.waiting(receiver, policy_bucket[0].digest_max if policy_bucket else 1000)
    if params is None or policy_bucket is None:
        for c, nid in items:
            store.dead_letter({"cluster": c, "notification": nid, "receiver": receiver,
                               "reason": "receiver no longer configured", "at": time.time()})  # fmt: skip
        lim.release(receiver, items)
        lim.finish_flush(receiver)
        return "dead-letter"
    policy, bucket = policy_bucket
    messages: list[Notification] = []
    done: list[tuple[str, str]] = []
    for c, nid in items:
        n = store.notification(c, nid)
        if store.was_delivered(c, nid, receiver):
            done.append((c, nid))
        elif n is None:
            store.dead_letter({"cluster": c, "notification": nid, "receiver": receiver,
                               "reason": "payload expired before delivery", "at": time.time()})  # fmt: skip
            done.append((c, nid))
        else:
            messages.append(n)
    lim.release(receiver, done)
    if not messages:
        return _next_flush(receiver, bucket)
    wait = lim.take(receiver, bucket)
    if wait > 0:
        lim.keep_flush(receiver, wait)
        notify_digest.apply_async(args=[receiver], countdown=wait, queue="notify")
        return "waiting"
    message = messages[0] if len(messages) == 1 else delivery.digest(messages, time.time())
    secrets = _secrets(params)
    channel = registry.build(session=context.http(), timeout=cfg.notify.http_timeout, **params)
    held = [(m.cluster, m.id) for m in messages]
    try:
        channel.send(message)
    except notify_errors.RetryableError as err:
        reason = redact.redact(str(err), secrets)
        retries = self.request.retries
        delay = backoff(retries, cfg.notify.min_retry_delay, cfg.notify.max_retry_delay, err.delay)
        now = time.time()
        expired = [
            m for m in messages if delivery.gives_up(m.created_at, now, delay, cfg.notify.retry_window)
        ]
        for m in expired:
            store.dead_letter({"cluster": m.cluster, "notification": m.id, "receiver": receiver,
                               "reason": f"gave up after {retries + 1} tries (digest): {reason}", "at": now})  # fmt: skip
            _why(store, m, f"dead-lettered by {receiver} after {retries + 1} tries (digest): {reason}")
        lim.release(receiver, [(m.cluster, m.id) for m in expired])
        store.count(f"retried:{receiver}")
        log.warning("digest of %d failed, retry in %.1fs: %s", len(messages), delay, reason, extra=fields)
        lim.keep_flush(receiver, delay)
        raise self.retry(countdown=delay) from None
    except notify_errors.PermanentError as err:
        reason = redact.redact(str(err), secrets)
        for m in messages:
            store.dead_letter({"cluster": m.cluster, "notification": m.id, "receiver": receiver,
                               "reason": f"permanent (digest): {reason}", "at": time.time()})  # fmt: skip
            _why(store, m, f"dead-lettered by {receiver}: permanent (digest): {reason}")
        lim.release(receiver, held)
        log.error("digest permanently failed; %d dead-lettered: %s", len(messages), reason, extra=fields)
        return _next_flush(receiver, bucket)
    for m in messages:
        store.mark_delivered(m.cluster, m.id, receiver)
    lim.release(receiver, held)
    store.count(f"digests:{receiver}")
    log.info("digest of %d delivered", len(messages), extra=fields)
    return _next_flush(receiver, bucket)


def _next_flush(receiver: str, bucket: ratelimit.Bucket | None) -> str:
    lim = limiter()
    if lim.finish_flush(receiver):
        return "flushed"
    wait = lim.wait_hint(receiver, bucket)
    lim.keep_flush(receiver, wait)
    notify_digest.apply_async(args=[receiver], countdown=wait, queue="notify")
    return "flushed; more waiting"
