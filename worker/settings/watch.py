"""Config of nodewatch watching itself: what /metrics shows (``metrics``) and the watchdog (``watchdog``: a
cluster not scanned for ``staleIntervals`` intervals alerts; an optional "I am alive" message per receiver).
docs/metrics.md says what each key does."""

from __future__ import annotations

from pydantic import Field, field_validator

from worker.settings.base import Strict, duration


class MetricsSettings(Strict):
    # per-node series (cluster/node/node_group labels, ~10 a node): off for fleets whose Prometheus cannot hold
    # them (docs/metrics.md "Cardinality"); the per-cluster and fleet families stay
    node_series: bool = True
    address: str = "127.0.0.1"  # where `metricsPort` listens (a worker's /metrics)


class WatchdogSettings(Strict):
    # a cluster whose last scan ended longer ago than this many of its intervals gets a cluster_not_scanned alert
    # (beat dead, workers stuck), from whichever process notices first; 0 turns the check off
    stale_intervals: float = Field(default=3.0, ge=0)
    # and never sooner than this many seconds: a worker restart or a Redis failover under short intervals is not
    # an outage worth a page (and the tests, with 1 s intervals, pause longer than 3 intervals on purpose)
    min_stale: float = Field(default=120.0, ge=0)
    # an "I am alive" message to each of ``receivers`` this often (a receiver-side dead man's switch); off unless set
    heartbeat_interval: float | None = Field(
        default=None, gt=0
    )  # minutes, or 30m, 24h; seconds after parsing
    receivers: list[str] = []
    check_every: float = Field(default=30.0, gt=0)  # seconds between a worker's own stale checks

    @field_validator("heartbeat_interval", mode="before")
    @classmethod
    def _interval(cls, v: object) -> object:
        return duration(v)
