"""Rule parameters: thresholds, hysteresis margins and for-durations, as plain data.

Config (worker/settings) builds one ``Thresholds`` per cluster / node group from YAML, where every field is
written in camelCase (``cpuWarning``, ``memoryCriticalFor``...). Defaults equal the seed sketch (70/90).
Percentages are 0-100; durations are seconds.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Thresholds:
    cpu_warning: float = 70.0
    cpu_critical: float = 90.0
    memory_warning: float = 70.0
    memory_critical: float = 90.0
    pods_warning: float = 80.0
    pods_critical: float = 95.0
    # a firing usage alert clears only below threshold - margin (percentage points)
    hysteresis: float = 5.0
    # a usage finding must hold this long before it fires
    usage_for: float = 0.0
    # Ready False/Unknown must hold this long before it fires
    not_ready_for: float = 0.0
