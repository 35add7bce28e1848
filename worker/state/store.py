"""Reads and atomic writes of nodewatch's shared state in Redis (key names in ``keys``).

Everything a second worker would need lives here, never in process memory. Writes that must agree across
workers (commit a scan's alert transitions, claim due clusters, take a scan lock) are single Lua scripts.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import redis

from worker.model import Notification
from worker.rules.lifecycle import AlertState
from worker.state import inventory, keys


def connect(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, decode_responses=True, socket_timeout=10, socket_connect_timeout=5)


# KEYS[1] = alerts hash; KEYS[2] = why stream; then per notification: cooldown key, payload key.
# ARGV[1] = JSON {upsert: [[fp, state]], delete: [fp], notify: [{id, kind, payload, cd_ms}], why: [[fp, reason]],
#                 alerts_ttl, payload_ttl, why_maxlen}
# Returns the ids of notifications accepted (the caller enqueues exactly those).
_COMMIT = """
local a = cjson.decode(ARGV[1])
for _, kv in ipairs(a.upsert) do redis.call('HSET', KEYS[1], kv[1], kv[2]) end
for _, fp in ipairs(a.delete) do redis.call('HDEL', KEYS[1], fp) end
redis.call('EXPIRE', KEYS[1], a.alerts_ttl)
local accepted = {}
for i, n in ipairs(a.notify) do
  local cd, pl = KEYS[1 + 2 * i], KEYS[2 + 2 * i]
  local ok = true
  if n.kind == 'repeat' then
    ok = redis.call('SET', cd, '1', 'PX', n.cd_ms, 'NX')
  elseif n.kind == 'resolved' then
    redis.call('DEL', cd)
  elseif n.cd_ms > 0 then
    redis.call('SET', cd, '1', 'PX', n.cd_ms)
  end
  if ok then
    if redis.call('SET', pl, n.payload, 'EX', a.payload_ttl, 'NX') then
      table.insert(accepted, n.id)
    end
  end
end
for _, w in ipairs(a.why) do
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', a.why_maxlen, '*', 'fp', w[1], 'reason', w[2])
end
return accepted
"""

# KEYS[1] = schedule zset. ARGV = now, then name, interval, jitter triples. Returns names due now.
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
  if not wanted[name] then redis.call('ZREM', KEYS[1], name) end
end
return due
"""

_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass(frozen=True)
class Due:
    cluster: str
    due_at: float  # when it was due: now - due_at is the dispatch lag


