"""Notifications after the scan: their payloads, the delivery log, when a receiver last got an alert (the route's
repeat interval), the why-stream, dead letters and delivery counters.

Keys (keys.py): ``n:{id}`` (written by the scan's commit, ``alerts.AlertStore``; read here), ``dl:{id}:{receiver}``,
``rr:{receiver}:{fp}``, ``why`` of each cluster; ``nw:deadletters`` and ``nw:stats``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from worker.model import Notification
from worker.state import alerts, keys
from worker.state.batch import Transaction

# why-entries that say a message was held back, by the start of their reason (worker/rules/lifecycle.py, muting.py,
# storms.py, worker/notify/routing.py): each one counted in the cluster's ``counts`` as ``suppressed:{class}:
# {receiver}`` (/metrics: nodewatch_notifications_suppressed_total), in the write that records the entry. Pending,
# cleared and resolved entries are not suppressions and are not counted.
SUPPRESSED = (
    ("silenced by ", "silenced"),
    ("inhibited by ", "inhibited"),
    ("in maintenance window ", "maintenance"),
    ("flapping", "flapping"),
    ("grouped ", "storm"),
    ("in cooldown", "cooldown"),
    ("acknowledged", "acknowledged"),
    ("info is reported once", "info_once"),
    ("resolved notices are off", "resolved_off"),
    ("resolved messages are off for ", "resolved_off"),
    ("repeat to ", "repeat_interval"),
)


def suppressed(reason: str) -> tuple[str, str] | None:
    """(class, receiver) of a why-entry that held a message back, else None. A receiver is named only by the
    routing stage's reasons ("repeat to R held by ...", "resolved messages are off for R (...)")."""
    for prefix, cls in SUPPRESSED:
        if reason.startswith(prefix):
            receiver = ""
            if cls == "repeat_interval" or prefix.endswith("for "):
                receiver = reason[len(prefix) :].split(" ", 1)[0]
            return cls, receiver
    return None


