"""Redis memory of a replay's per-cluster keys, by family: what nodewatch's noise state costs per alert."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from worker.state.store import Stores

# key families that are not noise state: notification payloads, delivery log, scan records, inventory
NOT_NOISE = frozenset({"n", "dl", "nodes", "status", "scans", "fails", "lock"})
_FP = re.compile(r"^[0-9a-f]{16}$")


@dataclass
class Memory:
    """Redis memory of one run's per-cluster keys (MEMORY USAGE ... SAMPLES 0), split three ways.

    Per-fingerprint noise state: hashes keyed by fingerprint (alerts, flap) and keys naming one (cd, rr).
    Per-cluster noise state: bounded structures shared by a cluster's alerts (why stream, storm markers, group
    buffer). The rest (payloads, delivery log, scan records, inventory) is not noise state and only listed.
    """

    by_family: dict[str, dict[str, int]] = field(default_factory=dict)  # family -> {keys, bytes}
    fingerprint_bytes: int = 0
    cluster_bytes: int = 0
    fingerprints: int = 0
    at_s: float = 0.0  # when it was measured, seconds into the replay

    @property
    def bytes_per_fingerprint(self) -> float | None:
        return round(self.fingerprint_bytes / self.fingerprints, 1) if self.fingerprints else None

    def to_json(self) -> dict[str, Any]:
        return {
            "at_s": self.at_s,
            "by_family": self.by_family,
            "per_fingerprint_state_bytes": self.fingerprint_bytes,
            "per_cluster_state_bytes": self.cluster_bytes,
            "fingerprints_with_state": self.fingerprints,
            "bytes_per_fingerprint": self.bytes_per_fingerprint,
        }


def measure(stores: Stores, names: Iterable[str], at_s: float = 0.0) -> Memory:
    """MEMORY USAGE of every per-cluster key, by family (the segment after the hash tag); see ``Memory``."""
    mem = Memory(at_s=at_s)
    fps: set[str] = set()
    for cluster in names:
        for key in stores.footprint(cluster):
            fam = mem.by_family.setdefault(key.family, {"keys": 0, "bytes": 0})
            fam["keys"] += 1
            fam["bytes"] += key.bytes
            if key.family in NOT_NOISE:
                continue
            named = {p for p in key.parts if _FP.match(p)} or {f for f in key.fields if _FP.match(f)}
            if named:
                fps |= named
                mem.fingerprint_bytes += key.bytes
            else:
                mem.cluster_bytes += key.bytes
    mem.fingerprints = len(fps)
    return mem
