"""Rule parameters: thresholds, hysteresis margins and for-durations, as plain data.

Config (worker/settings) builds one ``Thresholds`` per cluster / node group from YAML, where every field is
written in camelCase (``cpuWarning``, ``usageFor``...). Thresholds default to the seed sketch's (70/90); the
for-durations do not: the sketch paged on the first scan that saw a value, and bench/README.md ("replay") measures
what that costs. The defaults below are the ones measured there.
Percentages are 0-100; durations are seconds; sizes are bytes; cpu is millicores.
docs/rules.md explains each default and which rule reads it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Thresholds:
    # --- live usage (metrics.k8s.io) against allocatable, like `kubectl top nodes` ---
    cpu_warning: float = 70.0
    cpu_critical: float = 90.0
    memory_warning: float = 70.0
    memory_critical: float = 90.0
    # pods on the node against allocatable pod slots
    pods_warning: float = 80.0
    pods_critical: float = 95.0
    # a firing usage/disk alert clears only below threshold - margin (percentage points)
    hysteresis: float = 5.0
    # a usage finding must hold this long before it fires. 540 s = the replay's incident (10 minutes at critical)
    # less one 60 s scan: the first scan that can know the episode counts pages; 6-minute spikes never do.
    # Scale it with checkInterval if you change that (a for-duration shorter than two scans is no filter).
    usage_for: float = 540.0
    # ... and at warning level, at least this long (0: the same as usage_for): a warning is a working-hours notice
    usage_warning_for: float = 900.0
    # Ready False/Unknown must hold this long before it fires: longer than a missed status post (the node
    # controller's grace is 40 s) or a kubelet restart, well inside a 5-minute outage
    not_ready_for: float = 150.0

    # --- node conditions ---
    # MemoryPressure / DiskPressure / PIDPressure / NetworkUnavailable must hold this long (the kubelet already
    # waits evictionPressureTransitionPeriod, 5m, before clearing a pressure condition)
    pressure_for: float = 300.0

    # --- disk, from the kubelet Summary API (used % = 1 - available/capacity, the kubelet's own signal) ---
    # kubelet hard eviction nodefs.available<10% -> evicts at 90 % used: critical 2 points before it
    nodefs_warning: float = 80.0
    nodefs_critical: float = 88.0
    # kubelet eviction imagefs.available<15% and image GC high threshold 85 % -> both act at 85 % used
    imagefs_warning: float = 75.0
    imagefs_critical: float = 83.0
    # kubelet eviction nodefs.inodesFree<5% -> evicts at 95 % inodes used
    inodes_warning: float = 85.0
    inodes_critical: float = 93.0
    disk_for: float = 0.0
    # ... and at warning level, at least this long (0: the same as disk_for): node-mixin's
    # NodeFilesystemAlmostOutOfSpace waits 30 m. A warning is a working-hours notice, and a log file that peaks at
    # the warning line just before each rotation (every few hours, for minutes) should not fire and resolve every
    # time: predict-rotation's two scored days sent 40 disk_nodefs messages at 0 s, 15 at 900 s (bench/README.md).
    disk_warning_for: float = 900.0

    # --- allocation: requests against allocatable, measured in "typical pods" of headroom ---
    typical_pod_cpu_m: float = 500.0
    typical_pod_memory: int = 1024**3  # 1 GiB
    typical_pod_ephemeral: int = 1024**3  # 1 GiB
    typical_pod_slots: int = 1
    requests_for: float = 0.0
    # cluster overcommit (kubernetes-mixin KubeCPUOvercommit/KubeMemoryOvercommit: `for: 10m`)
    overcommit_for: float = 600.0

    # --- taints and cordons ---
    # a NoSchedule/NoExecute taint or a cordon alerts (warning) when it lasts longer than this
    taint_for: float = 3600.0
    cordon_for: float = 3600.0
    # taint keys never reported; an entry ending in "*" is a prefix
    taint_ignore: tuple[str, ...] = (
        "node-role.kubernetes.io/control-plane",
        "node-role.kubernetes.io/master",
    )

    # --- labels ---
    # labels every node of this group must carry (e.g. topology.kubernetes.io/zone, a team label)
    required_labels: tuple[str, ...] = ()
    # labels whose change or removal is reported; an entry ending in "*" is a prefix
    watched_labels: tuple[str, ...] = ("node-role.kubernetes.io/*", "topology.kubernetes.io/zone")

    # --- membership ---
    # ready_drop fires when at least ready_drop_nodes nodes AND ready_drop_pct % of the nodes that were Ready
    # within ready_drop_window seconds are now present but not Ready (deleted/drained/autoscaled ones excluded)
    ready_drop_nodes: int = 2
    ready_drop_pct: float = 10.0
    ready_drop_window: float = 600.0

    # --- predicted exhaustion (worker/predict: the trend of a node's history toward the kubelet's own limit) ---
    # switch the *_fill_predicted rules off for a cluster or node group
    predict: bool = True
    # warning when the limit is predicted within this many seconds, critical within the shorter one: node-mixin's
    # NodeFilesystemSpaceFillingUp horizons (24 h / 4 h)
    predict_warning_horizon: float = 24 * 3600.0
    predict_critical_horizon: float = 4 * 3600.0
    # only a metric used at least this much (percent) is predicted: node-mixin's "< 40 % available"
    predict_floor: float = 60.0
    # the trend's confidence (0-1) a new alert needs; a firing one is kept down to half of it
    predict_min_confidence: float = 0.75
    # the predictions must keep saying it for this long before it fires: node-mixin's ``for: 1h``, so that a fill
    # that stops within the hour pages nothing
    predict_for: float = 3600.0


# the fields counted in seconds: the config also takes them as durations ("10m", "24h")
SECONDS = (
    "usage_for", "usage_warning_for", "not_ready_for", "pressure_for", "disk_for", "requests_for", "overcommit_for",
    "disk_warning_for", "taint_for", "cordon_for", "ready_drop_window", "predict_warning_horizon", "predict_critical_horizon",
    "predict_for",
)  # fmt: skip
