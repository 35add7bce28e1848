"""Plain data shared by every room: what a node looks like, what a finding is, what gets sent.

Standard library only. Quantities are already parsed here: cpu in millicores (float), bytes as int.
Times are timezone-aware UTC datetimes or epoch seconds (float) where they cross Redis.
"""

from __future__ import annotations

import enum
import functools
import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from worker.model import limits


class Severity(enum.IntEnum):
    """Ordered so that ``max()`` picks the worst."""

    INFO = 1
    WARNING = 2
    CRITICAL = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        return cls[text.upper()]


@dataclass(frozen=True)
class Taint:
    key: str
    effect: str  # NoSchedule | PreferNoSchedule | NoExecute
    value: str = ""
    time_added: datetime | None = None


@dataclass(frozen=True)
class Condition:
    type: str  # Ready, MemoryPressure, DiskPressure, PIDPressure, NetworkUnavailable, ...
    status: str  # "True" | "False" | "Unknown"
    reason: str = ""
    message: str = ""
    last_heartbeat: datetime | None = None
    last_transition: datetime | None = None


@dataclass(frozen=True)
class Resources:
    """A resource vector: cpu millicores, memory/ephemeral bytes, pod count."""

    cpu_m: float = 0.0
    memory: int = 0
    ephemeral_storage: int = 0
    pods: int = 0

    def __add__(self, other: Resources) -> Resources:
        return Resources(
            self.cpu_m + other.cpu_m,
            self.memory + other.memory,
            self.ephemeral_storage + other.ephemeral_storage,
            self.pods + other.pods,
        )


@dataclass(frozen=True)
class Usage:
    """Live usage from metrics.k8s.io NodeMetrics."""

    cpu_m: float
    memory: int
    timestamp: datetime | None = None
    window_s: float | None = None


@dataclass(frozen=True)
class FsStats:
    """One filesystem from the kubelet Summary API (node.fs or node.runtime.imageFs)."""

    capacity: int
    used: int
    available: int
    inodes: int | None = None
    inodes_free: int | None = None
    inodes_used: int | None = None

    @property
    def used_pct(self) -> float:
        # kubelet's eviction signal is available/capacity, so "used" is 1 - that
        return 100.0 * (1 - self.available / self.capacity) if self.capacity else 0.0

    @property
    def inodes_used_pct(self) -> float | None:
        if not self.inodes or self.inodes_free is None:
            return None
        return 100.0 * (1 - self.inodes_free / self.inodes)


@dataclass(frozen=True)
class DiskStats:
    nodefs: FsStats | None
    imagefs: FsStats | None


@dataclass(frozen=True)
class PodRef:
    """A pod named in an alert (top consumer, pending, evicted)."""

    namespace: str
    name: str
    cpu_m: float = 0.0
    memory: int = 0
    reason: str = ""


@dataclass(frozen=True)
class NodeSample:
    """Everything one scan learned about one node. Built by worker/collect, read by worker/rules."""

    cluster: str
    name: str
    labels: dict[str, str] = field(default_factory=dict)
    unschedulable: bool = False
    taints: tuple[Taint, ...] = ()
    conditions: dict[str, Condition] = field(default_factory=dict)
    capacity: Resources = Resources()
    allocatable: Resources = Resources()
    requests: Resources = Resources()  # summed over non-terminal pods on the node
    limits: Resources = Resources()
    pod_count: int = 0
    usage: Usage | None = None
    usage_unavailable: str = ""  # why usage is None (metrics API absent, forbidden, stale, ...)
    disk: DiskStats | None = None
    disk_unavailable: str = ""  # why disk is None (disabled, forbidden, timeout, ...)
    top_pods: tuple[PodRef, ...] = ()
    created: datetime | None = None

    @property
    def ready(self) -> str:
        """ "True", "False" or "Unknown" (no Ready condition reads as Unknown)."""
        cond = self.conditions.get("Ready")
        return cond.status if cond else "Unknown"

    def pct(self, used: float, total: float) -> float | None:
        return 100.0 * used / total if total else None

    @property
    def cpu_pct(self) -> float | None:
        """CPU usage against allocatable, like `kubectl top nodes`."""
        return self.pct(self.usage.cpu_m, self.allocatable.cpu_m) if self.usage else None

    @property
    def memory_pct(self) -> float | None:
        return self.pct(self.usage.memory, self.allocatable.memory) if self.usage else None

    @property
    def pods_pct(self) -> float | None:
        return self.pct(self.pod_count, self.allocatable.pods)


@dataclass(frozen=True)
class Unreadable:
    """A node the scan saw but could not read (one unparsable quantity, a field of the wrong type): it is still
    there, so it is reported rather than dropped, and its other alerts are left as they are."""

    field: str  # the field that could not be read: "status.allocatable.memory" ("" when unknown)
    reason: str  # the whole reason, naming the field: "status.allocatable.memory: bad quantity 'lots'"


