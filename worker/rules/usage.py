"""Measured usage against thresholds, with hysteresis: cpu, memory and pod slots of allocatable; node and image
filesystems and inodes from the kubelet Summary. Pure; ``now`` given where time matters."""

from __future__ import annotations

from collections.abc import Mapping

from worker.model import ClusterSample, Finding, FsStats, NodeSample, Severity
from worker.model.thresholds import Thresholds
from worker.rules import common


def usage_rules(
    sample: ClusterSample, node: NodeSample, t: Thresholds, firing: Mapping[str, Severity]
) -> list[Finding]:
    out: list[Finding] = []
    checks: list[tuple[str, str, float | None, float, float]] = [
        ("cpu_usage", "CPU", node.cpu_pct, t.cpu_warning, t.cpu_critical),
        ("memory_usage", "memory", node.memory_pct, t.memory_warning, t.memory_critical),
        ("pods_usage", "pod slots", node.pods_pct, t.pods_warning, t.pods_critical),
    ]
    # a warning is a working-hours notice: it may wait longer before it fires than a critical
    hold_for = (t.usage_for, max(t.usage_for, t.usage_warning_for))
    for rule, what, value, warning, critical in checks:
        if value is None:
            continue  # metrics absent (the reason is node.usage_unavailable) or no allocatable pods: not evaluated
        params: dict[str, object] = {"warning": warning, "critical": critical}
        extra = ""
        if rule != "pods_usage":
            by = "cpu" if rule == "cpu_usage" else "memory"
            top = common.top_pods(node, by)
            params["top_pods"] = common.pod_dicts(top)
            extra = common.top_pods_text(top, by)
        else:
            params.update(pod_count=node.pod_count, allocatable_pods=node.allocatable.pods)
        if rule == "memory_usage":
            evicted, text = common.evicted_pods(sample, node)
            params["evicted"] = evicted
            extra += text
        said = (what, "of allocatable", extra)
        out.append(
            common.percent(
                sample, node.name, rule, value, (warning, critical), firing=firing, margin=t.hysteresis,
                said=said, hold_for=hold_for, params=params,
            )
        )  # fmt: skip
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
    evicted, evicted_text = common.evicted_pods(sample, node)
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
    disk_hold = (t.disk_for, max(t.disk_for, t.disk_warning_for))
    for rule, what, fs, warning, critical in checks:
        assert fs is not None
        said = (what, f"used, {common.gib(fs.available)} free", evicted_text)
        params: dict[str, object] = {
            "warning": warning,
            "critical": critical,
            "capacity": fs.capacity,
            "available": fs.available,
            "shared": shared,
            "evicted": evicted,
        }
        out.append(
            common.percent(
                sample, node.name, rule, fs.used_pct, (warning, critical), firing=firing, margin=t.hysteresis,
                said=said, hold_for=disk_hold, params=params,
            )
        )  # fmt: skip
    inode_values = [
        (name, fs.inodes_used_pct)
        for name, fs in (("nodefs", disk.nodefs), ("imagefs", None if shared else disk.imagefs))
        if fs is not None and fs.inodes_used_pct is not None
    ]
    if inode_values:
        which, value = max(inode_values, key=lambda item: item[1] or 0.0)
        assert value is not None
        lines = (t.inodes_warning, t.inodes_critical)
        out.append(
            common.percent(
                sample, node.name, "disk_inodes", value, lines, firing=firing, margin=t.hysteresis,
                said=(f"{which} inodes", "used", evicted_text), hold_for=disk_hold,
                params={"filesystem": which, "warning": t.inodes_warning, "critical": t.inodes_critical},
            )
        )  # fmt: skip
    return out


def _strict(t: Thresholds) -> tuple[float, float]:
    return min(t.nodefs_warning, t.imagefs_warning), min(t.nodefs_critical, t.imagefs_critical)
