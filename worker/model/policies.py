"""What the config tells the pure rules about muting and flapping: inhibit rules (and the default ones),
maintenance windows, the flapping policy. Plain data, built by worker/settings and applied by worker/rules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from worker.model import Severity, rules


@dataclass(frozen=True)
class InhibitRule:
    """While a source alert is pending or fires at ``source_severity`` or worse, target alerts sharing ``equal``
    (node or cluster) do not page. Pending counts: the cause must mute its effects whichever for-duration is
    shorter, or MemoryPressure (300 s) pages before the memory alert (540 s) that would have muted it."""

    source_rules: tuple[str, ...]
    target_rules: tuple[str, ...]
    equal: str = "node"  # "node": same node; "cluster": anywhere in the cluster
    source_severity: Severity = Severity.WARNING


# A NotReady/Unknown node's usage figures are stale or missing and its pressure is moot: the NotReady alert says it.
# Memory in use above its line is the same incident as the kubelet's MemoryPressure on that node; a disk past its
# critical line is the same incident as DiskPressure (below critical, the pressure comes from elsewhere: inodes,
# the image filesystem, and deserves its own page). An unreachable cluster's node alerts are frozen (nothing new
# is read), and its one cluster alert says it.
DEFAULT_INHIBIT = (
    InhibitRule(("node_not_ready", "node_unknown"), rules.NODE_LOAD, "node"),
    InhibitRule(("memory_usage",), ("memory_pressure",), "node"),
    InhibitRule(
        ("disk_nodefs", "disk_imagefs", "disk_inodes"), ("disk_pressure",), "node", Severity.CRITICAL
    ),
    InhibitRule(("cluster_unreachable", "credentials_rejected"), rules.NODE_SCOPE, "cluster"),
)


@dataclass(frozen=True)
class EvidencePolicy:
    """The evidence rule's parameters (worker/rules/evidence.py, docs/noise.md says why these values).

    Each minute pending adds (excess / ``scale`` - ``allowance``) to a sum that never goes below 0; the alert fires
    when the sum reaches ``decision``, or when the rule's for-duration has passed, whichever comes first.
    """

    scale: float = 5.0  # excess (percentage points above the critical line) that counts as one unit
    allowance: float = (
        0.2  # units per minute that count nothing: a value this close to the line waits the full time
    )
    decision: float = 3.0  # unit-minutes of evidence that page


DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Window:
    """A recurring maintenance window: on ``days`` from ``start`` for ``minutes``, in ``timezone``."""

    days: tuple[str, ...]
    start: time
    minutes: float
    timezone: str = "UTC"
    name: str = "maintenance"

    def contains(self, now: float) -> bool:
        local = datetime.fromtimestamp(now, UTC).astimezone(ZoneInfo(self.timezone))
        # a window may cross midnight: check the start on today and on the days before
        for back in range(0, int(self.minutes // 1440) + 2):
            day = local.date() - timedelta(days=back)
            if DAYS[day.weekday()] not in self.days:
                continue
            begin = datetime.combine(day, self.start, tzinfo=local.tzinfo)
            if begin <= local < begin + timedelta(minutes=self.minutes):
                return True
        return False


@dataclass(frozen=True)
class FlapPolicy:
    window: float = 1800.0  # seconds over which transitions are counted
    threshold: int = 4  # transitions (fired/resolved) in the window that make an alert "flapping"
    quiet: float = 900.0  # stable this long ends flapping, with one summary
