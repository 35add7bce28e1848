"""Scheduling in Redis: when each cluster is due, which left the registry, the scan lock, and the scan records.

Keys (keys.py): ``nw:sched``, ``nw:removed``; ``lock``, ``status``, ``scans``, ``counts`` of each cluster. Claims
and unlocks are Lua scripts, so any number of dispatchers and workers agree.

The scan counters (``counts``: outcomes, and the duration and lag histograms that /metrics exposes) are counted
where the scan happens, in the scan record's own round trip: a scrape only reads them.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from worker.state import keys
from worker.state.batch import Batch, Result, Transaction

# KEYS[1] = schedule zset, KEYS[2] = removed set (clusters dropped from the schedule). ARGV = now, then name, interval, jitter triples. Returns names due now.
# A new cluster gets a random first due time within its jitter, so 500 clusters do not all scan at second 0.
# Next due = previous due + interval (no drift); after a long outage, now + interval (no catch-up burst).
_CLAIM = """
local now = tonumber(ARGV[1])
local due = {}
local wanted = {}
for i = 2, #ARGV, 3 do
  local name, interval, jitter = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  wanted[name] = true
  local at = redis.call('ZSCORE', KEYS[1], name)
  if not at then
    redis.call('ZADD', KEYS[1], now + jitter, name)
    if jitter <= 0 then
      redis.call('ZADD', KEYS[1], now + interval, name)
      table.insert(due, name)
      table.insert(due, tostring(now))
    end
  elseif tonumber(at) <= now then
    local nxt = tonumber(at) + interval
    if nxt <= now then nxt = now + interval end
    redis.call('ZADD', KEYS[1], nxt, name)
    table.insert(due, name)
    table.insert(due, at)
  end
end
for _, name in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if not wanted[name] then
    redis.call('ZREM', KEYS[1], name)
    redis.call('SADD', KEYS[2], name)
  end
end
return due
"""

_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


# upper bounds (seconds) of the scan duration and scan lag histograms (worker/metrics exposes them cumulated)
DURATION_BUCKETS = (0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
LAG_BUCKETS = (0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0)


def bucket_field(name: str, bounds: tuple[float, ...], value: float) -> str:
    """The counts field of the first bucket holding ``value`` (``{name}:{i}``, or ``{name}:inf``): each scan adds
    one to one bucket, the scrape adds them up into Prometheus's cumulative ``le`` buckets."""
    for i, bound in enumerate(bounds):
        if value <= bound:
            return f"{name}:{i}"
    return f"{name}:inf"


@dataclass(frozen=True)
class Due:
    cluster: str
    due_at: float  # when it was due: now - due_at is the dispatch lag


