"""What a node's history is: the metrics kept (``METRICS``), how a scanned node gives them (``values``), and one
node's series of one metric (``Series``), as worker/state/history answers it and worker/predict reads it.

Eight series a node, in percent: cpu and memory usage against allocatable as ``kubectl top``; nodefs and imagefs
used as the kubelet's ``1 - available/capacity``; nodefs inodes used; pod slots used; cpu and memory requests
against allocatable. Standard library only, like the rest of the model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from worker.model import NodeSample

METRICS = ("cpu", "memory", "nodefs", "imagefs", "inodes", "pods", "cpu_requests", "memory_requests")


@dataclass(frozen=True)
class Series:
    """One node's history of one metric, oldest first: (t, percent) at scan resolution, and (bucket middle, mean,
    max) per 5 minutes for the days before; the buckets may overlap the last hours of scan samples."""

    fine: Sequence[tuple[float, float]] = ()
    coarse: Sequence[tuple[float, float, float]] = ()


def values(node: NodeSample) -> dict[str, float | None]:
    """The history metrics of one scanned node (None where the scan could not tell)."""
    nodefs = node.disk.nodefs if node.disk else None
    imagefs = node.disk.imagefs if node.disk else None
    alloc, req = node.allocatable, node.requests
    return {
        "cpu": node.cpu_pct,
        "memory": node.memory_pct,
        "nodefs": nodefs.used_pct if nodefs and nodefs.capacity else None,
        "imagefs": imagefs.used_pct if imagefs and imagefs.capacity else None,
        "inodes": nodefs.inodes_used_pct if nodefs else None,
        "pods": node.pods_pct,
        "cpu_requests": node.pct(req.cpu_m, alloc.cpu_m),
        "memory_requests": node.pct(req.memory, alloc.memory),
    }


def change(
    series: Series, now: float, window: float = 1800.0, least: float = 300.0
) -> dict[str, float] | None:
    """Where the series stood at the start of the last ``window`` seconds: ``{"from": value, "ago": seconds}`` of
    its oldest scan sample in the window, for a message's trend line; None when the window holds fewer than two
    samples or spans less than ``least`` seconds (too little to call a trend)."""
    recent = [(t, v) for t, v in series.fine if now - window <= t <= now]
    if len(recent) < 2 or now - recent[0][0] < least:
        return None
    t, value = recent[0]
    return {"from": round(value, 1), "ago": round(now - t)}
