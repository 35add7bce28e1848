"""Delivery policy as pure functions: backoff with jitter, whether to give up, and merging held messages into one
digest. The Celery task (tasks/notify.py) and ``nodewatch notify test`` (worker/cli/notify.py) both use them."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence

from worker.model import Notification, NotificationKind, Severity
from worker.notify import templates


def backoff(
    retries: int, min_delay: float, max_delay: float, asked: float | None, rand: float | None = None
) -> float:
    """Exponential backoff with jitter; a delay the service asked for (Retry-After, errcode) wins, capped.

    ``rand`` in [0, 1) replaces the random draw (tests).
    """
    if asked is not None:
        return min(max(asked, 0.0), max_delay)
    base = min(max_delay, min_delay * (2**retries))
    draw = random.random() if rand is None else rand  # noqa: S311 (jitter, not crypto)
    return base * (0.5 + draw / 2)


def gives_up(created_at: float, now: float, delay: float, window: float) -> bool:
    """True when retrying after ``delay`` would end past the retry window counted from the message's creation."""
    return (now - created_at) + delay > window


def digest(messages: Sequence[Notification], now: float) -> Notification:
    """One message listing ``messages`` (critical first, then oldest), sent when a receiver's bucket ran dry."""
    if not messages:
        raise ValueError("a digest needs at least one message")
    ordered = sorted(
        messages,
        key=lambda n: (n.kind is NotificationKind.RESOLVED, -int(n.severity), n.created_at),
    )
    firing = [n for n in ordered if n.kind is not NotificationKind.RESOLVED]
    clusters = {n.cluster for n in ordered}
    ident = hashlib.sha256("\n".join(sorted(n.id for n in ordered)).encode()).hexdigest()[:16]
    return Notification(
        id=f"digest-{ident}",
        kind=NotificationKind.FIRING if firing else NotificationKind.RESOLVED,
        cluster=clusters.pop() if len(clusters) == 1 else "*",
        node="",
        rule=templates.DIGEST_RULE,
        severity=max((n.severity for n in firing), default=Severity.INFO),
        summary=f"{len(ordered)} messages merged",
        params={"items": [n.to_json() for n in ordered]},
        started_at=min(n.started_at for n in ordered),
        created_at=now,
        fingerprint="digest",
    )


def probe(receiver: str, now: float) -> Notification:
    """The message ``nodewatch notify test`` sends."""
    return Notification(
        id=f"test-{receiver}-{int(now * 1000)}",
        kind=NotificationKind.TEST,
        cluster="nodewatch",
        node="",
        rule="test",
        severity=Severity.INFO,
        summary="nodewatch test message",
        params={},
        started_at=now,
        created_at=now,
    )
