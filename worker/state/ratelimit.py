"""Per-receiver rate limits in Redis, shared by every worker: a token bucket (Lua, Redis's own clock) and the
queue of messages held back for the next digest.

Sizing: a bucket of capacity C refilled at r tokens/s lets through at most C + r*W messages in any window W. To
promise "never more than N per W" at the service we take C = N // 2 and r = (N - C) / (W * (1 + MARGIN)): the
margin absorbs network latency differences between requests (the service counts arrivals, we count departures).
Half the limit as burst keeps the first messages of a storm immediate and the rest flowing as digests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import redis

from worker.state import keys

MARGIN = 0.05

# KEYS[1] = bucket hash. ARGV = capacity, refill per ms. Returns {1, 0} (taken) or {0, ms to wait}.
_TAKE = """
local cap = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1]) or cap
local ts = tonumber(b[2]) or now
tokens = math.min(cap, tokens + math.max(0, now - ts) * rate)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.ceil((1 - tokens) / rate)
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(cap / rate) + 1000)
if wait > 0 then return {0, wait} end
return {1, 0}
"""

# KEYS[1] = waiting zset, KEYS[2] = flush flag. ARGV = member, score, ttl s, flag ttl ms.
# Returns 1 when the caller must schedule a flush (none was scheduled), else 0.
_HOLD = """
redis.call('ZADD', KEYS[1], 'NX', ARGV[2], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
if redis.call('SET', KEYS[2], '1', 'PX', ARGV[4], 'NX') then return 1 end
return 0
"""

# KEYS[1] = waiting zset, KEYS[2] = flush flag. Drops the flag only when nothing waits (returns 1), atomically
# with respect to _HOLD, so a message held at that moment is never left without a flush.
_FINISH = """
if redis.call('ZCARD', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[2])
  return 1
end
return 0
"""


@dataclass(frozen=True)
class Bucket:
    capacity: float
    per_second: float  # refill rate

    @classmethod
    def for_limit(cls, messages: int, per: float) -> Bucket | None:
        """The bucket that keeps a service under ``messages`` per ``per`` seconds; None when unlimited."""
        if messages <= 0:
            return None
        capacity = max(1, messages // 2)
        refill = max(messages - capacity, 1)
        return cls(capacity=float(capacity), per_second=refill / (per * (1 + MARGIN)))


def member(cluster: str, notification_id: str) -> str:
    return f"{cluster}\t{notification_id}"


def parse_member(m: str) -> tuple[str, str]:
    cluster, _, nid = m.partition("\t")
    return cluster, nid


def priority(severity: int, created_at: float) -> float:
    """Lower first: critical (3) before warning (2) before info (1), then oldest first."""
    return (3 - severity) * 1e11 + created_at


class RateLimiter:
    def __init__(self, client: redis.Redis) -> None:
        self.r: Any = client
        self._take = client.register_script(_TAKE)
        self._hold = client.register_script(_HOLD)
        self._finish = client.register_script(_FINISH)

    def take(self, receiver: str, bucket: Bucket | None) -> float:
        """Take one token: 0.0 when allowed now, else the seconds until a token will be there."""
        if bucket is None:
            return 0.0
        ok, wait_ms = self._take(
            keys=[keys.bucket(receiver)], args=[bucket.capacity, bucket.per_second / 1000]
        )
        return 0.0 if int(ok) else max(int(wait_ms), 1) / 1000

    def hold(self, receiver: str, cluster: str, notification_id: str, score: float, flush_in: float) -> bool:
        """Queue a message for the receiver's next digest; True when the caller must schedule the flush."""
        flag_ms = int((flush_in + keys.FLUSH_SLACK) * 1000)
        out = self._hold(
            keys=[keys.waiting(receiver), keys.flush(receiver)],
            args=[member(cluster, notification_id), score, keys.PAYLOAD_TTL, flag_ms],
        )
        return bool(int(out))

    def waiting(self, receiver: str, limit: int) -> list[tuple[str, str]]:
        """Up to ``limit`` held messages, critical first; they stay queued until ``release`` (crash-safe)."""
        return [parse_member(m) for m in self.r.zrange(keys.waiting(receiver), 0, max(limit, 1) - 1)]

    def waiting_count(self, receiver: str) -> int:
        return int(self.r.zcard(keys.waiting(receiver)))

    def release(self, receiver: str, items: list[tuple[str, str]]) -> None:
        if items:
            self.r.zrem(keys.waiting(receiver), *[member(c, n) for c, n in items])

    def keep_flush(self, receiver: str, flush_in: float) -> None:
        """The flush task re-arms its flag each time it reschedules itself."""
        self.r.set(keys.flush(receiver), "1", px=int((flush_in + keys.FLUSH_SLACK) * 1000))

    def finish_flush(self, receiver: str) -> bool:
        """End this receiver's flush cycle when nothing waits; False when messages wait (flush again)."""
        return bool(int(self._finish(keys=[keys.waiting(receiver), keys.flush(receiver)])))

    def wait_hint(self, receiver: str, bucket: Bucket | None) -> float:
        """Seconds until the next token, without taking one (for scheduling a flush)."""
        if bucket is None:
            return 0.0
        tokens, ts = self.r.hmget(keys.bucket(receiver), "tokens", "ts")
        if tokens is None or ts is None:
            return 0.0
        sec, usec = self.r.time()
        now_ms = sec * 1000 + usec // 1000
        have = min(bucket.capacity, float(tokens) + max(0, now_ms - int(ts)) * bucket.per_second / 1000)
        return 0.0 if have >= 1 else math.ceil((1 - have) / bucket.per_second * 1000) / 1000
