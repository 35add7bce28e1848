"""What one scan may read and spend (``CollectOptions``), what it spent (``ScanStats``), and durations as its
messages say them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from worker.model import NodeSample

RequestHook = Callable[[str, int, float], None]
MIB = 1024 * 1024


@dataclass(frozen=True)
class CollectOptions:
    page_size: int = 500
    request_timeout: float = (
        10.0  # seconds, whole request (headers and body), each page, each kubelet summary
    )
    scan_budget: float = 0.0  # seconds for the whole scan; 0 = no limit
    max_response_bytes: int = 64 * MIB  # one answer (a page, a metrics list) larger than this fails the read
    compression: bool = True  # ask for gzip (the API server compresses answers over 128 KiB)
    disk_stats: bool = False  # kubelet Summary API; needs RBAC ``nodes/proxy`` get
    disk_concurrency: int = 8
    top_pods: int = 3  # per node, by cpu and by memory (a union); 0 turns live pod usage reads off
    top_pods_nodes: int = 20  # at most this many nodes get live pod usage per scan; the rest rank by requests
    top_for: Callable[[NodeSample], bool] | None = None  # which nodes need top pods; None = every node
    events: bool = True  # FailedScheduling and Evicted events
    events_window: float = 3600.0  # seconds: older events are ignored
    metrics_stale_after: float = 300.0  # seconds: older NodeMetrics read as "usage unavailable"
    on_request: RequestHook | None = None  # called (path, status, seconds) after each request; 0 = no answer


@dataclass
class ScanStats:
    """What one scan cost, for the scan record and the benchmarks."""

    requests: int = 0
    bytes: int = 0  # as received (compressed when the server compressed)
    raw_bytes: int = 0  # decoded JSON
    seconds: dict[str, float] = field(default_factory=dict)  # per read: nodes, pods, metrics, events, ...

    def as_record(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "bytes": self.bytes,
            "raw_bytes": self.raw_bytes,
            "read_s": {k: round(v, 3) for k, v in self.seconds.items()},
        }


def seconds(x: float) -> str:
    """A duration for people: "0.6s", "12s"."""
    return f"{x:.1f}s" if x < 10 else f"{x:.0f}s"
