"""The kubelet's housekeeping that changes a node's usage: image garbage collection and hard eviction.

Off unless a cluster's ``kubelet:`` says ``eviction: true`` (the other scenarios keep their curves exactly). On, every
node is checked as the kubelet checks it, on the simulated clock, however far one ``advance`` jumps:

- **image GC** every ``image_gc_period`` [5 min] (``ImageGCPeriod``): imagefs at or above
  ``imageGCHighThresholdPercent`` [85] is cleaned down to ``imageGCLowThresholdPercent`` [80], or to the share the
  images in use hold (``images_in_use`` [0.3]) when that is higher: GC deletes unused images only;
- **hard eviction** every ``housekeeping`` [10 s] (the eviction manager's monitoring interval), with the kubelet's
  default ``evictionHard``: ``nodefs.available<10%``, ``imagefs.available<15%``, ``nodefs.inodesFree<5%``,
  ``memory.available<100Mi`` (capacity minus working set). Under imagefs pressure unused images are deleted first
  (as the eviction manager reclaims node-level resources before evicting); a signal still past its line evicts one
  pod (an ``Evicted`` event) and frees ``evict_frees`` of the resource [nodefs 0.15, imagefs 0.1, inodes 0.15,
  memory 0.2 of capacity/allocatable], and the node reports DiskPressure / MemoryPressure for
  ``pressure_transition`` [5 min] (``evictionPressureTransitionPeriod``).

Every crossing (``evict``) and every GC (``gc``) is logged with the moment, the signal and the level, so that a
replay knows when a node really reached its limit (``GET /_sim/clusters/{c}/kubelet``). Usage levels are
fractions as everywhere in kubesim; memory's is the working set over allocatable, so its line is
``(capacity - 100Mi) / allocatable``, above 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kubesim import quantity
from kubesim.curves import fraction, seconds

if TYPE_CHECKING:
    from kubesim.cluster import Cluster
    from kubesim.objects import Node

EVENTS_MAX = 20_000
# a signal -> (the usage slot it reads, the pressure condition it sets)
SIGNALS = {
    "nodefs.available": ("disk", "DiskPressure"),
    "nodefs.inodesFree": ("inodes", "DiskPressure"),
    "imagefs.available": ("imagefs", "DiskPressure"),
    "memory.available": ("memory", "MemoryPressure"),
}
DEFAULT_HARD = {
    "memory.available": "100Mi",
    "nodefs.available": "10%",
    "imagefs.available": "15%",
    "nodefs.inodesFree": "5%",
}
DEFAULT_FREES = {"disk": 0.15, "imagefs": 0.1, "inodes": 0.15, "memory": 0.2}


@dataclass
class Kubelet:
    """One cluster's kubelet settings and what its kubelets did; ``run`` catches up to the clock."""

    hard: dict[str, str]
    gc_high: float
    gc_low: float
    gc_period: float
    every: float
    pressure_transition: float
    frees: dict[str, float]
    images_in_use: float
    events: list[dict[str, Any]] = field(default_factory=list)
    _checked: dict[str, float] = field(default_factory=dict)  # node -> last eviction check (scenario t)
    _gc_checked: dict[str, float] = field(default_factory=dict)
    _pressure_until: dict[str, dict[str, float]] = field(default_factory=dict)

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> Kubelet | None:
        if not spec.get("eviction"):
            return None
        hard = dict(DEFAULT_HARD)
        unknown = set(spec.get("evictionHard") or {}) - set(SIGNALS)
        if unknown:
            raise ValueError(f"kubelet.evictionHard: unknown signals {', '.join(sorted(unknown))}")
        hard.update({k: str(v) for k, v in (spec.get("evictionHard") or {}).items()})
        return cls(
            hard=hard,
            gc_high=float(spec.get("imageGCHighThresholdPercent", 85)) / 100,
            gc_low=float(spec.get("imageGCLowThresholdPercent", 80)) / 100,
            gc_period=seconds(spec.get("image_gc_period", "5m")),
            every=seconds(spec.get("housekeeping", "10s")),
            pressure_transition=seconds(spec.get("evictionPressureTransitionPeriod", "5m")),
            frees=DEFAULT_FREES | {k: fraction(v) for k, v in (spec.get("evict_frees") or {}).items()},
            images_in_use=fraction(spec.get("images_in_use", 0.3)),
        )

    def line(self, signal: str, node: Node) -> float:
        """The usage fraction at which ``signal`` crosses its threshold on ``node`` (its own config first: the
        overrides its configz shows, kubesim/kubelet.py)."""
        value = str((node.kubelet_config.get("evictionHard") or {}).get(signal, self.hard[signal]))
        if signal == "memory.available":
            capacity = quantity.to_bytes(node.capacity["memory"])
            free = capacity * fraction(value) if value.endswith("%") else quantity.to_bytes(value)
            return (capacity - free) / node.memory_bytes
        return 1.0 - fraction(value)

    def config(self) -> dict[str, Any]:
        return {
            "evictionHard": self.hard,
            "imageGCHighThresholdPercent": round(self.gc_high * 100, 6),
            "imageGCLowThresholdPercent": round(self.gc_low * 100, 6),
        }

    def adopt(self, node: Node, t: float) -> None:
        """A new node: checks start now; working set may grow up to the node's capacity."""
        self._checked[node.name] = t
        self._gc_checked[node.name] = t
        self._pressure_until[node.name] = {}
        node.slots["memory"].maximum = quantity.to_bytes(node.capacity["memory"]) / node.memory_bytes

    def pressure(self, node: str, t: float) -> dict[str, bool]:
        until = self._pressure_until.get(node, {})
        return {ctype: until.get(ctype, -math.inf) > t for ctype in ("DiskPressure", "MemoryPressure")}

    def run(self, cluster: Cluster, t: float) -> None:
        """Every GC and eviction check due by scenario time ``t``, in order, for every node."""
        for node in cluster.nodes():
            if node.name not in self._checked:
                self.adopt(node, t)
                continue
            if node.ready == "Unknown":  # a kubelet that is down cleans nothing
                self._checked[node.name] = self._gc_checked[node.name] = t
                continue
            k = self._gc_checked[node.name] + self.gc_period
            while k <= t:
                self._gc(cluster, node, k, "gc")
                self._gc_checked[node.name] = k
                k += self.gc_period
            k = self._checked[node.name] + self.every
            while k <= t:
                self._evict(cluster, node, k)
                self._checked[node.name] = k
                k += self.every

    def _log(self, cluster: Cluster, node: Node, t: float, action: str, signal: str, level: float) -> None:
        if len(self.events) >= EVENTS_MAX:
            del self.events[: EVENTS_MAX // 10]
        self.events.append(
            {"t": cluster.clock.start_epoch + t, "node": node.name, "action": action, "signal": signal,
             "metric": SIGNALS[signal][0], "level": round(level, 6)}
        )  # fmt: skip

    def _gc(self, cluster: Cluster, node: Node, t: float, why: str) -> None:
        slot = node.slots["imagefs"]
        level = slot.value(t)
        own = node.kubelet_config
        high = float(own.get("imageGCHighThresholdPercent", self.gc_high * 100)) / 100
        if level < high:
            return
        target = max(
            float(own.get("imageGCLowThresholdPercent", self.gc_low * 100)) / 100, self.images_in_use
        )
        if level > target:
            slot.drop(t, level - target)
            self._log(cluster, node, t, why, "imagefs.available", level)

    def _evict(self, cluster: Cluster, node: Node, t: float) -> None:
        for signal, (metric, ctype) in SIGNALS.items():
            slot = node.slots.get(metric)
            if slot is None:
                continue
            line = self.line(signal, node)
            level = slot.value(t)
            if level < line:
                continue
            if metric == "imagefs":
                self._gc(cluster, node, t, "reclaim")  # unused images go before any pod
                level = slot.value(t)
                if level < line:
                    continue
            self._log(cluster, node, t, "evict", signal, level)
            slot.drop(t, max(self.frees[metric] * (line if metric == "memory" else 1.0), level - line))
            self._pressure_until[node.name][ctype] = t + self.pressure_transition
            cluster.evict(node.name, 1, "memory" if metric == "memory" else "ephemeral-storage")
