"""nodewatch's shared state in Redis: one small store per concern over one connection (``Stores``).

Everything a second worker would need lives here, never in process memory; every key name is in ``keys``. The
stores, and the keys each owns:

- ``alerts``: open alerts, flap records, cooldowns, storm markers, the storm group buffer (``alerts.py``);
- ``notifications``: payloads, delivery log, route repeat times, why-stream, dead letters, counters
  (``notifications.py``);
- ``silences``: silences (``silences.py``; an ack is a field of the alert's state: ``alerts``);
- ``schedule``: due times, removed clusters, scan locks, scan records (``schedule.py``);
- ``inventory``: the last scan's nodes and the failed scans in a row (``inventory.py``);
- ``limits``: receivers' token buckets and digest queues (``ratelimit.py``);
- ``epoch``: whether Redis lost the state (``epoch.py``);
- ``history``: per-node metric history (``history.py``); written by ``record_history`` after the commit, in one
  pipelined round trip of its own (its Lua script, one call per 200 nodes), not inside ``commit_scan``;
- ``workers``: each worker's heartbeat, written from its consumer loop (``workers.py``);
- ``predictions``: the last prediction per node and metric (``predictions.py``), read and written with the scan.
- ``views``: the last scan's figures per node and a summary per cluster, for the dashboard (``nodeview.py``);
  written on the history's pipeline.

One scan reads its state in one round trip (``load_scan_state``) and writes everything it decided — alert
transitions, flap records, notifications, cooldowns, storm markers and group buffer, why-entries, inventory and
failure count — in one Lua script (``commit_scan``). What is written apart, on purpose: the nodes' history (one
more pipelined round trip after the commit: ``record_history``; a history that cannot be written never costs the
scan its alerts), the scan record and the lock (they describe the scan, not its outcome, and are written even
when it dies), and everything after a message is accepted (the delivery side: route repeat times once a receiver
got it, the delivery log, rate limits, dead letters, why-entries of routing and delivery), which happens per
receiver, later, elsewhere.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import redis

from worker.model import Notification
from worker.model.alerts import AlertState, FlapRecord, Silence
from worker.model.history import Series
from worker.state import batch, keys
from worker.state.alerts import AlertStore, Transitions
from worker.state.epoch import EpochStore
from worker.state.history import History
from worker.state.inventory import Diff, InventoryStore
from worker.state.nodeview import NodeViewStore
from worker.state.notifications import NotificationStore
from worker.state.predictions import Changes, PredictionStore
from worker.state.ratelimit import RateLimiter
from worker.state.schedule import ScheduleStore
from worker.state.silences import SilenceStore
from worker.state.workers import WorkerStore

log = logging.getLogger("nodewatch.state")


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


@dataclass
class ScanState:
    """What one scan of a cluster reads from Redis before it runs its rules (``Stores.load_scan_state``)."""

    alerts: dict[str, AlertState]
    flaps: dict[str, FlapRecord]
    group_buffer: dict[str, str]  # raw: ``alerts.buffered`` reads it
    inventory: dict[str, str]  # the raw inventory hash (``inventory.decode`` reads it)
    failures: int  # failed scans in a row before this one
    silences: list[Silence]
    predictions: dict[str, str] = field(default_factory=dict)  # raw: worker/predict/findings decodes


@dataclass(frozen=True)
class Watched:
    """What the watchdog (worker/watchdog.py) reads of one cluster (``Stores.watch_view``)."""

    cluster: str
    next_due: float
    ended: float | None  # when its last scan ended; None before the first
    interval: float | None  # its interval at the last scan
    open: bool  # the watched alert is open (pending or firing)


@dataclass(frozen=True)
class KeyUse:
    """One key of a cluster and its memory (``Stores.footprint``)."""

    family: str  # the name's segment after the cluster's hash tag: alerts, cd, n, why, ...
    parts: tuple[str, ...]  # the name's further segments (a fingerprint, an id, a receiver)
    bytes: int
    fields: tuple[str, ...]  # a hash's field names; () for other types


class Stores:
    """The stores over one connection (``client`` made by ``connect``: responses decoded)."""

    def __init__(self, client: Any) -> None:
        self.client: Any = client
        self.alerts = AlertStore(client)
        self.notifications = NotificationStore(client)
        self.silences = SilenceStore(client)
        self.schedule = ScheduleStore(client)
        self.inventory = InventoryStore(client)
        self.limits = RateLimiter(client)
        self.epoch = EpochStore(client)
        self.history = History(client)
        self.workers = WorkerStore(client)
        self.predictions = PredictionStore(client)
        self.views = NodeViewStore(client)
        self._tx = batch.script(client)

    def transaction(self) -> batch.Transaction:
        return batch.Transaction(self._tx)

    # --- one scan: its reads in one round trip, its writes in one script ---
    def load_scan_state(self, cluster: str, now: float) -> ScanState:
        """Alert states, flap records, the group buffer, the last inventory, the failure count and the active
        silences, in one round trip."""
        b = batch.Batch(self.client)
        a = self.alerts.read_scan(b, cluster)
        inv = self.inventory.read_scan(b, cluster)
        silences = self.silences.read_active(b, now)
        predictions = self.predictions.read_scan(b, cluster)
        b.run()
        return ScanState(
            alerts=a.value.alerts,
            flaps=a.value.flaps,
            group_buffer=a.value.group_buffer,
            inventory=inv.value.nodes,
            failures=inv.value.failures,
            silences=silences.value,
            predictions=predictions.value,
        )

    def commit_scan(
        self,
        cluster: str,
        t: Transitions,
        inventory: Diff | None = None,
        scan_failed: bool = False,
        forget: bool = False,
        predictions: Changes | None = None,
    ) -> list[Notification]:
        """Write what a scan decided, atomically; returns the notifications accepted for sending, as stored.

        A repeat whose cooldown key is still alive, or a notification id already stored, is dropped here: two
        workers committing the same transition produce one message. ``inventory``: the scan read the cluster
        (its failure count is cleared); ``scan_failed``: it could not (the count goes up); neither: alerts only.
        ``forget``: the cluster was removed, what only its scans read goes too (keys.py says what expires).
        ``predictions``: the scan's new predictions (worker/alerting/forecast.py).
        """
        tx = self.transaction()
        self.alerts.stage(tx, cluster, t)
        self.notifications.stage_why(tx, cluster, t.why)
        if inventory is not None or scan_failed:
            self.inventory.stage_scan(tx, cluster, inventory)
        self.predictions.stage(tx, cluster, predictions)
        if forget:
            for store in (
                self.alerts,
                self.inventory,
                self.schedule,
                self.notifications,
                self.predictions,
                self.views,
            ):
                store.stage_forget(tx, cluster)
        accepted = set(tx.run())
        # as the notify task will read them (bounded by Notification.to_json)
        return [
            Notification.from_json(json.loads(json.dumps(n.to_json())))
            for n in t.notifications
            if n.id in accepted
        ]

    def record_history(
        self,
        cluster: str,
        t: float,
        samples: Mapping[str, Mapping[str, float | None]],
        view: tuple[bytes, bytes] | None = None,
    ) -> int | None:
        """One scan's node values into the history (``History.record``: one pipelined round trip), after the scan's
        commit, with the dashboard's ``view`` of the scan (``nodeview.encode``) on the same pipeline. A Redis
        error is logged and answered None: the scan's alerts are committed and must still be routed, so a history
        write that fails loses one point of history, never a message."""
        also = None
        if view is not None:
            also = lambda pipe: self.views.queue(pipe, cluster, *view)  # noqa: E731
        try:
            return self.history.record(cluster, t, samples, also)
        except redis.RedisError as err:
            log.warning("history not written: %s", err, extra={"cluster": cluster})
            return None

    def recent_history(
        self, cluster: str, metric: str, since: float, nodes: Iterable[str]
    ) -> dict[str, Series]:
        """Some nodes' history of ``metric`` since ``since`` (``History.cluster_series``), for the trend a message
        shows. A Redis error is logged and answered {}: it costs the trend line, never the message."""
        try:
            return self.history.cluster_series(cluster, metric, since, nodes)
        except redis.RedisError as err:
            log.warning("no trend in the messages, history not read: %s", err, extra={"cluster": cluster})
            return {}

    # --- what the watchdog reads (worker/watchdog.py): two round trips for the whole fleet ---
    def watch_view(self, fingerprint_of: Callable[[str], str]) -> list[Watched]:
        """Every scheduled cluster's next due time, last scan end and interval, and whether the alert
        ``fingerprint_of(cluster)`` is open."""
        due = self.schedule.due_times()
        b = batch.Batch(self.client)
        last = [self.schedule.read_last_scan(b, c) for c, _ in due]
        alert = [self.alerts.read_one(b, c, fingerprint_of(c)) for c, _ in due]
        b.run()
        return [
            Watched(c, at, seen.value[0], seen.value[1], a.value is not None)
            for (c, at), seen, a in zip(due, last, alert, strict=True)
        ]

    # --- what `cluster list` shows, in one round trip ---
    def cluster_summary(self, cluster: str) -> dict[str, Any]:
        """The last scan's record, failures in a row, alerts firing, next due time."""
        b = batch.Batch(self.client)
        sched = self.schedule.read_summary(b, cluster)
        fails = self.inventory.read_failures(b, cluster)
        firing = self.alerts.read_firing_count(b, cluster)
        b.run()
        status, due = sched.value
        return {"status": status, "failures": fails.value, "firing": firing.value, "next_due": due}

    def known(self, clusters: Sequence[str]) -> list[str]:
        """The clusters of ``clusters`` this Redis knows anything of (a scan record, open alerts, decisions), in one
        round trip: of the others it knows nothing, so an empty answer about them is no all-clear."""
        pipe = self.client.pipeline(transaction=False)
        for c in clusters:
            pipe.exists(keys.status(c), keys.alerts(c), keys.why(c))
        return [c for c, n in zip(clusters, pipe.execute(), strict=True) if n]

    # --- a cluster's keys as a whole: the replay starts from nothing and measures what it used ---
    def _cluster_keys(self, cluster: str) -> Iterator[str]:
        return iter(self.client.scan_iter(match=keys.cluster_pattern(cluster), count=500))

    def clear_cluster(self, cluster: str) -> int:
        """Delete every key of ``cluster`` (a replay starts from nothing, even on a shared Redis)."""
        doomed = list(self._cluster_keys(cluster))
        if doomed:
            self.client.delete(*doomed)
        return len(doomed)

    def footprint(self, cluster: str) -> list[KeyUse]:
        """MEMORY USAGE of every key of ``cluster``, named by family."""
        out = []
        for key in self._cluster_keys(cluster):
            family, *parts = keys.cluster_part(cluster, key).split(":")
            fields = tuple(self.client.hkeys(key)) if self.client.type(key) == "hash" else ()
            size = int(self.client.memory_usage(key, samples=0) or 0)
            out.append(KeyUse(family, tuple(parts), size, fields))
        return out
