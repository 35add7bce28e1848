"""Waiting on real processes without sleeping blind: poll a condition until a deadline, and read a cluster's last
scan record through the stores, as the e2e and fault tests do."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import redis

from worker.state.store import Stores


def wait(pred: Callable[[], Any], timeout: float, what: str, every: float = 0.1) -> Any:
    """``pred()``'s first truthy answer; fails the test naming ``what`` when none comes within ``timeout`` s."""
    deadline = time.time() + timeout
    while True:
        got = pred()
        if got:
            return got
        assert time.time() < deadline, f"{what}: not within {timeout}s"
        time.sleep(every)


def status(r: redis.Redis, cluster: str) -> dict[str, str]:
    """The cluster's last scan record (``cluster list``'s source), {} before its first scan."""
    return Stores(r).schedule.scan_status(cluster)
