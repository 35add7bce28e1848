"""Worker heartbeats: when each worker's consumer loop last ran, for a liveness probe that proves consumption.

A process that is alive is not a worker that consumes: a worker whose event loop is stuck (a hung broker socket, a
deadlock) keeps its PID. The worker's consumer loop fires Celery's ``heartbeat_sent`` every 2 s from the same
event loop that fetches tasks from Redis; ``tasks`` turns it into a timestamp here (at most every few seconds), and
``nodewatch health --worker`` reads its age. A worker gone for good leaves its key for ``WORKER_HEARTBEAT_TTL``.
"""

from __future__ import annotations

from typing import Any

from worker.state import keys


class WorkerStore:
    def __init__(self, client: Any) -> None:
        self.client = client

    def beat(self, worker: str, now: float) -> None:
        self.client.set(keys.worker_heartbeat(worker), f"{now:.3f}", ex=keys.WORKER_HEARTBEAT_TTL)

    def last_beat(self, worker: str) -> float | None:
        """When the worker's consumer loop last wrote its heartbeat (epoch s); None: never, or too long ago."""
        raw = self.client.get(keys.worker_heartbeat(worker))
        try:
            return float(raw) if raw is not None else None
        except ValueError:
            return None
