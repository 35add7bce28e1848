"""The lines the kubelet acts on, in the units of the history series (percent used), from its documented defaults.

What hurts a node is not 100 % but the kubelet's hard eviction threshold, so a prediction aims at that line. The
defaults below are the kubelet's own; a node whose kubelet config is readable (configz / Summary) may override
them through ``KubeletConfig``.

| series           | limit (used %)                                  | kubelet default                               |
|------------------|-------------------------------------------------|-----------------------------------------------|
| nodefs           | 100 - 10 = 90                                   | evictionHard ``nodefs.available<10%``         |
| imagefs          | 100 - 15 = 85, and image GC from 85 down to 80  | ``imagefs.available<15%``; imageGC 85 / 80    |
| inodes (nodefs)  | 100 - 5 = 95                                    | ``nodefs.inodesFree<5%``                      |
| memory           | (capacity - 100Mi) / allocatable * 100           | ``memory.available<100Mi``                    |
| pods             | 100 (no pod slot left: the scheduler stops)     | maxPods (110) via allocatable pods            |
| cpu_requests,    | 100 (allocatable fully requested)               | scheduler, not the kubelet                    |
| memory_requests  |                                                 |                                               |
| cpu              | none: cpu is compressible, nothing is evicted   |                                               |

Sources:
- Hard eviction defaults (Linux): memory.available<100Mi, nodefs.available<10%, imagefs.available<15%,
  nodefs.inodesFree<5%, imagefs.inodesFree<5% — https://kubernetes.io/docs/concepts/scheduling-eviction/
  node-pressure-eviction/#hard-eviction-thresholds ; ``memory.available`` is node capacity minus the working set,
  so the line in percent of allocatable (the series' unit, as ``kubectl top``) can exceed 100.
- Image garbage collection: ``imageGCHighThresholdPercent`` default 85 ("disk usage after which image garbage
  collection is always run"), ``imageGCLowThresholdPercent`` default 80 ("lowest disk usage to garbage collect
  to") — https://kubernetes.io/docs/reference/config-api/kubelet-config.v1beta1/ and
  https://kubernetes.io/docs/concepts/architecture/garbage-collection/#container-image-lifecycle. The kubelet runs
  it every 5 minutes (``ImageGCPeriod = 5 * time.Minute``, pkg/kubelet/kubelet.go), and under imagefs pressure the
  eviction manager deletes unused images before it evicts a pod. So an imagefs that rises to 85 % is cleaned, not
  exhausted: only images in use can fill it.
"""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024**2


@dataclass(frozen=True)
class Limit:
    """The value of the series at which the kubelet (or scheduler) acts, and what it is called."""

    line: float  # in the series' unit: percent used
    signal: str  # "nodefs.available<10%"
    gc_high: float | None = None  # imagefs: image GC starts at this usage ...
    gc_low: float | None = None  # ... and frees down to this one


@dataclass(frozen=True)
class KubeletConfig:
    """The kubelet settings the limits come from; the defaults are the kubelet's own (see the module docstring)."""

    memory_available: int = 100 * MIB  # evictionHard memory.available
    nodefs_available_pct: float = 10.0  # evictionHard nodefs.available
    imagefs_available_pct: float = 15.0  # evictionHard imagefs.available
    nodefs_inodes_free_pct: float = 5.0  # evictionHard nodefs.inodesFree
    image_gc_high_pct: float = 85.0  # imageGCHighThresholdPercent
    image_gc_low_pct: float = 80.0  # imageGCLowThresholdPercent


DEFAULTS = KubeletConfig()


def limit(
    metric: str,
    config: KubeletConfig = DEFAULTS,
    *,
    memory_capacity: int = 0,
    memory_allocatable: int = 0,
) -> Limit | None:
    """The limit of one history metric, or None where nothing is exhausted (cpu, unknown names).

    Memory needs the node's capacity and allocatable (the series is working set / allocatable); without a
    capacity the allocatable stands in for it, which puts the line a little early, never late.
    """
    if metric == "nodefs":
        return Limit(
            100.0 - config.nodefs_available_pct, f"nodefs.available<{config.nodefs_available_pct:g}%"
        )
    if metric == "imagefs":
        return Limit(
            100.0 - config.imagefs_available_pct,
            f"imagefs.available<{config.imagefs_available_pct:g}%",
            gc_high=config.image_gc_high_pct,
            gc_low=config.image_gc_low_pct,
        )
    if metric == "inodes":
        return Limit(
            100.0 - config.nodefs_inodes_free_pct, f"nodefs.inodesFree<{config.nodefs_inodes_free_pct:g}%"
        )
    if metric == "memory":
        if memory_allocatable <= 0:
            return None
        capacity = memory_capacity or memory_allocatable
        line = 100.0 * (capacity - config.memory_available) / memory_allocatable
        return Limit(line, f"memory.available<{config.memory_available // MIB}Mi")
    if metric == "pods":
        return Limit(100.0, "no pod slot left")
    if metric in ("cpu_requests", "memory_requests"):
        return Limit(100.0, f"{metric.split('_')[0]} fully requested")
    return None
