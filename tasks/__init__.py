"""Celery tasks: thin shells that load settings, call the rooms in worker/ and enqueue the next step.

``tasks.dispatch`` (queue control) -> ``tasks.scan_cluster`` (queue scan) -> ``tasks.notify`` (queue notify).
Arguments are cluster names, notification ids and receiver names only: Flower shows them to everyone.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import redis
from celery import signals

from worker import logs, settings

log = logging.getLogger("nodewatch.worker")

HEARTBEAT_EVERY = 5.0  # seconds between two heartbeat writes (Celery fires the signal every 2 s)
_last_heartbeat = [0.0]


@signals.setup_logging.connect
def _setup_logging(**_: Any) -> None:
    cfg = settings.current()
    logs.setup(cfg.log_level, cfg.log_format)


@signals.heartbeat_sent.connect
def _heartbeat(sender: Any = None, **_: Any) -> None:
    """The consumer loop ran: record it for ``nodewatch health --worker`` (the liveness probe)."""
    now = time.time()
    if now - _last_heartbeat[0] < HEARTBEAT_EVERY:
        return
    from tasks import context

    name = getattr(getattr(sender, "eventer", None), "hostname", None)
    if not name:
        return
    try:
        context.stores().workers.beat(name, now)
        _last_heartbeat[0] = now
    except redis.RedisError as err:  # Redis away: the broker side reports it; the probe then says so
        log.debug("heartbeat not written: %s", type(err).__name__)
