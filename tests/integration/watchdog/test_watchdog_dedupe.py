"""Whichever process notices first pages, and only one does: several processes run the watchdog's pass at once
on a real Redis; one cluster_not_scanned message is accepted, one heartbeat per receiver and interval."""

from __future__ import annotations

import multiprocessing
from typing import Any

import redis

from tests.configs import immediate
from worker import settings, watchdog
from worker.model import NotificationKind
from worker.state.store import Stores, connect

CLUSTER = "c1"
NOW = 1_000_000.0


def cfg() -> settings.Settings:
    return settings.parse(
        immediate({"watchdog": {"heartbeatInterval": "1h", "receivers": ["hook"], "minStale": 0},
                   "receivers": [{"name": "hook", "kind": "webhook", "url": "http://127.0.0.1:9/hook"}]}),
        "x.yaml", env={},
    )  # fmt: skip


def one_pass(url: str, now: float, out: Any) -> None:
    stores = Stores(connect(url))
    c = cfg()
    out.put([j.notification for j in watchdog.check(stores, c, now) + watchdog.heartbeats(stores, c, now)])


def passes(url: str, now: float, n: int = 4) -> list[str]:
    # fork: the passes start together (spawn re-imported nodewatch in each, about 1 s of CPU apiece, staggering them)
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    procs = [ctx.Process(target=one_pass, args=(url, now, out)) for _ in range(n)]
    for p in procs:
        p.start()
    got = [x for _ in procs for x in out.get(timeout=60)]
    for p in procs:
        p.join(30)
    return got


def test_four_processes_page_once_and_resolve_once(redis_url: str, redis_client: redis.Redis) -> None:
    stores = Stores(redis_client)
    stores.schedule.claim_due({CLUSTER: 60.0}, NOW - 600, jitter=False)
    stores.schedule.record_scan(
        CLUSTER, {"ended": NOW - 400, "interval_s": 60, "outcome": "ok", "duration_s": 1}
    )
    sent = passes(redis_url, NOW)
    fired = [i for i in sent if not i.startswith("heartbeat-")]
    assert len(fired) == 1 and fired[0].endswith("-firing"), sent
    assert len([i for i in sent if i.startswith("heartbeat-")]) == 1
    assert stores.notifications.get(CLUSTER, fired[0]).kind is NotificationKind.FIRING  # type: ignore[union-attr]
    assert passes(redis_url, NOW + 30) == []  # still stale: nothing new; the heartbeat waits its hour
    stores.schedule.record_scan(
        CLUSTER, {"ended": NOW + 50, "interval_s": 60, "outcome": "ok", "duration_s": 1}
    )
    resolved = passes(redis_url, NOW + 60)
    assert len(resolved) == 1 and resolved[0].endswith("-resolved"), resolved
