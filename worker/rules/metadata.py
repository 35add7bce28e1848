"""What people and controllers set on a node: taints, cordon, and required or watched labels. Pure; ``now``
given."""

from __future__ import annotations

from datetime import datetime

from worker.model import ClusterSample, Finding, NodeSample, Severity
from worker.model.thresholds import Thresholds
from worker.rules import common
from worker.rules.common import make


def taint_rules(sample: ClusterSample, node: NodeSample, t: Thresholds, now: datetime) -> list[Finding]:
    relevant = [
        taint
        for taint in node.taints
        if taint.effect in ("NoSchedule", "NoExecute")
        and taint.key not in common.CONDITION_TAINTS
        and not common.matches(taint.key, t.taint_ignore)
    ]
    if not relevant:
        return [make(sample, node.name, "taint", None, f"{node.name}: no reportable taints")]
    listed = [
        {
            "key": taint.key,
            "value": taint.value,
            "effect": taint.effect,
            "owner": common.taint_owner(taint.key),
            "since": common.iso_time(taint.time_added),
        }
        for taint in relevant
    ]
    text = "; ".join(
        f"{taint.key}{'=' + taint.value if taint.value else ''}:{taint.effect} by {common.taint_owner(taint.key)}"
        for taint in relevant
    )
    removal = [taint for taint in relevant if taint.key in common.REMOVAL_TAINTS]
    if removal:
        return [
            make(
                sample,
                node.name,
                "taint",
                Severity.INFO,
                f"{node.name}: being removed on purpose ({text})",
                params={"taints": listed, "removal": True},
            )
        ]
    ages = [(now - taint.time_added).total_seconds() for taint in relevant if taint.time_added]
    oldest = max(ages) if ages else None
    # age known and already past the setting: fire now; otherwise let the for-duration run from first sight
    hold = 0.0 if oldest is not None and oldest >= t.taint_for else t.taint_for
    return [
        make(
            sample,
            node.name,
            "taint",
            Severity.WARNING,
            f"{node.name}: tainted {text}",
            value=oldest,
            threshold=t.taint_for,
            hold_for=hold,
            params={"taints": listed, "removal": False},
        )
    ]


def cordon_rules(sample: ClusterSample, node: NodeSample, t: Thresholds, now: datetime) -> list[Finding]:
    if not node.unschedulable:
        return [make(sample, node.name, "cordon", None, f"{node.name}: schedulable")]
    marker = next((x for x in node.taints if x.key == "node.kubernetes.io/unschedulable"), None)
    since = marker.time_added if marker else None
    age = (now - since).total_seconds() if since else None
    removal = common.removal_taint(node)
    if removal is not None:
        owner = common.taint_owner(removal.key)
        return [
            make(
                sample,
                node.name,
                "cordon",
                Severity.INFO,
                f"{node.name}: cordoned while being removed by {owner}",
                value=age,
                params={"since": common.iso_time(since), "by": owner},
            )
        ]
    hold = 0.0 if age is not None and age >= t.cordon_for else t.cordon_for
    for_text = f" for {age:.0f}s" if age is not None else ""
    return [
        make(
            sample,
            node.name,
            "cordon",
            Severity.WARNING,
            f"{node.name}: cordoned (spec.unschedulable){for_text}, set by kubectl cordon/drain or an operator",
            value=age,
            threshold=t.cordon_for,
            hold_for=hold,
            params={"since": common.iso_time(since), "by": "kubectl cordon/drain or an operator"},
        )
    ]


def label_rules(
    sample: ClusterSample, node: NodeSample, t: Thresholds, previous: NodeSample | None
) -> list[Finding]:
    missing = [key for key in t.required_labels if key not in node.labels]
    changed: list[dict[str, object]] = []
    if previous is not None:
        keys = set(previous.labels) | set(node.labels)
        for key in sorted(k for k in keys if common.matches(k, t.watched_labels)):
            before, after = previous.labels.get(key), node.labels.get(key)
            if before != after:
                changed.append({"key": key, "before": before, "after": after})
    if not missing and not changed:
        return [make(sample, node.name, "labels", None, f"{node.name}: labels as expected")]
    parts = []
    if missing:
        parts.append("missing required label(s) " + ", ".join(missing))
    for change in changed:
        if change["after"] is None:
            parts.append(f"label {change['key']} removed (was {change['before']!r})")
        elif change["before"] is None:
            parts.append(f"label {change['key']} added ({change['after']!r})")
        else:
            parts.append(f"label {change['key']} changed {change['before']!r} -> {change['after']!r}")
    return [
        make(
            sample,
            node.name,
            "labels",
            Severity.WARNING,
            f"{node.name}: " + "; ".join(parts),
            params={"missing": missing, "changed": changed},
        )
    ]
