"""Reads and atomic writes of nodewatch's shared state in Redis (key names in ``keys``).

Everything a second worker would need lives here, never in process memory. Writes that must agree across
workers (commit a scan's alert transitions, claim due clusters, take a scan lock) are single Lua scripts.
"""

from __future__ import annotations

import dataclasses
import json
import random
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import redis

from worker.model import Notification
from worker.model.alerts import AlertState, FlapRecord, Silence
from worker.state import inventory, keys


class _RoundTrips(threading.local):
    count = 0


# requests sent to Redis by this thread (a pipeline is one): scan records show them
round_trips = _RoundTrips()


def connect(url: str) -> redis.Redis:
    client = redis.Redis.from_url(url, decode_responses=True, socket_timeout=10, socket_connect_timeout=5)
    pool = client.connection_pool
    base = pool.connection_class

    class Counted(base):  # type: ignore[valid-type, misc]
        def send_packed_command(self, command: Any, check_health: bool = True) -> None:
            round_trips.count += 1
            super().send_packed_command(command, check_health)

    pool.connection_class = Counted
    return client


# All keys are in KEYS (Redis Cluster safe: one cluster's keys share a hash tag); ARGV[1] is JSON naming them by
# index: {upsert: [[fp, state]], delete: [fp], flaps: [[fp, record | ""]],
#         notify: [{id, kind, payload, ki_cd, ki_payload, cd_ms}], cd_set: [[ki, ms]], cd_del: [ki],
#         why: [[fp, reason]], alerts_ttl, payload_ttl, why_maxlen}
# KEYS[1] alerts hash, KEYS[2] why stream, KEYS[3] flap hash, then the keys the entries index.
# Returns the ids of notifications accepted (the caller enqueues exactly those).
_COMMIT = """
local a = cjson.decode(ARGV[1])
for _, kv in ipairs(a.upsert) do redis.call('HSET', KEYS[1], kv[1], kv[2]) end
for _, fp in ipairs(a.delete) do redis.call('HDEL', KEYS[1], fp) end
redis.call('EXPIRE', KEYS[1], a.alerts_ttl)
for _, kv in ipairs(a.flaps) do
  if kv[2] == '' then redis.call('HDEL', KEYS[3], kv[1]) else redis.call('HSET', KEYS[3], kv[1], kv[2]) end
end
if redis.call('EXISTS', KEYS[3]) == 1 then redis.call('EXPIRE', KEYS[3], a.alerts_ttl) end
local accepted = {}
for _, n in ipairs(a.notify) do
  local ok = true
  if n.kind == 'repeat' then
    -- the cooldown key is the shared "do not repeat yet": only one worker can take it
    ok = redis.call('SET', KEYS[n.ki_cd], '1', 'PX', n.cd_ms, 'NX')
  end
  if ok and redis.call('SET', KEYS[n.ki_payload], n.payload, 'EX', a.payload_ttl, 'NX') then
    table.insert(accepted, n.id)
  end
end
for _, c in ipairs(a.cd_set) do redis.call('SET', KEYS[c[1]], '1', 'PX', c[2]) end
for _, ki in ipairs(a.cd_del) do redis.call('DEL', KEYS[ki]) end
for _, w in ipairs(a.why) do
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', a.why_maxlen, '*', 'fp', w[1], 'reason', w[2])
end
return accepted
"""

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


