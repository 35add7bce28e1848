"""Per-node rules: usage, conditions, disk, allocation headroom, taints, cordon, labels. Pure; ``now`` given."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from worker.model import ClusterSample, Finding, FsStats, NodeSample, PodRef, Severity
from worker.model.thresholds import Thresholds
from worker.rules import common
from worker.rules.common import make

CONDITION_RULES = {
    "MemoryPressure": "memory_pressure",
    "DiskPressure": "disk_pressure",
    "PIDPressure": "pid_pressure",
    "NetworkUnavailable": "network_unavailable",
}


def _evicted(sample: ClusterSample, node: NodeSample) -> tuple[list[dict[str, object]], str]:
    pods = sample.evicted_pods.get(node.name, ())
    if not pods:
        return [], ""
    return common.pod_dicts(pods), f"; {len(pods)} pod(s) evicted recently: {common.pod_names(pods)}"


def _top(node: NodeSample, by: str) -> list[PodRef]:
    key = (lambda p: p.cpu_m) if by == "cpu" else (lambda p: p.memory)
    return sorted(node.top_pods, key=key, reverse=True)[:3]


def _top_text(pods: list[PodRef], by: str) -> str:
    if not pods:
        return ""
    source = "requests" if pods[0].reason == "requests" else "usage"
    shown = [common.cores(p.cpu_m) if by == "cpu" else common.gib(p.memory) for p in pods]
    return f"; top pods by {by} {source}: " + ", ".join(
        f"{p.namespace}/{p.name} {s}" for p, s in zip(pods, shown, strict=True)
    )


def usage_rules(
    sample: ClusterSample, node: NodeSample, t: Thresholds, firing: Mapping[str, Severity]
) -> list[Finding]:
    out: list[Finding] = []
    checks: list[tuple[str, str, float | None, float, float]] = [
        ("cpu_usage", "CPU", node.cpu_pct, t.cpu_warning, t.cpu_critical),
        ("memory_usage", "memory", node.memory_pct, t.memory_warning, t.memory_critical),
        ("pods_usage", "pod slots", node.pods_pct, t.pods_warning, t.pods_critical),
    ]
    for rule, what, value, warning, critical in checks:
        if value is None:
            continue  # metrics absent (the reason is node.usage_unavailable) or no allocatable pods: not evaluated
        sev, threshold = common.level(
            value, warning, critical, common.firing_of(firing, sample, node.name, rule), t.hysteresis
        )
        params: dict[str, object] = {"warning": warning, "critical": critical}
        extra = ""
        if rule != "pods_usage":
            by = "cpu" if rule == "cpu_usage" else "memory"
            top = _top(node, by)
            params["top_pods"] = common.pod_dicts(top)
            extra = _top_text(top, by)
        else:
            params.update(pod_count=node.pod_count, allocatable_pods=node.allocatable.pods)
        if rule == "memory_usage":
            evicted, text = _evicted(sample, node)
            params["evicted"] = evicted
            extra += text
        state = f"{sev.label} >= {threshold:g}%" if sev else f"below {warning:g}%"
        out.append(
            make(
                sample,
                node.name,
                rule,
                sev,
                f"{node.name}: {what} {value:.1f}% of allocatable ({state}){extra}",
                value=value,
                threshold=threshold,
                # a warning is a working-hours notice: it may wait longer before it fires than a critical
                hold_for=t.usage_for if sev == Severity.CRITICAL else max(t.usage_for, t.usage_warning_for),
                params=params,
            )
        )
    return out


def _fmt_time(when: datetime | None) -> str:
    return when.isoformat() if when else ""


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
        out.append(
            make(
                sample,
                node.name,
                rule,
                sev,
                summary,
                value=(now - since).total_seconds() if since else None,
                hold_for=0.0 if expected else t.not_ready_for,
                params={
                    "reason": reason,
                    "message": message,
                    "last_heartbeat": _fmt_time(heartbeat),
                    "last_transition": _fmt_time(since),
                    "expected": expected,
                },
            )
        )
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
        params["last_transition"] = _fmt_time(cond.last_transition)
        extra = ""
        if ctype in ("MemoryPressure", "DiskPressure", "PIDPressure"):
            evicted, extra = _evicted(sample, node)
            params["evicted"] = evicted
        if ctype == "MemoryPressure":
            top = _top(node, "memory")
            params["top_pods"] = common.pod_dicts(top)
            extra += _top_text(top, "memory")
        if ctype == "DiskPressure":
            params["disk_unavailable"] = node.disk_unavailable
            if node.disk and node.disk.nodefs:
                params["nodefs_used_pct"] = round(node.disk.nodefs.used_pct, 1)
                extra += f"; nodefs {node.disk.nodefs.used_pct:.1f}% used"
            elif node.disk_unavailable:
                extra += f"; disk figures unavailable ({node.disk_unavailable})"
        sev = Severity.INFO if deliberate else Severity.CRITICAL
        out.append(
            make(
                sample,
                node.name,
                rule,
                sev,
                f"{node.name}: {ctype} ({cond.reason or 'no reason'}: {cond.message or 'no message'}){extra}",
                hold_for=t.pressure_for,
                params=params,
            )
        )
    return out


def _same_fs(a: FsStats, b: FsStats) -> bool:
    return a.capacity == b.capacity and a.available == b.available


def disk_rules(
    sample: ClusterSample, node: NodeSample, t: Thresholds, firing: Mapping[str, Severity]
) -> list[Finding]:
    disk = node.disk
    if disk is None:
        return []  # not evaluated: node.disk_unavailable says why; DiskPressure still checked
    shared = disk.nodefs is not None and disk.imagefs is not None and _same_fs(disk.nodefs, disk.imagefs)
    evicted, evicted_text = _evicted(sample, node)
    out = []
    checks: list[tuple[str, str, FsStats | None, float, float]] = []
    if disk.nodefs is not None:
        if shared:
            # one disk holds both: the kubelet's imagefs GC/eviction (85 %) acts on it first, so its
            # stricter thresholds apply, and one alert is enough
            checks.append(("disk_nodefs", "node+image filesystem", disk.nodefs, *_strict(t)))
        else:
            checks.append(
                ("disk_nodefs", "node filesystem", disk.nodefs, t.nodefs_warning, t.nodefs_critical)
            )
    if disk.imagefs is not None and not shared:
        checks.append(
            ("disk_imagefs", "image filesystem", disk.imagefs, t.imagefs_warning, t.imagefs_critical)
        )
    for rule, what, fs, warning, critical in checks:
        assert fs is not None
        value = fs.used_pct
        sev, threshold = common.level(
            value, warning, critical, common.firing_of(firing, sample, node.name, rule), t.hysteresis
        )
        state = f"{sev.label} >= {threshold:g}%" if sev else f"below {warning:g}%"
        out.append(
            make(
                sample,
                node.name,
                rule,
                sev,
                f"{node.name}: {what} {value:.1f}% used, {common.gib(fs.available)} free ({state}){evicted_text}",
                value=value,
                threshold=threshold,
                hold_for=t.disk_for,
                params={
                    "warning": warning,
                    "critical": critical,
                    "capacity": fs.capacity,
                    "available": fs.available,
                    "shared": shared,
                    "evicted": evicted,
                },
            )
        )
    inode_values = [
        (name, fs.inodes_used_pct)
        for name, fs in (("nodefs", disk.nodefs), ("imagefs", None if shared else disk.imagefs))
        if fs is not None and fs.inodes_used_pct is not None
    ]
    if inode_values:
        which, value = max(inode_values, key=lambda item: item[1] or 0.0)
        assert value is not None
        rule = "disk_inodes"
        sev, threshold = common.level(
            value,
            t.inodes_warning,
            t.inodes_critical,
            common.firing_of(firing, sample, node.name, rule),
            t.hysteresis,
        )
        state = f"{sev.label} >= {threshold:g}%" if sev else f"below {t.inodes_warning:g}%"
        out.append(
            make(
                sample,
                node.name,
                rule,
                sev,
                f"{node.name}: {which} inodes {value:.1f}% used ({state}){evicted_text}",
                value=value,
                threshold=threshold,
                hold_for=t.disk_for,
                params={"filesystem": which, "warning": t.inodes_warning, "critical": t.inodes_critical},
            )
        )
    return out


def _strict(t: Thresholds) -> tuple[float, float]:
    return min(t.nodefs_warning, t.imagefs_warning), min(t.nodefs_critical, t.imagefs_critical)


def allocation_rules(
    sample: ClusterSample,
    node: NodeSample,
    t: Thresholds,
    pending_by: Mapping[str, list[PodRef]] | None = None,
) -> list[Finding]:
    """Headroom = allocatable - requests, against a typical pod; critical when pods are Pending for it.
    ``pending_by``: ``common.pending_by_resource(sample)``, computed once per scan by the caller."""
    if pending_by is None:
        pending_by = common.pending_by_resource(sample)
    out = []
    checks: list[tuple[str, str, str, float, float, float]] = [
        ("cpu_requests", "cpu", "CPU", node.allocatable.cpu_m, node.requests.cpu_m, t.typical_pod_cpu_m),
        (
            "memory_requests",
            "memory",
            "memory",
            node.allocatable.memory,
            node.requests.memory,
            t.typical_pod_memory,
        ),
        (
            "ephemeral_requests",
            "ephemeral-storage",
            "ephemeral-storage",
            node.allocatable.ephemeral_storage,
            node.requests.ephemeral_storage,
            t.typical_pod_ephemeral,
        ),
        ("pods_requests", "pods", "pod slot", node.allocatable.pods, node.pod_count, t.typical_pod_slots),
    ]
    schedulable = not node.unschedulable and node.ready == "True"
    for rule, resource, word, allocatable, requested, typical in checks:
        if allocatable <= 0:
            continue  # the node does not report this resource: not evaluated
        headroom = allocatable - requested
        headroom_pct = 100.0 * headroom / allocatable
        pending = pending_by.get(resource, [])
        show = _shower(resource)
        params: dict[str, object] = {
            "headroom": headroom,
            "headroom_pct": round(headroom_pct, 1),
            "requests": requested,
            "requests_pct": round(100.0 * requested / allocatable, 1),
            "allocatable": allocatable,
            "typical_pod": typical,
            "pending_count": len(pending),
            "pending_pods": common.pod_dicts(pending[:10]),
        }
        sev: Severity | None = None
        if schedulable and headroom < typical:
            sev = Severity.CRITICAL if pending else Severity.WARNING
        head = f"{node.name} has {headroom_pct:.0f}% {word} headroom ({show(headroom)} unrequested"
        head += f", typical pod {show(typical)})"
        if pending:
            reason = "Too many pods" if resource == "pods" else f"Insufficient {resource}"
            head = f"{len(pending)} pod(s) Pending: {reason} ({common.pod_names(pending)}); {head}"
        if not schedulable:
            head += "; node not schedulable, not alerting"
        out.append(
            make(
                sample,
                node.name,
                rule,
                sev,
                head,
                value=headroom,
                threshold=typical,
                hold_for=t.requests_for,
                params=params,
            )
        )
    return out


def _shower(resource: str) -> Callable[[float], str]:
    if resource == "cpu":
        return common.cores
    if resource == "pods":
        return lambda v: f"{v:.0f}"
    return common.gib


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
            "since": _fmt_time(taint.time_added),
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
                params={"since": _fmt_time(since), "by": owner},
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
            params={"since": _fmt_time(since), "by": "kubectl cordon/drain or an operator"},
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
