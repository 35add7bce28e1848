"""worker/state/ratelimit against a real Redis: one bucket shared by every client, the digest queue's order, and
the flush flag that never leaves a held message without a flush."""

from __future__ import annotations

import threading

import redis

from worker.model import Severity
from worker.state import keys, ratelimit


def test_bucket_is_shared_by_every_client(redis_url: str) -> None:
    bucket = ratelimit.Bucket.for_limit(20, 60)
    assert bucket is not None and bucket.capacity == 10
    clients = [
        ratelimit.RateLimiter(redis.Redis.from_url(redis_url, decode_responses=True)) for _ in range(4)
    ]
    results: list[float] = []
    lock = threading.Lock()

    def worker(lim: ratelimit.RateLimiter) -> None:
        for _ in range(10):
            wait = lim.take("ding", bucket)
            with lock:
                results.append(wait)

    threads = [threading.Thread(target=worker, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    allowed = [w for w in results if w == 0.0]
    assert len(allowed) == 10  # 40 tries from 4 clients, the burst is 10 in all
    # the next token comes after 60 s * 1.05 / 10 = 6.3 s
    assert 0 < min(w for w in results if w > 0) <= 6.3


def test_unlimited_receivers_never_wait(redis_client: redis.Redis) -> None:
    lim = ratelimit.RateLimiter(redis_client)
    assert all(lim.take("hook", None) == 0.0 for _ in range(100))


def test_wait_hint_does_not_take(redis_client: redis.Redis) -> None:
    lim = ratelimit.RateLimiter(redis_client)
    bucket = ratelimit.Bucket(capacity=1, per_second=0.5)
    assert lim.wait_hint("r", bucket) == 0.0
    assert lim.take("r", bucket) == 0.0
    hint = lim.wait_hint("r", bucket)
    assert 1.5 < hint <= 2.0
    assert 1.5 < lim.take("r", bucket) <= 2.0  # the hint did not consume anything


def test_held_messages_come_back_critical_first_then_oldest(redis_client: redis.Redis) -> None:
    lim = ratelimit.RateLimiter(redis_client)
    held = [("c1", "w-old", Severity.WARNING, 100.0), ("c2", "c-new", Severity.CRITICAL, 300.0),
            ("c1", "i", Severity.INFO, 50.0), ("c1", "c-old", Severity.CRITICAL, 200.0),
            ("c1", "w-new", Severity.WARNING, 400.0)]  # fmt: skip
    first = [lim.hold("r", c, n, ratelimit.priority(int(s), t), 5.0) for c, n, s, t in held]
    assert first == [True, False, False, False, False]  # one flush is scheduled, by the first holder
    assert lim.waiting("r", 10) == [
        ("c1", "c-old"),
        ("c2", "c-new"),
        ("c1", "w-old"),
        ("c1", "w-new"),
        ("c1", "i"),
    ]
    assert lim.waiting("r", 2) == [("c1", "c-old"), ("c2", "c-new")]
    assert redis_client.ttl(keys.waiting("r")) > 0 and redis_client.pttl(keys.flush("r")) > 5000


def test_finish_flush_only_when_nothing_waits(redis_client: redis.Redis) -> None:
    lim = ratelimit.RateLimiter(redis_client)
    lim.hold("r", "c1", "a", 1.0, 1.0)
    assert not lim.finish_flush("r")  # "a" still waits: the flag stays, the flush must go on
    assert redis_client.exists(keys.flush("r"))
    lim.release("r", [("c1", "a")])
    assert lim.finish_flush("r") and not redis_client.exists(keys.flush("r"))
    # the next holder schedules a new flush
    assert lim.hold("r", "c1", "b", 1.0, 1.0)
