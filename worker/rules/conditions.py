"""Node conditions: Ready (NotReady, Unknown) and the pressure / network conditions, told apart from deliberate
maintenance (cordon, removal taints). Pure; ``now`` given."""

from __future__ import annotations

from datetime import datetime

from worker.model import ClusterSample, Finding, NodeSample, Severity
from worker.model.thresholds import Thresholds
from worker.rules import common
from worker.rules.common import make

CONDITION_RULES = {
    "MemoryPressure": "memory_pressure",
    "DiskPressure": "disk_pressure",
    "PIDPressure": "pid_pressure",
    "NetworkUnavailable": "network_unavailable",
}


def ready_rules(sample: ClusterSample, node: NodeSample, t: Thresholds, now: datetime) -> list[Finding]:
    cond = node.conditions.get("Ready")
    status = node.ready
    removal = common.removal_taint(node)
    expected = ""
    if node.unschedulable:
        expected = "node is cordoned (expected maintenance)"
    if removal is not None:
        expected = f"node is being removed on purpose by {common.taint_owner(removal.key)}"
    out = []
    for rule, wanted, word in (
        ("node_not_ready", "False", "NotReady"),
        ("node_unknown", "Unknown", "Unknown"),
    ):
        if status != wanted:
            out.append(make(sample, node.name, rule, None, f"{node.name}: Ready is {status}"))
            continue
        reason = cond.reason if cond else "NoReadyCondition"
        message = cond.message if cond else "the node reports no Ready condition"
        heartbeat = cond.last_heartbeat if cond else None
        since = cond.last_transition if cond else None
        sev = Severity.INFO if expected else Severity.CRITICAL
        silent = f" for {(now - since).total_seconds():.0f}s" if since else ""
        detail = "kubelet stopped posting status" if wanted == "Unknown" else reason
        summary = f"{node.name}: {word}{silent} ({detail}: {message})"
        if heartbeat:
            summary += f"; last heartbeat {heartbeat.isoformat()}"
        if expected:
            summary += f"; {expected}"
        params: dict[str, object] = {
            "reason": reason,
            "message": message,
            "last_heartbeat": common.iso_time(heartbeat),
            "last_transition": common.iso_time(since),
            "expected": expected,
        }
        silent_s = (now - since).total_seconds() if since else None
        hold = 0.0 if expected else t.not_ready_for
        out.append(make(sample, node.name, rule, sev, summary, value=silent_s, hold_for=hold, params=params))
    return out


def condition_rules(sample: ClusterSample, node: NodeSample, t: Thresholds) -> list[Finding]:
    out = []
    deliberate = node.unschedulable or common.removal_taint(node) is not None
    for ctype, rule in CONDITION_RULES.items():
        cond = node.conditions.get(ctype)
        if cond is None or cond.status != "True":
            state = cond.status if cond else "not reported"
            out.append(make(sample, node.name, rule, None, f"{node.name}: {ctype} {state}"))
            continue
        params: dict[str, object] = {"reason": cond.reason, "message": cond.message}
        params["last_transition"] = common.iso_time(cond.last_transition)
        extra = ""
        if ctype in ("MemoryPressure", "DiskPressure", "PIDPressure"):
            evicted, extra = common.evicted_pods(sample, node)
            params["evicted"] = evicted
        if ctype == "MemoryPressure":
            top = common.top_pods(node, "memory")
            params["top_pods"] = common.pod_dicts(top)
            extra += common.top_pods_text(top, "memory")
        if ctype == "DiskPressure":
            params["disk_unavailable"] = node.disk_unavailable
            if node.disk and node.disk.nodefs:
                params["nodefs_used_pct"] = round(node.disk.nodefs.used_pct, 1)
                extra += f"; nodefs {node.disk.nodefs.used_pct:.1f}% used"
            elif node.disk_unavailable:
                extra += f"; disk figures unavailable ({node.disk_unavailable})"
        sev = Severity.INFO if deliberate else Severity.CRITICAL
        summary = (
            f"{node.name}: {ctype} ({cond.reason or 'no reason'}: {cond.message or 'no message'}){extra}"
        )
        out.append(make(sample, node.name, rule, sev, summary, hold_for=t.pressure_for, params=params))
    return out
