"""Alert state in Redis: open alerts, flap records, cooldowns, storm markers and the storm group buffer.

Keys (keys.py): ``alerts``, ``flap``, ``cd:{fp}``, ``storm:{rule}``, ``groupbuf`` of each cluster, and the
notification payloads ``n:{id}`` a scan accepts (written here, in the scan's commit; read by
``notifications.NotificationStore``). Every write of a scan goes through ``stage_*`` onto the scan's one
``batch.Transaction``; the other methods are reads, and the operator's ack.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from worker.model import Notification, NotificationKind
from worker.model.alerts import AlertState, FlapRecord
from worker.state import keys
from worker.state.batch import Batch, Result, Transaction


@dataclass
class Transitions:
    """What the lifecycle, flap and storm stages of one scan write (``Stores.commit_scan`` stages it)."""

    repeat_s: float  # the repeat interval: cooldown keys live this long
    upsert: dict[str, AlertState] = field(default_factory=dict)
    delete: list[str] = field(default_factory=list)
    flaps: dict[str, FlapRecord | None] = field(default_factory=dict)  # None: forget the record
    notifications: list[Notification] = field(default_factory=list)  # offered: stored once, repeats gated
    cooldown_start: list[str] = field(default_factory=list)  # fingerprints whose cooldown (re)starts now
    cooldown_clear: list[str] = field(default_factory=list)
    storms_started: list[str] = field(default_factory=list)  # rules whose storm starts now
    storm_s: float = 0.0  # how long a storm marker lives in Redis (noise.groupInterval)
    storm_until: float = 0.0  # when the storms started now end, on the scan's clock (the marker's value)
    group_wait: list[Notification] = field(default_factory=list)  # into the group buffer
    group_taken: list[str] = field(default_factory=list)  # group buffer entries flushed now
    why: list[tuple[str, str]] = field(
        default_factory=list
    )  # (fingerprint, reason) held back, for the why-stream


@dataclass(frozen=True)
class ScanAlerts:
    """The alert state one scan reads before it runs its rules."""

    alerts: dict[str, AlertState]
    flaps: dict[str, FlapRecord]
    group_buffer: dict[str, str]  # raw entries: ``buffered`` reads them


def _alerts(raw: dict[str, str]) -> dict[str, AlertState]:
    return {fp: AlertState.from_json(json.loads(v)) for fp, v in raw.items()}


def _flaps(raw: dict[str, str]) -> dict[str, FlapRecord]:
    return {fp: FlapRecord.from_json(json.loads(v)) for fp, v in raw.items()}


def buffered(
    raw: dict[str, str], skip_rules: Iterable[str]
) -> tuple[dict[str, list[Notification]], list[str]]:
    """The group buffer's notifications by rule, leaving out ``skip_rules`` (storms still on), and the entries
    they came from (``Transitions.group_taken`` removes them)."""
    skip = set(skip_rules)
    out: dict[str, list[Notification]] = {}
    taken = []
    for name, value in raw.items():
        rule = name.split("|", 1)[0]
        if rule not in skip:
            out.setdefault(rule, []).append(Notification.from_json(json.loads(value)))
            taken.append(name)
    return out, taken


def payload(n: Notification) -> str:
    """A notification as stored (bounded: ``Notification.to_json``)."""
    return json.dumps(n.to_json(), ensure_ascii=False)


class AlertStore:
    def __init__(self, client: Any) -> None:
        self.r: Any = client  # redis-py's types do not know decode_responses=True

    # --- reads ---
    def load(self, cluster: str) -> dict[str, AlertState]:
        return _alerts(self.r.hgetall(keys.alerts(cluster)))

    def read_scan(self, batch: Batch, cluster: str) -> Result[ScanAlerts]:
        start = batch.mark()
        batch.pipe.hgetall(keys.alerts(cluster))
        batch.pipe.hgetall(keys.flaps(cluster))
        batch.pipe.hgetall(keys.group_buffer(cluster))
        return batch.since(start, lambda r: ScanAlerts(_alerts(r[0]), _flaps(r[1]), r[2]))

    def read_one(self, batch: Batch, cluster: str, fp: str) -> Result[AlertState | None]:
        start = batch.mark()
        batch.pipe.hget(keys.alerts(cluster), fp)
        return batch.since(start, lambda r: AlertState.from_json(json.loads(r[0])) if r[0] else None)

    def read_all(self, batch: Batch, cluster: str) -> Result[dict[str, AlertState]]:
        start = batch.mark()
        batch.pipe.hgetall(keys.alerts(cluster))
        return batch.since(start, lambda r: _alerts(r[0]))

    def read_firing_count(self, batch: Batch, cluster: str) -> Result[int]:
        start = batch.mark()
        batch.pipe.hvals(keys.alerts(cluster))
        return batch.since(
            start, lambda r: sum(1 for raw in r[0] if json.loads(raw).get("status") == "firing")
        )

    def _alive(self, names: Sequence[str], key: Any, cluster: str) -> set[str]:
        if not names:
            return set()
        pipe = self.r.pipeline(transaction=False)
        for name in names:
            pipe.exists(key(cluster, name))
        return {n for n, alive in zip(names, pipe.execute(), strict=True) if alive}

    def cooldowns(self, cluster: str, fingerprints: Iterable[str]) -> set[str]:
        """The fingerprints whose cooldown (repeat interval) is still running."""
        return self._alive(list(fingerprints), keys.cooldown, cluster)

    def storms_on(self, cluster: str, rules: Iterable[str], now: float) -> set[str]:
        """The rules whose storm (group interval) is running at ``now``: a grouped message went out for them.

        The marker holds the storm's end on the scans' clock, and that decides, not the key's TTL alone (which only
        tidies up): a replay steps a simulated clock much faster than Redis's, and its storms must end by it too."""
        names = sorted(rules)
        if not names:
            return set()
        ends = self.r.mget([keys.storm(cluster, name) for name in names])
        return {n for n, end in zip(names, ends, strict=True) if end is not None and now < float(end)}

    # --- the operator's ack: a field of the alert's state ---
    def set_ack(self, cluster: str, fp: str, acked: bool = True) -> AlertState | None:
        raw = self.r.hget(keys.alerts(cluster), fp)
        if raw is None:
            return None
        state = dataclasses.replace(AlertState.from_json(json.loads(raw)), acked=acked)
        self.r.hset(keys.alerts(cluster), fp, json.dumps(state.to_json()))
        return state

    # --- the scan's writes, staged on its transaction ---
    def stage(self, tx: Transaction, cluster: str, t: Transitions) -> None:
        alerts, flaps, buf = keys.alerts(cluster), keys.flaps(cluster), keys.group_buffer(cluster)
        if t.upsert:
            tx.hset(alerts, {fp: json.dumps(s.to_json()) for fp, s in t.upsert.items()})
        if t.delete:
            tx.call("HDEL", alerts, *t.delete)
        tx.call("EXPIRE", alerts, keys.ALERTS_TTL)
        if kept := {fp: json.dumps(r.to_json()) for fp, r in t.flaps.items() if r is not None}:
            tx.hset(flaps, kept)
        if gone := [fp for fp, r in t.flaps.items() if r is None]:
            tx.call("HDEL", flaps, *gone)
        tx.call("EXPIRE", flaps, keys.ALERTS_TTL)
        cd_ms = max(1, int(t.repeat_s * 1000))  # alertCooldown 0: no cooldown (Redis refuses PX 0)
        for n in t.notifications:
            # a repeat goes out only if it can take the cooldown key: the shared "do not repeat yet"
            gate = (
                (keys.cooldown(cluster, n.fingerprint), cd_ms) if n.kind is NotificationKind.REPEAT else None
            )
            tx.offer(n.id, keys.payload(cluster, n.id), payload(n), keys.PAYLOAD_TTL, gate)
        for fp in t.cooldown_start:
            tx.call("SET", keys.cooldown(cluster, fp), "1", "PX", cd_ms)
        for fp in t.cooldown_clear:
            tx.call("DEL", keys.cooldown(cluster, fp))
        for rule in t.storms_started:
            tx.call(
                "SET", keys.storm(cluster, rule), repr(t.storm_until), "PX", max(1, int(t.storm_s * 1000))
            )
        if t.group_wait:
            tx.hset(buf, {f"{n.rule}|{n.id}": payload(n) for n in t.group_wait})
            tx.call("EXPIRE", buf, keys.PAYLOAD_TTL)
        if t.group_taken:
            tx.call("HDEL", buf, *t.group_taken)

    def stage_forget(self, tx: Transaction, cluster: str) -> None:
        """A removed cluster: its flap records and group buffer go (its alerts were closed in the same commit;
        cooldowns, storm markers and payloads expire by their TTLs)."""
        tx.call("DEL", keys.flaps(cluster))
        tx.call("DEL", keys.group_buffer(cluster))
