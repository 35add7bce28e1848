"""Request and byte counters per cluster and kind of path, for benchmarks of what a collector costs an API server.

`bytes` are response bodies as sent (after gzip), `raw_bytes` the same bodies before compression; headers are
not counted. Watch streams count each chunk as it is written, under the kind of the watched resource.
"""

from __future__ import annotations

import threading
from typing import Any

KINDS = ("nodes", "pods", "metrics_nodes", "metrics_pods", "summary", "events", "other")


def kind_of(parts: list[str]) -> str:
    """The kind of a path below /clusters/<name>, e.g. ["api", "v1", "namespaces", "x", "pods"] -> "pods"."""
    if parts[:3] == ["apis", "metrics.k8s.io", "v1beta1"]:
        rest = _unscoped(parts[3:])
        if rest[:1] == ["nodes"]:
            return "metrics_nodes"
        if rest[:1] == ["pods"]:
            return "metrics_pods"
        return "other"
    if parts[:2] != ["api", "v1"]:
        return "other"
    rest = _unscoped(parts[2:])
    if rest[:1] == ["nodes"]:
        return "summary" if rest[2:] == ["proxy", "stats", "summary"] else "nodes"
    if rest[:1] == ["pods"]:
        return "pods"
    if rest[:1] == ["events"]:
        return "events"
    return "other"


def _unscoped(parts: list[str]) -> list[str]:
    return parts[2:] if len(parts) >= 3 and parts[0] == "namespaces" else parts


class Traffic:
    """The counters of one cluster; every request thread adds to them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = {kind: [0, 0, 0] for kind in KINDS}  # requests, bytes, raw_bytes

    def request(self, kind: str) -> None:
        with self._lock:
            self._counts[kind][0] += 1

    def sent(self, kind: str, wire: int, raw: int) -> None:
        with self._lock:
            counts = self._counts[kind]
            counts[1] += wire
            counts[2] += raw

    def snapshot(self, reset: bool = False) -> dict[str, Any]:
        """{requests, bytes, raw_bytes, by_path: {kind: {requests, bytes, raw_bytes}}}; `reset` zeroes them in the
        same step, so no request falls between a read and a reset."""
        with self._lock:
            by_path = {
                kind: {"requests": c[0], "bytes": c[1], "raw_bytes": c[2]} for kind, c in self._counts.items()
            }
            if reset:
                self._counts = {kind: [0, 0, 0] for kind in KINDS}
        return {
            "requests": sum(c["requests"] for c in by_path.values()),
            "bytes": sum(c["bytes"] for c in by_path.values()),
            "raw_bytes": sum(c["raw_bytes"] for c in by_path.values()),
            "by_path": by_path,
        }