class ScheduleStore:
    def __init__(self, client: Any) -> None:
        self.r: Any = client
        self._claim = client.register_script(_CLAIM)
        self._unlock = client.register_script(_UNLOCK)

    # --- due times ---
    def claim_due(self, clusters: Mapping[str, float], now: float, jitter: bool = True) -> list[Due]:
        """Atomically take the clusters whose due time has come and move their next due time on."""
        args: list[Any] = [now]
        for name, interval in clusters.items():
            args += [name, interval, random.uniform(0, interval) if jitter else 0]  # noqa: S311 (not crypto)
        flat = list(self._claim(keys=[keys.SCHEDULE, keys.REMOVED], args=args))
        return [Due(flat[i], float(flat[i + 1])) for i in range(0, len(flat), 2)]

    def take_removed(self, count: int = 100) -> list[str]:
        """Clusters ``claim_due`` dropped from the schedule since the last call; each is handed out once."""
        return list(self.r.spop(keys.REMOVED, count) or [])

    # --- the scan lock: one scan of a cluster at a time ---
    def acquire_lock(self, cluster: str, token: str, ttl_s: float) -> bool:
        return bool(self.r.set(keys.scan_lock(cluster), token, px=int(ttl_s * 1000), nx=True))

    def locked(self, cluster: str) -> bool:
        return bool(self.r.exists(keys.scan_lock(cluster)))

    def release_lock(self, cluster: str, token: str) -> None:
        self._unlock(keys=[keys.scan_lock(cluster)], args=[token])

    # --- the watchdog's lock: one process decides about a cluster's staleness at a time ---
    def acquire_watch(self, cluster: str, token: str, ttl_s: float = 30.0) -> bool:
        return bool(self.r.set(keys.watchdog_lock(cluster), token, px=int(ttl_s * 1000), nx=True))

    def release_watch(self, cluster: str, token: str) -> None:
        self._unlock(keys=[keys.watchdog_lock(cluster)], args=[token])

    def due_times(self) -> list[tuple[str, float]]:
        """Every scheduled cluster and its next due time."""
        return [(name, float(at)) for name, at in self.r.zrange(keys.SCHEDULE, 0, -1, withscores=True)]

    def read_last_scan(self, batch: Batch, cluster: str) -> Result[tuple[float | None, float | None]]:
        """(when its last scan ended, its interval then), None where there is no record."""
        start = batch.mark()
        batch.pipe.hmget(keys.status(cluster), "ended", "interval_s")

        def decode(r: list[Any]) -> tuple[float | None, float | None]:
            ended, interval = (None if v in (None, "") else float(v) for v in r[0])
            return ended, interval

        return batch.since(start, decode)

    # --- scan records ---
    def record_scan(self, cluster: str, fields: Mapping[str, Any]) -> None:
        """The last scan's record (for `cluster list`) plus a bounded history (overlap and lag checks), and the
        scan counters (outcome, duration and lag buckets) /metrics reads, in the same round trip."""
        pipe = self.r.pipeline(transaction=True)
        counts = keys.counts(cluster)
        duration, lag = float(fields.get("duration_s") or 0.0), max(0.0, float(fields.get("lag_s") or 0.0))
        pipe.hincrby(counts, f"outcome:{fields.get('outcome', 'unknown')}", 1)
        pipe.hincrby(counts, bucket_field("duration", DURATION_BUCKETS, duration), 1)
        pipe.hincrbyfloat(counts, "duration_sum", duration)
        pipe.hincrby(counts, bucket_field("lag", LAG_BUCKETS, lag), 1)
        pipe.hincrbyfloat(counts, "lag_sum", lag)
        pipe.expire(counts, keys.ALERTS_TTL)
        pipe.hset(keys.status(cluster), mapping={k: str(v) for k, v in fields.items()})
        pipe.hincrby(keys.status(cluster), "scans", 1)
        pipe.expire(keys.status(cluster), keys.ALERTS_TTL)
        pipe.lpush(keys.scans(cluster), json.dumps(dict(fields), default=str))
        pipe.ltrim(keys.scans(cluster), 0, keys.SCANS_MAX - 1)
        pipe.expire(keys.scans(cluster), keys.ALERTS_TTL)
        pipe.execute()

    def scan_history(self, cluster: str) -> list[dict[str, Any]]:
        return [json.loads(x) for x in self.r.lrange(keys.scans(cluster), 0, -1)]

    def scan_status(self, cluster: str) -> dict[str, str]:
        return dict(self.r.hgetall(keys.status(cluster)))

    def scheduled(self) -> int:
        """How many clusters a beat has scheduled on this Redis: 0 means no nodewatch has run here."""
        return int(self.r.zcard(keys.SCHEDULE))

    def read_summary(self, batch: Batch, cluster: str) -> Result[tuple[dict[str, str], float | None]]:
        """The last scan's record and the next due time."""
        start = batch.mark()
        batch.pipe.hgetall(keys.status(cluster))
        batch.pipe.zscore(keys.SCHEDULE, cluster)
        return batch.since(start, lambda r: (r[0], r[1]))

    def stage_forget(self, tx: Transaction, cluster: str) -> None:
        """A removed cluster's scan records go (its schedule entry went when ``claim_due`` dropped it)."""
        tx.call("DEL", keys.status(cluster))
        tx.call("DEL", keys.scans(cluster))
        tx.call("DEL", keys.counts(cluster))
