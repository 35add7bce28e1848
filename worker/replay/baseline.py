"""The baseline policy for replay, pure: what the seed sketch would have sent for the same cluster samples.

The sketch (its Python version, ``evaluate_metrics``/``check_node``/``send_alert``): CPU and memory above the
warning threshold alert (critical above the critical one), pods above 80 % of capacity warn, Ready not True is
critical; one key per node and check (``node_<n>_cpu_high`` ...), each muted for ``alertCooldown`` (15 min)
after it was sent. No for-duration, no hysteresis, no resolved notice. Percentages are the sample's (against
allocatable, as nodewatch reads them; the sketch divided by capacity, which only lowers its figures a little).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from worker.model import ClusterSample, NodeSample
from worker.model.thresholds import Thresholds
from worker.replay.incidents import Sent

COOLDOWN_S = 15 * 60.0
PODS_PCT = 80.0  # hard-coded in the sketch


@dataclass(frozen=True)
class Check:
    key: str
    rule: str  # nodewatch's name for the same check, so scoring treats both policies alike
    severity: str


def checks(node: NodeSample, t: Thresholds) -> list[Check]:
    """The sketch's checks that trip on this node now (strictly above, as the sketch compares)."""
    out: list[Check] = []
    if node.ready != "True":
        out.append(Check(f"node_{node.name}_not_ready", "node_not_ready", "critical"))
    for what, rule, value, warning, critical in (
        ("cpu", "cpu_usage", node.cpu_pct, t.cpu_warning, t.cpu_critical),
        ("memory", "memory_usage", node.memory_pct, t.memory_warning, t.memory_critical),
    ):
        if value is not None and value > warning:
            out.append(
                Check(f"node_{node.name}_{what}_high", rule, "critical" if value > critical else "warning")
            )
    pods = node.pods_pct
    if pods is not None and pods > PODS_PCT:
        out.append(Check(f"node_{node.name}_pod_high", "pods_usage", "warning"))
    return out


def step(
    sample: ClusterSample,
    thresholds_for: Callable[[NodeSample], Thresholds],
    last_sent: Mapping[str, float],
    now: float,
    cooldown_s: float = COOLDOWN_S,
) -> tuple[list[Sent], dict[str, float]]:
    """One check of every node: the messages sent now and the updated ``key -> last sent`` map."""
    sent: list[Sent] = []
    last = dict(last_sent)
    for node in sample.nodes:
        for c in checks(node, thresholds_for(node)):
            previous = last.get(c.key)
            if previous is not None and now - previous < cooldown_s:
                continue
            last[c.key] = now
            sent.append(Sent(now, sample.cluster, c.rule, "firing", c.severity, (node.name,)))
    return sent, last
