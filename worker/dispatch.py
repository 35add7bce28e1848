"""The dispatcher's tick: which scans start now, which removed clusters to forget, and the watchdog's pass
(worker/watchdog.py: clusters not scanned for too long, heartbeats).

Beat ticks ``tasks.dispatch`` every ``dispatchTick`` seconds; it sends what ``tick`` answers. Due times live in
Redis (``ScheduleStore.claim_due``: each due slot goes to exactly one caller, even with two beats).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from worker import clusters, settings, watchdog
from worker.alerting.route import Job
from worker.pipeline import scan_budget, time_limits
from worker.state.store import Stores

log = logging.getLogger("nodewatch.dispatch")


@dataclass(frozen=True)
class ScanOrder:
    """One scan to send: its arguments and the options it is sent with."""

    cluster: str
    due_at: float
    countdown: float | None  # start at its due time
    expires: float  # a scan that cannot start within its interval is stale: the broker drops it
    soft_time_limit: float
    time_limit: float


@dataclass
class Tick:
    scans: list[ScanOrder] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)  # clusters to forget
    jobs: list[Job] = field(default_factory=list)  # the watchdog's messages (cluster_not_scanned, heartbeats)


def tick(stores: Stores, cfg: settings.Settings, now: float) -> Tick:
    """Claim the clusters due before the next tick, each started at its due time (a countdown: the tick adds no
    lag of its own, bench/README.md "fleet"), except those whose previous scan still runs."""
    try:
        specs = clusters.load(cfg).by_name()
    except clusters.ClusterSourceError as err:
        # not "every cluster removed": skip the tick, keep the schedule as it is (the watchdog still watches it)
        log.warning("cluster sources unreadable; tick skipped: %s", err)
        return Tick(jobs=watchdog.check(stores, cfg, now))
    due_list = stores.schedule.claim_due({n: s.interval for n, s in specs.items()}, now + cfg.dispatch_tick)
    out = Tick(jobs=watchdog.check(stores, cfg, now) + watchdog.heartbeats(stores, cfg, now))
    out.removed = stores.schedule.take_removed()
    for due in due_list:
        spec = specs[due.cluster]
        if stores.schedule.locked(spec.name):
            log.info(
                "previous scan still running; not doubled", extra={"cluster": spec.name, "outcome": "skipped"}
            )
            continue
        wait = max(0.0, due.due_at - now)
        soft, hard = time_limits(scan_budget(spec))
        out.scans.append(
            ScanOrder(spec.name, due.due_at, wait if wait > 0.05 else None, wait + spec.interval, soft, hard)
        )
    return out