@dataclass
class Commit:
    """Everything one scan writes, committed by one Lua script."""

    repeat_s: float  # the repeat interval: cooldown keys live this long
    upsert: dict[str, AlertState] = field(default_factory=dict)
    delete: list[str] = field(default_factory=list)
    flaps: dict[str, FlapRecord | None] = field(default_factory=dict)  # None: forget the record
    notifications: list[Notification] = field(default_factory=list)
    cooldown_start: list[str] = field(default_factory=list)  # fingerprints whose cooldown (re)starts now
    cooldown_clear: list[str] = field(default_factory=list)
    why: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class ScanState:
    """What one scan of a cluster reads from Redis before it runs its rules (``Store.load_scan_state``)."""

    alerts: dict[str, AlertState]
    flaps: dict[str, FlapRecord]
    inventory: dict[str, str]  # the raw inventory hash (``inventory.decode`` reads it)
    silences: list[Silence]


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

    def commit(self, cluster: str, c: Commit) -> list[str]:
        """Write a scan's transitions and store its notifications; returns the ids accepted for sending.

        A repeat whose cooldown key is still alive, or a notification id already stored, is dropped here,
        atomically: two workers committing the same transition produce one message.
        """
        key_list = [keys.alerts(cluster), keys.why(cluster), keys.flaps(cluster)]

        def ki(key: str) -> int:
            key_list.append(key)
            return len(key_list)  # Lua indexes from 1

        notify = [
            {
                "id": n.id,
                "kind": n.kind.value,
                "payload": json.dumps(n.to_json(), ensure_ascii=False),
                "ki_cd": ki(keys.cooldown(cluster, n.fingerprint)),
                "ki_payload": ki(keys.payload(cluster, n.id)),
                "cd_ms": int(c.repeat_s * 1000),
            }
            for n in c.notifications
        ]
        arg = {
            "upsert": [[fp, json.dumps(s.to_json())] for fp, s in c.upsert.items()],
            "delete": list(c.delete),
            "flaps": [[fp, json.dumps(r.to_json()) if r else ""] for fp, r in c.flaps.items()],
            "notify": notify,
            "cd_set": [[ki(keys.cooldown(cluster, fp)), int(c.repeat_s * 1000)] for fp in c.cooldown_start],
            "cd_del": [ki(keys.cooldown(cluster, fp)) for fp in c.cooldown_clear],
            "why": [list(w) for w in c.why],
            "alerts_ttl": keys.ALERTS_TTL,
            "payload_ttl": keys.PAYLOAD_TTL,
            "why_maxlen": keys.WHY_MAXLEN,
        }
        accepted = self._commit(keys=key_list, args=[json.dumps(arg, ensure_ascii=False)])
        return list(accepted)

    def load_flaps(self, cluster: str) -> dict[str, FlapRecord]:
        raw = self.r.hgetall(keys.flaps(cluster))
        return {fp: FlapRecord.from_json(json.loads(v)) for fp, v in raw.items()}

    # --- storms: a grouped message was sent for (cluster, rule); later firings wait in a buffer ---
    def storms_active(self, cluster: str, rules: Iterable[str]) -> set[str]:
        rules = list(rules)
        if not rules:
            return set()
        pipe = self.r.pipeline(transaction=False)
        for rule in rules:
            pipe.exists(keys.storm(cluster, rule))
        return {r for r, alive in zip(rules, pipe.execute(), strict=True) if alive}

    def start_storm(self, cluster: str, rule: str, ttl_s: float) -> None:
        self.r.set(keys.storm(cluster, rule), "1", px=max(1, int(ttl_s * 1000)))

    def buffer_for_group(self, cluster: str, notifications: Sequence[Notification]) -> None:
        if not notifications:
            return
        pipe = self.r.pipeline(transaction=True)
        for n in notifications:
            pipe.hset(
                keys.group_buffer(cluster), f"{n.rule}|{n.id}", json.dumps(n.to_json(), ensure_ascii=False)
            )
        pipe.expire(keys.group_buffer(cluster), keys.PAYLOAD_TTL)
        pipe.execute()

    def take_group_buffers(self, cluster: str, skip_rules: set[str]) -> dict[str, list[Notification]]:
        """Buffered notifications by rule, for the rules whose storm window has ended (removed from the buffer)."""
        raw = self.r.hgetall(keys.group_buffer(cluster))
        out: dict[str, list[Notification]] = {}
        for name, value in raw.items():
            rule = name.split("|", 1)[0]
            if rule not in skip_rules:
                out.setdefault(rule, []).append(Notification.from_json(json.loads(value)))
        taken = [f for f in raw if f.split("|", 1)[0] in out]
        if taken:
            self.r.hdel(keys.group_buffer(cluster), *taken)
        return out

    # --- silences (configuration-like: kept until they end, pruned then) ---
    def add_silence(self, silence: Silence) -> None:
        self.r.hset(keys.SILENCES, silence.id, json.dumps(silence.to_json(), ensure_ascii=False))

    def silences(self, now: float | None = None) -> list[Silence]:
        now = time.time() if now is None else now
        out: list[Silence] = []
        expired: list[str] = []
        for sid, raw in self.r.hgetall(keys.SILENCES).items():
            s = Silence.from_json(json.loads(raw))
            if s.ends <= now:
                expired.append(sid)
            else:
                out.append(s)
        if expired:
            self.r.hdel(keys.SILENCES, *expired)
        return sorted(out, key=lambda s: s.ends)

    def expire_silence(self, silence_id: str, now: float | None = None) -> bool:
        raw = self.r.hget(keys.SILENCES, silence_id)
        if raw is None:
            return False
        s = Silence.from_json(json.loads(raw))
        self.r.hset(
            keys.SILENCES,
            silence_id,
            json.dumps({**s.to_json(), "ends": time.time() if now is None else now}),
        )
        return True

    def set_ack(self, cluster: str, fp: str, acked: bool = True) -> AlertState | None:
        raw = self.r.hget(keys.alerts(cluster), fp)
        if raw is None:
            return None
        state = dataclasses.replace(AlertState.from_json(json.loads(raw)), acked=acked)
        self.r.hset(keys.alerts(cluster), fp, json.dumps(state.to_json()))
        return state

    def notification(self, cluster: str, notification_id: str) -> Notification | None:
        raw = self.r.get(keys.payload(cluster, notification_id))
        return Notification.from_json(json.loads(raw)) if raw else None

    def why(self, cluster: str, count: int = 100) -> list[dict[str, str]]:
        rows = self.r.xrevrange(keys.why(cluster), count=count)
        return [dict(fields, id=entry_id) for entry_id, fields in rows]

    # --- one scan's reads and writes, each in one round trip ---
    def load_scan_state(self, cluster: str, now: float) -> ScanState:
        """Everything a scan reads before it knows its findings, in one round trip: alert states, flap records,
        the last inventory and the silences."""
        pipe = self.r.pipeline(transaction=False)
        pipe.hgetall(keys.alerts(cluster))
        pipe.hgetall(keys.flaps(cluster))
        pipe.hgetall(keys.nodes(cluster))
        pipe.hgetall(keys.SILENCES)
        alerts, flaps, inv, silences = pipe.execute()
        return ScanState(
            alerts={fp: AlertState.from_json(json.loads(v)) for fp, v in alerts.items()},
            flaps={fp: FlapRecord.from_json(json.loads(v)) for fp, v in flaps.items()},
            inventory=inv,
            silences=[
                s for s in (Silence.from_json(json.loads(v)) for v in silences.values()) if s.ends > now
            ],
        )

    def save_scan(self, cluster: str, inv: inventory.Diff | None) -> int:
        """A scan's inventory changes and its failure count in one round trip: ``inv`` None means the scan
        failed (the count goes up and is returned), else the count is cleared (0 is returned)."""
        pipe = self.r.pipeline(transaction=True)
        if inv is None:
            pipe.incr(keys.failures(cluster))
            pipe.expire(keys.failures(cluster), keys.ALERTS_TTL)
        else:
            pipe.delete(keys.failures(cluster))
            if inv.set:
                pipe.hset(keys.nodes(cluster), mapping=inv.set)
            if inv.delete:
                pipe.hdel(keys.nodes(cluster), *inv.delete)
            pipe.expire(keys.nodes(cluster), keys.ALERTS_TTL)
        out = pipe.execute()
        return int(out[0]) if inv is None else 0

    # --- the last scan's nodes, for the comparing rules ---
    def load_inventory(self, cluster: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        return inventory.decode(cluster, self.r.hgetall(keys.nodes(cluster)))

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
        out = self._claim(keys=[keys.SCHEDULE, keys.REMOVED], args=args)
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

    # --- clusters removed from the registry (appended for issue 5) ---
    def take_removed(self, count: int = 100) -> list[str]:
        """Clusters ``claim_due`` dropped from the schedule since the last call; each is handed out once."""
        return list(self.r.spop(keys.REMOVED, count) or [])

    def cluster_summary(self, cluster: str) -> dict[str, Any]:
        """What `cluster list` shows: the last scan's record, failures in a row, alerts firing, next due time."""
        pipe = self.r.pipeline(transaction=False)
        pipe.hgetall(keys.status(cluster))
        pipe.get(keys.failures(cluster))
        pipe.hvals(keys.alerts(cluster))
        pipe.zscore(keys.SCHEDULE, cluster)
        status, fails, alerts, due = pipe.execute()
        firing = sum(1 for raw in alerts if json.loads(raw).get("status") == "firing")
        return {"status": status, "failures": int(fails or 0), "firing": firing, "next_due": due}

    # --- routing and delivery (issue 6) ---
    def note_why(self, cluster: str, fp: str, reason: str) -> None:
        """Record why a notification was not sent (or was delayed) to a receiver: "why wasn't I paged?"."""
        self.r.xadd(keys.why(cluster), {"fp": fp, "reason": reason}, maxlen=keys.WHY_MAXLEN, approximate=True)

    def route_sent_at(self, cluster: str, receiver: str, fp: str) -> float | None:
        """When ``receiver`` was last sent a message about alert ``fp`` by a route with a repeat interval."""
        value = self.r.get(keys.route_repeat(cluster, receiver, fp))
        return float(value) if value is not None else None

    def mark_route_sent(self, cluster: str, receiver: str, fp: str, now: float, interval_s: float) -> None:
        # kept a day at least: a later route with a longer interval still finds it
        ttl = max(int(interval_s), keys.ROUTE_REPEAT_MIN_TTL)
        self.r.set(keys.route_repeat(cluster, receiver, fp), repr(now), ex=ttl)

    # --- Redis loss (issue 12) ---
    def check_epoch(self, seen: str | None, seen_at: float, now: float) -> str:
        """The state's epoch, created if absent. When it differs from ``seen`` (what this process saw last, at
        ``seen_at``), the state was lost since then: ``nw:state_lost_at`` says ``seen_at`` for STATE_LOST_NOTE_S."""
        fresh = f"{int(now)}-{random.getrandbits(48):012x}"  # an id, not a secret
        args = [seen or "", fresh, repr(seen_at), keys.STATE_LOST_NOTE_S, keys.ALERTS_TTL]
        return str(self.r.register_script(_EPOCH)(keys=[keys.EPOCH, keys.STATE_LOST_AT], args=args))

    def state_lost_at(self) -> float | None:
        """When a loss of the state was noticed, if within the last STATE_LOST_NOTE_S."""
        value = self.r.get(keys.STATE_LOST_AT)
        return float(value) if value is not None else None


# KEYS[1] = epoch, KEYS[2] = state-lost-at; ARGV = epoch seen before ('' = none), a fresh epoch, when it was seen,
# how long messages carry the note (seconds), how long the epoch lives unchecked (seconds)
_EPOCH = """
local cur = redis.call('GET', KEYS[1])
if not cur then
  cur = ARGV[2]
end
redis.call('SET', KEYS[1], cur, 'EX', ARGV[5])
if ARGV[1] ~= '' and ARGV[1] ~= cur then
  redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[4], 'NX')
end
return cur
"""


# --- a removed cluster (issue 12): nothing of it is kept without a bound ---
def forget_cluster(store: Store, cluster: str) -> None:
    """Delete what only the removed cluster's scans read (node snapshot, flap records, scan records, failures,
    storm buffer) and give its why-stream a TTL: ``alerts why`` answers for PAYLOAD_TTL more, then it is gone.
    Its other keys (payloads, delivery log, cooldowns, route repeats, storms) expire by their own TTLs (keys.py).
    The closing notices queued just before may still add to the why-stream: it keeps the TTL set here."""
    why = keys.why(cluster)
    pipe = store.r.pipeline(transaction=True)
    pipe.delete(
        keys.nodes(cluster),
        keys.flaps(cluster),
        keys.status(cluster),
        keys.scans(cluster),
        keys.failures(cluster),
        keys.group_buffer(cluster),
    )
    pipe.xadd(why, {"fp": "", "reason": "cluster removed"}, maxlen=keys.WHY_MAXLEN, approximate=True)
    pipe.expire(why, keys.PAYLOAD_TTL)
    pipe.execute()
