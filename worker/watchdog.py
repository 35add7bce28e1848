"""nodewatch watching itself: a cluster that no scan reached for ``watchdog.staleIntervals`` of its intervals
raises ``cluster_not_scanned`` (beat dead, workers stuck or gone, a scan lock never released), resolved once
scans resume; and the optional "I am alive" heartbeat to each ``watchdog.receivers``.

Whichever process notices first sends it: beat's dispatcher tick (``tasks.dispatch``, while beat lives) and a
timer in every ``nodewatch worker`` (``nodewatch worker`` runs ``check`` every ``watchdog.checkEvery`` seconds,
which still works when beat is dead). They agree through Redis: one cheap read of every cluster's last scan and
watchdog alert per check; only a cluster whose alert must change takes the cluster's watchdog lock (SET NX, 30 s),
then runs the alert through the same stages as a scan's findings (mute, lifecycle, flap; ``transitions.advance``)
and commits it with the scan's own commit script, so it pages once, shows in ``alerts list``, obeys silences and
maintenance windows, and its resolved notice goes out once. It never takes the scan lock: a held scan lock is one
of the things it reports.

Stale means: more than ``staleIntervals`` intervals and more than ``minStale`` seconds (120) without a scan. A
cluster scanned at least once is judged by when its last scan ended (any outcome: an unreachable cluster has
its own alert); one never scanned, by when the dispatcher last claimed it (its next due time minus its interval),
which stops moving when beat is dead. The Prometheus side of the same watch is ``nodewatch_last_scan_timestamp``
(deploy/prometheus/nodewatch-rules.yaml).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
import uuid
from collections.abc import Callable

from worker import settings
from worker.alerting import route, transitions
from worker.model import Finding, Notification, NotificationKind, Severity, fingerprint
from worker.notify.templates.filters import duration
from worker.state.store import Stores, Watched

log = logging.getLogger("nodewatch.watchdog")

RULE = "cluster_not_scanned"
HEARTBEAT_CLUSTER = (
    "nodewatch"  # the heartbeat is about nodewatch, not one cluster; its payload key's hash tag
)


def verdict(
    seen: Watched, stale_intervals: float, default_interval: float, now: float, min_stale: float = 0.0
) -> Finding:
    """Pure: the cluster_not_scanned finding for ``seen`` at ``now`` (severity None: scans arrive in time): stale
    past ``stale_intervals`` of its intervals, and never before ``min_stale`` seconds. ``default_interval``: the
    config's checkInterval, for a cluster without a scan record."""
    interval = seen.interval or default_interval
    last = seen.ended if seen.ended is not None else seen.next_due - interval
    age = max(0.0, now - last)
    limit = max(stale_intervals * interval, min_stale)
    if age <= limit:
        return Finding(seen.cluster, "", RULE, None, value=age, summary=f"cluster {seen.cluster} is scanned")
    reason = (
        f"last scan ended {duration(age)} ago, {stale_intervals:g} intervals of {duration(interval)}: "
        "is beat running, are workers consuming the scan queue, is a scan lock stuck?"
        if seen.ended is not None
        else f"never scanned; not dispatched for {duration(age)}: is beat running?"
    )
    return Finding(
        seen.cluster, "", RULE, Severity.CRITICAL, value=age, threshold=limit,
        summary=f"cluster {seen.cluster}: {reason}", params={"reason": reason},
    )  # fmt: skip


def check(stores: Stores, cfg: settings.Settings, now: float) -> list[route.Job]:
    """One watchdog pass over every scheduled cluster; returns the (message, receiver) jobs to send."""
    factor = cfg.watchdog.stale_intervals
    if factor <= 0:
        return []
    jobs: list[route.Job] = []
    for seen in stores.watch_view(lambda c: fingerprint(c, "", RULE)):
        finding = verdict(seen, factor, cfg.check_interval, now, cfg.watchdog.min_stale)
        if finding.active == seen.open:
            continue  # nothing to change (most clusters, most of the time: no lock, no write)
        jobs += _advance(stores, cfg, seen.cluster, finding, now)
    return jobs


def _advance(
    stores: Stores, cfg: settings.Settings, cluster: str, finding: Finding, now: float
) -> list[route.Job]:
    """The finding through the alert stages and the scan's commit, under the cluster's watchdog lock."""
    token = uuid.uuid4().hex
    if not stores.schedule.acquire_watch(cluster, token):
        return []  # another process is deciding about this cluster right now
    try:
        state = stores.load_scan_state(cluster, now)
        # the group buffer belongs to the scans' storms: the watchdog's one message must not flush it
        state = dataclasses.replace(state, group_buffer={})
        t = transitions.advance(stores, cfg, cluster, state, [finding], None, now)
        accepted = stores.commit_scan(cluster, t)
    finally:
        stores.schedule.release_watch(cluster, token)
    for n in accepted:
        level = logging.WARNING if n.kind is not NotificationKind.RESOLVED else logging.INFO
        log.log(
            level,
            "watchdog: %s",
            n.summary,
            extra={"cluster": cluster, "rule": RULE, "outcome": n.kind.value},
        )
    return route.route(stores, cfg, cluster, {}, accepted, now)


def heartbeat(receiver: str, now: float, clusters: int) -> Notification:
    """The "I am alive" message to ``receiver`` (worker/notify/templates: the ``heartbeat`` phrase)."""
    return Notification(
        id=f"heartbeat-{receiver}-{int(now)}",
        kind=NotificationKind.HEARTBEAT,
        cluster=HEARTBEAT_CLUSTER,
        node="",
        rule="heartbeat",
        severity=Severity.INFO,
        summary=f"nodewatch is alive: {clusters} cluster(s) scheduled",
        params={"clusters": clusters},
        started_at=now,
        created_at=now,
    )


def heartbeats(stores: Stores, cfg: settings.Settings, now: float) -> list[route.Job]:
    """The heartbeats due now, one per receiver a ``heartbeatInterval`` (the first process to take the receiver's
    heartbeat key sends it); stored as the notify task reads them. Off unless ``watchdog.heartbeatInterval``."""
    interval = cfg.watchdog.heartbeat_interval
    if not interval or not cfg.watchdog.receivers:
        return []
    jobs = []
    clusters = len(stores.schedule.due_times())
    for receiver in cfg.watchdog.receivers:
        if stores.notifications.take_heartbeat(receiver, interval):
            n = heartbeat(receiver, now, clusters)
            stores.notifications.store_payload(n)
            jobs.append(route.Job(n.cluster, n.id, receiver))
    return jobs


def run_forever(
    stores: Stores, cfg: settings.Settings, send: Callable[[list[route.Job]], None], stop: threading.Event,
    clock: Callable[[], float] = time.time,
) -> None:  # fmt: skip
    """A worker's own watchdog: ``check`` (and the heartbeats) every ``watchdog.checkEvery`` seconds until
    ``stop``; jobs handed to ``send`` (the notify queue). A Redis error skips one pass: the next one retries."""
    while not stop.wait(cfg.watchdog.check_every):
        try:
            now = clock()
            send(check(stores, cfg, now) + heartbeats(stores, cfg, now))
        except Exception as err:  # noqa: BLE001 (a watchdog that dies silently is worse than one that logs)
            log.warning("watchdog pass failed: %s", err)