class Store:
    def __init__(self, client: redis.Redis) -> None:
        # redis-py's return types do not know decode_responses=True; Any is the honest type here
        self.r: Any = client
        self._commit = client.register_script(_COMMIT)
        self._claim = client.register_script(_CLAIM)
        self._unlock = client.register_script(_UNLOCK)

    # --- alert state ---
    def load_alerts(self, cluster: str) -> dict[str, AlertState]:
        raw = self.r.hgetall(keys.alerts(cluster))
        return {fp: AlertState.from_json(json.loads(v)) for fp, v in raw.items()}

    def cooldowns(self, cluster: str, fingerprints: Iterable[str]) -> set[str]:
        fps = list(fingerprints)
        if not fps:
            return set()
        pipe = self.r.pipeline(transaction=False)
        for fp in fps:
            pipe.exists(keys.cooldown(cluster, fp))
        return {fp for fp, alive in zip(fps, pipe.execute(), strict=True) if alive}

    def commit(
        self,
        cluster: str,
        upsert: Mapping[str, AlertState],
        delete: Sequence[str],
        notifications: Sequence[tuple[Notification, float]],
        why: Sequence[tuple[str, str]] = (),
    ) -> list[str]:
        """Write a scan's transitions and store its notifications; returns the ids accepted for sending.

        ``notifications`` pairs each notification with its cooldown in seconds (0 = none). A repeat whose
        cooldown key is still alive, or a notification id already stored, is dropped here, atomically: two
        workers committing the same transition produce one message.
        """
        key_list = [keys.alerts(cluster), keys.why(cluster)]
        notify = []
        for n, cooldown_s in notifications:
            key_list += [keys.cooldown(cluster, n.fingerprint), keys.payload(cluster, n.id)]
            notify.append(
                {
                    "id": n.id,
                    "kind": n.kind.value,
                    "payload": json.dumps(n.to_json(), ensure_ascii=False),
                    "cd_ms": int(cooldown_s * 1000),
                }
            )
        arg = {
            "upsert": [[fp, json.dumps(s.to_json())] for fp, s in upsert.items()],
            "delete": list(delete),
            "notify": notify,
            "why": [list(w) for w in why],
            "alerts_ttl": keys.ALERTS_TTL,
            "payload_ttl": keys.PAYLOAD_TTL,
            "why_maxlen": keys.WHY_MAXLEN,
        }
        accepted = self._commit(keys=key_list, args=[json.dumps(arg, ensure_ascii=False)])
        return list(accepted)

    def notification(self, cluster: str, notification_id: str) -> Notification | None:
        raw = self.r.get(keys.payload(cluster, notification_id))
        return Notification.from_json(json.loads(raw)) if raw else None

    def why(self, cluster: str, count: int = 100) -> list[dict[str, str]]:
        rows = self.r.xrevrange(keys.why(cluster), count=count)
        return [dict(fields, id=entry_id) for entry_id, fields in rows]

    # --- the last scan's nodes, for the comparing rules ---
    def load_inventory(self, cluster: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        return inventory.load(self.r, cluster)

    def save_inventory(self, sample: Any, last_ready: Mapping[str, Any]) -> None:
        inventory.save(self.r, sample, last_ready)

    # --- delivery ---
    def was_delivered(self, cluster: str, notification_id: str, receiver: str) -> bool:
        return bool(self.r.exists(keys.delivered(cluster, notification_id, receiver)))

    def mark_delivered(self, cluster: str, notification_id: str, receiver: str) -> None:
        pipe = self.r.pipeline(transaction=True)
        pipe.set(keys.delivered(cluster, notification_id, receiver), str(time.time()), ex=keys.PAYLOAD_TTL)
        pipe.hincrby(keys.STATS, f"delivered:{receiver}", 1)
        pipe.execute()

    def count(self, field: str, by: int = 1) -> None:
        self.r.hincrby(keys.STATS, field, by)

    def stats(self) -> dict[str, int]:
        return {k: int(v) for k, v in self.r.hgetall(keys.STATS).items()}

    def dead_letter(self, entry: Mapping[str, Any]) -> None:
        pipe = self.r.pipeline(transaction=True)
        pipe.lpush(keys.DEADLETTERS, json.dumps(dict(entry), ensure_ascii=False))
        pipe.ltrim(keys.DEADLETTERS, 0, keys.DEADLETTER_MAX - 1)
        pipe.hincrby(keys.STATS, f"deadlettered:{entry.get('receiver', '?')}", 1)
        pipe.execute()

    def dead_letters(self) -> list[dict[str, Any]]:
        return [json.loads(x) for x in self.r.lrange(keys.DEADLETTERS, 0, -1)]

    def take_dead_letters(self) -> list[dict[str, Any]]:
        pipe = self.r.pipeline(transaction=True)
        pipe.lrange(keys.DEADLETTERS, 0, -1)
        pipe.delete(keys.DEADLETTERS)
        raw, _ = pipe.execute()
        return [json.loads(x) for x in raw]

    # --- scheduling and locks ---
    def claim_due(self, clusters: Mapping[str, float], now: float, jitter: bool = True) -> list[Due]:
        """Atomically take the clusters whose due time has come and move their next due time on."""
        args: list[Any] = [now]
        for name, interval in clusters.items():
            args += [name, interval, random.uniform(0, interval) if jitter else 0]  # noqa: S311 (not crypto)
        out = self._claim(keys=[keys.SCHEDULE], args=args)
        flat = list(out)
        return [Due(flat[i], float(flat[i + 1])) for i in range(0, len(flat), 2)]

    def next_due(self) -> dict[str, float]:
        return {m: s for m, s in self.r.zrange(keys.SCHEDULE, 0, -1, withscores=True)}

    def acquire_scan_lock(self, cluster: str, token: str, ttl_s: float) -> bool:
        return bool(self.r.set(keys.scan_lock(cluster), token, px=int(ttl_s * 1000), nx=True))

    def scan_locked(self, cluster: str) -> bool:
        return bool(self.r.exists(keys.scan_lock(cluster)))

    def release_scan_lock(self, cluster: str, token: str) -> None:
        self._unlock(keys=[keys.scan_lock(cluster)], args=[token])

    # --- per-cluster scan records ---
    def record_scan(self, cluster: str, fields: Mapping[str, Any]) -> None:
        """The last scan's record (for `cluster list`) plus a bounded history (overlap and lag checks)."""
        pipe = self.r.pipeline(transaction=True)
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
        return self.r.hgetall(keys.status(cluster))

    def add_failure(self, cluster: str) -> int:
        pipe = self.r.pipeline(transaction=True)
        pipe.incr(keys.failures(cluster))
        pipe.expire(keys.failures(cluster), keys.ALERTS_TTL)
        n, _ = pipe.execute()
        return int(n)

    def clear_failures(self, cluster: str) -> None:
        self.r.delete(keys.failures(cluster))