@dataclass(frozen=True)
class ClusterSample:
    """One scan of one cluster: the nodes plus cluster-wide facts."""

    cluster: str
    taken_at: datetime
    nodes: tuple[NodeSample, ...] = ()
    pending_pods: tuple[PodRef, ...] = ()  # reason = FailedScheduling message
    evicted_pods: dict[str, tuple[PodRef, ...]] = field(default_factory=dict)  # node -> pods
    metrics_available: bool = True
    warnings: tuple[str, ...] = ()  # degraded reads, said once per scan
    skipped: tuple[str, ...] = ()  # objects that could not be parsed, with the reason
    # nodes listed but unreadable, by name: present (no "node removed"), their checks not evaluated this scan
    unreadable: dict[str, Unreadable] = field(default_factory=dict)


@functools.lru_cache(maxsize=1 << 18)
def fingerprint(cluster: str, node: str, rule: str) -> str:
    """Stable id of one alert: the same (cluster, node, rule) is the same alert forever. Cached: a 5,000-node
    scan asks for ~85,000 of them, the same ones every scan."""
    raw = f"{cluster}\x00{node}\x00{rule}".encode()
    return hashlib.sha256(raw).hexdigest()[:16]


@dataclass(frozen=True)
class Finding:
    """A rule's verdict on one node (or on the cluster when node is "") at one moment.

    ``severity`` None means "evaluated and fine" (needed to resolve). ``params`` carries what the
    templates show (value, threshold, reason, pods); keep it JSON-serialisable.
    """

    cluster: str
    node: str
    rule: str
    severity: Severity | None
    value: float | None = None
    threshold: float | None = None
    summary: str = ""  # one English line, for logs and `scan` output
    params: dict[str, object] = field(default_factory=dict)
    hold_for: float = 0.0  # seconds the finding must persist before it fires (the rule's for-duration)
    # how far the value is above the critical line (its own units, e.g. percentage points; negative below it), for
    # the evidence rule (worker/rules/evidence.py) that may fire sooner than ``hold_for``; None: a fixed wait only
    excess: float | None = None

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.cluster, self.node, self.rule)

    @property
    def active(self) -> bool:
        return self.severity is not None


class NotificationKind(enum.StrEnum):
    FIRING = "firing"
    REPEAT = "repeat"
    ESCALATED = "escalated"
    RESOLVED = "resolved"
    FLAPPING = "flapping"  # started flapping: individual transitions are held back
    FLAP_ENDED = "flap_ended"  # stable again: one summary of where it settled
    TEST = "test"
    HEARTBEAT = "heartbeat"  # nodewatch is alive (worker/watchdog.py): a receiver-side dead man's switch


@dataclass(frozen=True)
class Notification:
    """One message to send, before routing: stored in Redis, referenced by id in task args."""

    id: str
    kind: NotificationKind
    cluster: str
    node: str
    rule: str
    severity: Severity
    summary: str
    params: dict[str, object]
    started_at: float  # epoch seconds when the alert started firing (part of its id)
    created_at: float  # epoch seconds of this notification
    fingerprint: str = ""
    # when the condition was first seen (the start of pending: a for-duration before it fired); 0: unknown, read
    # as started_at. What a person means by "since when": the message says this, not the firing time.
    since: float = 0.0
    # resolved: when the condition was last seen (the message says it lasted since..ended_at); 0: unknown
    ended_at: float = 0.0

    @property
    def condition_since(self) -> float:
        return self.since or self.started_at

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "kind": self.kind.value,
            "cluster": self.cluster,
            "node": self.node,
            "rule": self.rule,
            "severity": self.severity.label,
            "summary": limits.cut_text(self.summary, limits.TEXT_MAX),
            "params": limits.bound_json(self.params),  # stored in Redis: bounded (keys.py)
            "started_at": self.started_at,
            "created_at": self.created_at,
            "fingerprint": self.fingerprint,
            "since": self.since,
            "ended_at": self.ended_at,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Notification:
        params = data.get("params") or {}
        assert isinstance(params, dict)
        return cls(
            id=str(data["id"]),
            kind=NotificationKind(str(data["kind"])),
            cluster=str(data["cluster"]),
            node=str(data["node"]),
            rule=str(data["rule"]),
            severity=Severity.parse(str(data["severity"])),
            summary=str(data["summary"]),
            params=params,
            started_at=float(data["started_at"]),  # type: ignore[arg-type]
            created_at=float(data["created_at"]),  # type: ignore[arg-type]
            fingerprint=str(data.get("fingerprint", "")),
            since=float(data.get("since") or 0.0),  # type: ignore[arg-type]
            ended_at=float(data.get("ended_at") or 0.0),  # type: ignore[arg-type]
        )
