"""Rate limit / digest -> send -> record: one routed message (or a receiver's digest) to its receiver.

``Delivery.one`` takes a job (cluster, notification id, receiver): skips what the delivery log says was sent
(a redelivered task), holds the message for the receiver's digest when its token bucket is empty (or messages
already wait), else sends it. ``Delivery.digest`` sends what waits for a receiver as one message when a token is
there. A send that fails is retried with backoff (``notify.delivery.backoff``) while the retry window allows
(``delivery.gives_up``), else dead-lettered; a permanent failure is dead-lettered at once. Both return an
``Outcome``: what happened, and when the caller (the Celery task) must run again or flush the digest.

State read and written: the receiver's token bucket and digest queue (``limits``), the payloads and delivery
log, when a receiver last got an alert (written after a successful send, for a route's ``repeatInterval``),
dead letters, counters, why-entries of what was delayed or lost.

The remaining window: a worker killed after the service's answer and before the delivery log is written sends
one duplicate, never zero. A digest leaves its messages queued until they are recorded, so a killed flush is
redone (at most once more), not lost.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import requests

from worker import settings
from worker.alerting.route import Job
from worker.model import Notification, NotificationKind
from worker.notify import delivery, redact, registry, stateloss
from worker.notify import errors as notify_errors
from worker.notify.channel import Channel
from worker.notify.routing import longest_repeat
from worker.settings.receivers import Endpoint, ReceiverPolicy
from worker.state import ratelimit
from worker.state.notifications import DeadLetter
from worker.state.store import Stores

log = logging.getLogger("nodewatch.notify")


@dataclass(frozen=True)
class Outcome:
    status: str  # delivered | duplicate | expired | dead-letter | held | retry | waiting | flushed | flushed; more waiting
    retry_in: float | None = None  # run the same task again after this many seconds
    flush_in: float | None = None  # flush the receiver's digest after this many seconds


class RetryPolicy(Protocol):
    min_retry_delay: float
    max_retry_delay: float
    retry_window: float


@dataclass(frozen=True)
class Failure:
    """What a failed send comes to: retry in ``retry_in`` seconds (None: never), and the messages given up."""

    retry_in: float | None
    given_up: list[Notification]
    reason: str  # the error, secrets masked


def failure(
    err: notify_errors.DeliveryError, tries: int, messages: Sequence[Notification], now: float,
    policy: RetryPolicy, secrets: Sequence[str], rand: float | None = None,
) -> Failure:  # fmt: skip
    """After ``tries`` failed sends of ``messages`` (one, or a digest's): a permanent error gives all up; a
    retryable one waits (backoff, or the delay the service asked for) unless that ends past the retry window
    counted from a message's creation, which gives that message up. ``now`` handed in; ``rand`` for tests."""
    reason = redact.redact(str(err), secrets)
    if not isinstance(err, notify_errors.RetryableError):
        return Failure(None, list(messages), reason)
    delay = delivery.backoff(tries, policy.min_retry_delay, policy.max_retry_delay, err.delay, rand)
    late = [m for m in messages if delivery.gives_up(m.created_at, now, delay, policy.retry_window)]
    return Failure(delay, late, reason)


@dataclass
class Delivery:
    """Sends for one worker: its state, config, HTTP session, clock; ``channel`` and ``receivers`` replace the
    registry's channels and the config's receivers (the replay's sink); ``rate_limits`` False skips the token
    buckets (whose clock is Redis's: a replay on a simulated clock counts messages, not their pace)."""

    stores: Stores
    cfg: settings.Settings
    session: requests.Session | None = None
    clock: Callable[[], float] = time.time
    channel: Callable[[str], Channel] | None = None  # receiver name -> channel
    receivers: Collection[str] | None = None  # the receivers sent to (default: the config's)
    rate_limits: bool = True

    def _endpoint(self, receiver: str) -> tuple[bool, Endpoint[Any] | None]:
        """Whether ``receiver`` is still one to send to, and its endpoint (None for a stand-in: the replay's
        sink when the config has no receivers)."""
        endpoint = self.cfg.endpoints().get(receiver)
        return (endpoint is not None if self.receivers is None else receiver in self.receivers), endpoint

    def _bucket(self, receiver: str) -> tuple[ReceiverPolicy | None, ratelimit.Bucket | None]:
        policy = self.cfg.receiver_policies().get(receiver)
        if policy is None:
            return None, None
        return policy, ratelimit.Bucket.for_limit(policy.messages, policy.per) if self.rate_limits else None

    def _lose(self, receiver: str, items: Sequence[tuple[str, str]], reason: str) -> None:
        """Dead-letter (cluster, notification id) pairs."""
        now = self.clock()
        self.stores.notifications.dead_letter([DeadLetter(c, nid, receiver, reason, now) for c, nid in items])

    def _why(self, messages: Sequence[Notification], reason: str) -> None:
        """A delayed or lost message says why in its cluster's why-stream (``nodewatch alerts why FP``)."""
        by_cluster: dict[str, list[tuple[str, str]]] = {}
        for m in messages:
            if m.fingerprint:
                by_cluster.setdefault(m.cluster, []).append((m.fingerprint, reason))
        for cluster, entries in by_cluster.items():
            self.stores.notifications.note_why(cluster, entries)

    # --- one message ---
    def one(self, job: Job, tries: int) -> Outcome:
        notes, receiver = self.stores.notifications, job.receiver
        fields = {"cluster": job.cluster, "notification": job.notification, "receiver": receiver}
        if notes.was_delivered(job.cluster, job.notification, receiver):
            log.info("already delivered; redelivered task skipped", extra=fields)
            return Outcome("duplicate")
        message = notes.get(job.cluster, job.notification)
        configured, endpoint = self._endpoint(receiver)
        if message is None or not configured:
            reason = "payload expired before delivery" if message is None else "receiver no longer configured"
            self._lose(receiver, [(job.cluster, job.notification)], reason)
            log.error(reason, extra=fields)
            return Outcome("expired" if message is None else "dead-letter")
        _, bucket = self._bucket(receiver)
        if bucket is not None:
            lim = self.stores.limits
            # messages already wait for a digest: join them, so critical ones go first and nothing trickles
            waiting = lim.waiting_count(receiver) > 0
            wait = lim.wait_hint(receiver, bucket) if waiting else lim.take(receiver, bucket)
            if waiting or wait > 0:
                score = ratelimit.priority(int(message.severity), message.created_at)
                first = lim.hold(receiver, message.cluster, message.id, score, wait)
                notes.count(f"held:{receiver}")
                self._why([message], f"rate-limited: {receiver} sends it in a digest in {wait:.0f}s")
                log.info("rate limited; held for the next digest in %.1fs", wait, extra=fields)
                return Outcome("held", flush_in=wait if first else None)
        # made after Redis lost the state: it may repeat a message sent before, and says so
        lang = endpoint.lang if endpoint is not None else "en"
        shown = stateloss.noted(message, self.stores.epoch.lost_at(), lang)
        failed = self._send(receiver, endpoint, [message], shown, tries, digest=False)
        if failed is None:
            log.info("delivered", extra={**fields, "rule": message.rule, "node": message.node})
            return Outcome("delivered")
        if failed.given_up:
            log.error("gave up; dead-lettered: %s", failed.reason, extra=fields)
            return Outcome("dead-letter")
        notes.count(f"retried:{receiver}")
        self._why([message], f"{receiver} failed ({failed.reason}); retry in {failed.retry_in:.0f}s")
        log.warning("delivery failed, retry in %.1fs: %s", failed.retry_in, failed.reason, extra=fields)
        return Outcome("retry", retry_in=failed.retry_in)

    def _send(
        self, receiver: str, endpoint: Endpoint[Any] | None, messages: list[Notification], shown: Notification,
        tries: int, digest: bool,
    ) -> Failure | None:  # fmt: skip
        """Send ``shown`` (``messages``, or their digest) once: record them, or dead-letter what is given up."""
        try:
            self._build(receiver, endpoint).send(shown)
        except (notify_errors.RetryableError, notify_errors.PermanentError) as err:
            secrets = endpoint.secrets() if endpoint is not None else []
            f = failure(err, tries, messages, self.clock(), self.cfg.notify, secrets)
            of = " (digest)" if digest else ""
            if f.retry_in is None:
                lost, why = (
                    f"permanent{of}: {f.reason}",
                    f"dead-lettered by {receiver}: permanent{of}: {f.reason}",
                )
            else:
                lost = f"gave up after {tries + 1} tries{of}: {f.reason}"
                why = f"dead-lettered by {receiver} after {tries + 1} tries{of}: {f.reason}"
            self._lose(receiver, [(m.cluster, m.id) for m in f.given_up], lost)
            self._why(f.given_up, why)
            return f
        self.record(receiver, messages)
        return None

    def _build(self, receiver: str, endpoint: Endpoint[Any] | None) -> Channel:
        if self.channel is not None:
            return self.channel(receiver)
        assert endpoint is not None  # a receiver without one is only ever a stand-in, with its own channel
        return registry.channel(endpoint, session=self.session, timeout=self.cfg.notify.http_timeout)

    def record(self, receiver: str, messages: Sequence[Notification]) -> None:
        """The record stage: the delivery log, the counter, and — while a route sets a ``repeatInterval`` —
        when the receiver last got each alert (Alertmanager's notification log: written after the send)."""
        interval = longest_repeat(self.cfg.route)
        again = (
            [m for m in messages if m.kind is not NotificationKind.RESOLVED] if interval is not None else []
        )
        self.stores.notifications.record_delivered(receiver, messages, self.clock(), again, interval or 0.0)

    # --- a receiver's digest ---
    def digest(self, receiver: str, tries: int) -> Outcome:
        """Send what waits for ``receiver`` as one message when a token is there; flush again while more waits."""
        lim, notes = self.stores.limits, self.stores.notifications
        fields = {"receiver": receiver, "cluster": "", "notification": "digest"}
        configured, endpoint = self._endpoint(receiver)
        policy, bucket = self._bucket(receiver)
        items = lim.waiting(receiver, policy.digest_max if configured and policy else 1000)
        if not configured or policy is None:
            self._lose(receiver, items, "receiver no longer configured")
            lim.release(receiver, items)
            lim.finish_flush(receiver)
            return Outcome("dead-letter")
        messages: list[Notification] = []
        done, expired = [], []
        for c, nid in items:
            n = notes.get(c, nid)
            if notes.was_delivered(c, nid, receiver):
                done.append((c, nid))
            elif n is None:
                expired.append((c, nid))
            else:
                messages.append(n)
        self._lose(receiver, expired, "payload expired before delivery")
        lim.release(receiver, done + expired)
        if not messages:
            return self._next_flush(receiver, bucket)
        wait = lim.take(receiver, bucket)
        if wait > 0:
            lim.keep_flush(receiver, wait)
            return Outcome("waiting", flush_in=wait)
        shown = messages[0] if len(messages) == 1 else delivery.digest(messages, self.clock())
        failed = self._send(receiver, endpoint, messages, shown, tries, digest=True)
        held = [(m.cluster, m.id) for m in messages]
        if failed is None:
            lim.release(receiver, held)
            notes.count(f"digests:{receiver}")
            log.info("digest of %d delivered", len(messages), extra=fields)
            return self._next_flush(receiver, bucket)
        if failed.retry_in is None:
            lim.release(receiver, held)
            log.error(
                "digest permanently failed; %d dead-lettered: %s", len(messages), failed.reason, extra=fields
            )
            return self._next_flush(receiver, bucket)
        lim.release(receiver, [(m.cluster, m.id) for m in failed.given_up])
        notes.count(f"retried:{receiver}")
        log.warning(
            "digest of %d failed, retry in %.1fs: %s",
            len(messages),
            failed.retry_in,
            failed.reason,
            extra=fields,
        )
        lim.keep_flush(receiver, failed.retry_in)
        return Outcome("retry", retry_in=failed.retry_in)

    def _next_flush(self, receiver: str, bucket: ratelimit.Bucket | None) -> Outcome:
        lim = self.stores.limits
        if lim.finish_flush(receiver):
            return Outcome("flushed")
        wait = lim.wait_hint(receiver, bucket)
        lim.keep_flush(receiver, wait)
        return Outcome("flushed; more waiting", flush_in=wait)