def _suppressed_counts(entries: Iterable[tuple[str, str]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for _, reason in entries:
        got = suppressed(reason)
        if got is not None:
            field = f"suppressed:{got[0]}:{got[1]}"
            out[field] = out.get(field, 0) + 1
    return out


@dataclass(frozen=True)
class DeadLetter:
    """A message that could not be delivered to a receiver, and why (``nodewatch deadletters``)."""

    cluster: str
    notification: str
    receiver: str
    reason: str
    at: float


class NotificationStore:
    def __init__(self, client: Any) -> None:
        self.r: Any = client

    # --- payloads and the delivery log ---
    def get(self, cluster: str, notification_id: str) -> Notification | None:
        raw = self.r.get(keys.payload(cluster, notification_id))
        return Notification.from_json(json.loads(raw)) if raw else None

    def was_delivered(self, cluster: str, notification_id: str, receiver: str) -> bool:
        return bool(self.r.exists(keys.delivered(cluster, notification_id, receiver)))

    def record_delivered(
        self,
        receiver: str,
        messages: Sequence[Notification],
        now: float,
        route_sent: Sequence[Notification] = (),
        repeat_s: float = 0.0,
    ) -> None:
        """``messages`` reached ``receiver``: the delivery log (a redelivered task skips them), the counter, and
        for ``route_sent`` when the receiver last got a message about their alert (``route_sent_at``), kept
        ``repeat_s`` (the longest route repeat interval), a day at least."""
        route_ttl_s = max(int(repeat_s), keys.ROUTE_REPEAT_MIN_TTL)
        pipe = self.r.pipeline(transaction=True)
        for n in messages:
            pipe.set(keys.delivered(n.cluster, n.id, receiver), str(now), ex=keys.PAYLOAD_TTL)
        pipe.hincrby(keys.STATS, f"delivered:{receiver}", len(messages))
        for n in route_sent:
            pipe.set(keys.route_repeat(n.cluster, receiver, n.fingerprint), repr(now), ex=route_ttl_s)
        pipe.execute()

    def route_sent_at(self, cluster: str, wanted: Sequence[tuple[str, str]]) -> dict[tuple[str, str], float]:
        """When each (receiver, fingerprint) in ``wanted`` last got a message about that alert, where known."""
        if not wanted:
            return {}
        pipe = self.r.pipeline(transaction=False)
        for receiver, fp in wanted:
            pipe.get(keys.route_repeat(cluster, receiver, fp))
        return {w: float(v) for w, v in zip(wanted, pipe.execute(), strict=True) if v is not None}

    # --- why a notification was not sent, or was delayed ---
    def note_why(self, cluster: str, entries: Iterable[tuple[str, str]]) -> None:
        """(fingerprint, reason) entries for "why wasn't I paged?" (``nodewatch alerts why``), and the count of
        those that held a message back (``suppressed``), in one round trip."""
        entries = list(entries)
        pipe = self.r.pipeline(transaction=False)
        for fp, reason in entries:
            pipe.xadd(
                keys.why(cluster), {"fp": fp, "reason": reason}, maxlen=keys.WHY_MAXLEN, approximate=True
            )
        counted = _suppressed_counts(entries)
        for name, n in counted.items():
            pipe.hincrby(keys.counts(cluster), name, n)
        if counted:
            pipe.expire(keys.counts(cluster), keys.ALERTS_TTL)
        if len(pipe):
            pipe.execute()

    def stage_why(self, tx: Transaction, cluster: str, entries: Iterable[tuple[str, str]]) -> None:
        entries = list(entries)
        for fp, reason in entries:
            tx.call(
                "XADD", keys.why(cluster), "MAXLEN", "~", keys.WHY_MAXLEN, "*", "fp", fp, "reason", reason
            )
        counted = _suppressed_counts(entries)
        for name, n in counted.items():
            tx.call("HINCRBY", keys.counts(cluster), name, n)
        if counted:
            tx.call("EXPIRE", keys.counts(cluster), keys.ALERTS_TTL)

    def why(self, cluster: str, count: int = 100) -> list[dict[str, str]]:
        rows = self.r.xrevrange(keys.why(cluster), count=count)
        return [dict(fields, id=entry_id) for entry_id, fields in rows]

    def stage_forget(self, tx: Transaction, cluster: str) -> None:
        """A removed cluster's why-stream says so and lives PAYLOAD_TTL more: ``alerts why`` answers until then.
        The closing notices queued just before may still add to it: it keeps this TTL."""
        self.stage_why(tx, cluster, [("", "cluster removed")])
        tx.call("EXPIRE", keys.why(cluster), keys.PAYLOAD_TTL)

    # --- dead letters and counters ---
    def dead_letter(self, letters: Sequence[DeadLetter]) -> None:
        if not letters:
            return
        pipe = self.r.pipeline(transaction=True)
        for d in letters:
            pipe.lpush(keys.DEADLETTERS, json.dumps(asdict(d), ensure_ascii=False))
            pipe.hincrby(keys.STATS, f"deadlettered:{d.receiver}", 1)
        pipe.ltrim(keys.DEADLETTERS, 0, keys.DEADLETTER_MAX - 1)
        pipe.execute()

    def dead_letters(self) -> list[dict[str, Any]]:
        return [json.loads(x) for x in self.r.lrange(keys.DEADLETTERS, 0, -1)]

    def take_dead_letters(self) -> list[dict[str, Any]]:
        pipe = self.r.pipeline(transaction=True)
        pipe.lrange(keys.DEADLETTERS, 0, -1)
        pipe.delete(keys.DEADLETTERS)
        raw, _ = pipe.execute()
        return [json.loads(x) for x in raw]

    def take_heartbeat(self, receiver: str, interval_s: float) -> bool:
        """Whether this process sends ``receiver``'s "I am alive" now: the first to take the key does, and the
        key lives one interval, so the fleet sends one a interval whatever the number of beats and workers."""
        return bool(self.r.set(keys.heartbeat(receiver), "1", ex=max(1, int(interval_s)), nx=True))

    def store_payload(self, n: Notification) -> None:
        """A message made outside a scan's commit (the heartbeat), stored as the notify task reads it."""
        self.r.set(keys.payload(n.cluster, n.id), alerts.payload(n), ex=keys.PAYLOAD_TTL)

    def count(self, name: str, by: int = 1) -> None:
        self.r.hincrby(keys.STATS, name, by)

    def stats(self) -> dict[str, int]:
        return {k: int(v) for k, v in self.r.hgetall(keys.STATS).items()}
