"""The kubelet Summary API (``/stats/summary``): node and image filesystems, and live usage per pod. Pure."""

from __future__ import annotations

import math
from typing import TypeGuard

from worker.collect.document import JSON, Malformed, mapping, sequence, text
from worker.collect.podlist import PodUsage
from worker.model import DiskStats, FsStats


def _fs(raw: object, what: str) -> FsStats | None:
    data = mapping(raw, what)
    if not data or data.get("capacityBytes") is None:
        return None

    def opt(key: str) -> int | None:
        value = data.get(key)
        return int(value) if _finite(value) else None

    capacity = opt("capacityBytes") or 0
    used = opt("usedBytes")
    available = opt("availableBytes")
    if available is None:
        available = capacity - (used or 0)
    return FsStats(
        capacity=capacity,
        used=used if used is not None else capacity - available,
        available=available,
        inodes=opt("inodes"),
        inodes_free=opt("inodesFree"),
        inodes_used=opt("inodesUsed"),
    )


def _finite(value: object) -> TypeGuard[int | float]:
    """A JSON number a figure can be made of: not a bool, not inf or NaN (which int() refuses), no integer past
    2**64 (which float arithmetic refuses)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return abs(value) < 2**64
    return isinstance(value, float) and math.isfinite(value)


def parse_summary(doc: JSON) -> DiskStats:
    """kubelet ``/stats/summary``: ``node.fs`` and ``node.runtime.imageFs`` (None when the kubelet omits one)."""
    node = mapping(doc.get("node"), "node")
    if not node:
        raise Malformed("summary has no node section")
    runtime = mapping(node.get("runtime"), "node.runtime")
    return DiskStats(nodefs=_fs(node.get("fs"), "node.fs"), imagefs=_fs(runtime.get("imageFs"), "imageFs"))


def parse_summary_pods(doc: JSON) -> list[PodUsage]:
    """kubelet ``/stats/summary`` ``pods[]``: live cpu (``usageNanoCores``) and memory (``workingSetBytes``, what
    the kubelet evicts on) per pod of that node; pods without figures, or that cannot be read, are left out (one
    odd pod entry must not cost the node its other pods, nor its disk figures read from the same answer)."""
    out: list[PodUsage] = []
    for raw in sequence(doc.get("pods"), "pods"):
        try:
            pod = mapping(raw, "pods[]")
            ref = mapping(pod.get("podRef"), "podRef")
            cpu = mapping(pod.get("cpu"), "cpu").get("usageNanoCores")
            memory = mapping(pod.get("memory"), "memory").get("workingSetBytes")
        except Malformed:
            continue
        if not _finite(cpu) or not _finite(memory):
            continue
        out.append(PodUsage(text(ref.get("namespace")), text(ref.get("name")), cpu / 1e6, int(memory)))
    return out
