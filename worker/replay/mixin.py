"""node-mixin's predictive filesystem alerts, reproduced for the replay's baseline. Pure: samples and ``now`` in.

The rules, from prometheus/node_exporter ``docs/node-mixin/alerts/alerts.libsonnet`` (thresholds from its
``config.libsonnet``: fsSpaceFillingUpWarningThreshold 40, fsSpaceFillingUpCriticalThreshold 20):

- ``NodeFilesystemSpaceFillingUp`` warning: ``avail / size * 100 < 40 and predict_linear(avail[6h], 24*60*60) < 0``
  ``for: 1h``; critical: ``< 20`` and ``predict_linear(avail[6h], 4*60*60) < 0``, ``for: 1h`` (and
  ``node_filesystem_readonly == 0``, always true here). Applied to nodefs and imagefs, the kubelet's two filesystems.
- ``NodeFilesystemFilesFillingUp``: the same on ``node_filesystem_files_free`` (inodes), 40 %/24 h and 20 %/4 h.
- Memory: node-mixin has no predictive memory rule, so the baseline has none (the replay shows "n/a").

``predict_linear(v[6h], d)`` is Prometheus's ``linearRegression`` (promql/functions.go): ordinary least squares
over the samples of the range (the last 6 h up to the evaluation time, at least two), the intercept taken at the
evaluation time, plus slope × d. A rule is evaluated at every scan; as Prometheus's alerting rule it turns
*pending* when the expression holds and *fires* once it has held for ``for`` at an evaluation (``now - activeAt >=
for``); it resolves at the first evaluation where it does not hold. Percentages here are "used" as nodewatch keeps
them, so available = 100 - used (predict_linear is linear, so percent and bytes give the same sign).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

RANGE_S = 6 * 3600.0
FOR_S = 3600.0
# (severity, available % below which, predict_linear horizon)
LEVELS = (("warning", 40.0, 24 * 3600.0), ("critical", 20.0, 4 * 3600.0))
METRICS = ("nodefs", "imagefs", "inodes")  # what node-mixin predicts; memory: none
HORIZON_S = {severity: horizon for severity, _, horizon in LEVELS}


def predict_linear(
    samples: deque[tuple[float, float]] | list[tuple[float, float]], now: float, d: float
) -> float | None:
    """Prometheus's predict_linear over ``samples`` [(t, value)]: the least-squares line's value at ``now + d``."""
    n = len(samples)
    if n < 2:
        return None
    sx = sy = sxy = sxx = 0.0
    for t, v in samples:
        x = t - now  # Prometheus takes x relative to the intercept time
        sx += x
        sy += v
        sxy += x * v
        sxx += x * x
    cov = sxy - sx * sy / n
    var = sxx - sx * sx / n
    if var == 0:
        return None
    slope = cov / var
    intercept = sy / n - slope * sx / n
    return intercept + slope * d


@dataclass(frozen=True)
class Alarm:
    """One firing episode of a predictive alert: from ``start`` (it fired) to ``end`` (resolved; None: still firing)."""

    cluster: str
    node: str
    metric: str
    severity: str
    start: float
    end: float | None


@dataclass
class _Rule:
    active_at: float | None = None
    firing_since: float | None = None


@dataclass
class Baseline:
    """Every node's filesystem series and rule states for one replay; ``observe`` once per scan and node."""

    cluster: str
    samples: dict[tuple[str, str], deque[tuple[float, float]]] = field(default_factory=dict)
    rules: dict[tuple[str, str, str], _Rule] = field(default_factory=dict)
    alarms: list[Alarm] = field(default_factory=list)

    def observe(self, node: str, values: dict[str, float | None], now: float) -> None:
        """The node's used % per metric at this scan (None: not read), then every rule evaluated at ``now``."""
        for metric in METRICS:
            used = values.get(metric)
            series = self.samples.setdefault((node, metric), deque())
            if used is not None:
                series.append((now, 100.0 - used))
            while series and series[0][0] <= now - RANGE_S:
                series.popleft()
            last = series[-1] if series else None
            fresh = last is not None and now - last[0] <= 300.0  # Prometheus's 5-minute lookback
            for severity, below, horizon in LEVELS:
                holds = False
                if fresh and last is not None and last[1] < below:
                    predicted = predict_linear(series, now, horizon)
                    holds = predicted is not None and predicted < 0
                self._evaluate(node, metric, severity, holds, now)

    def _evaluate(self, node: str, metric: str, severity: str, holds: bool, now: float) -> None:
        rule = self.rules.setdefault((node, metric, severity), _Rule())
        if not holds:
            if rule.firing_since is not None:
                self.alarms.append(Alarm(self.cluster, node, metric, severity, rule.firing_since, now))
            rule.active_at = rule.firing_since = None
            return
        if rule.active_at is None:
            rule.active_at = now
        if rule.firing_since is None and now - rule.active_at >= FOR_S:
            rule.firing_since = now

    def finish(self) -> list[Alarm]:
        """Every alarm, those still firing at the end with ``end`` None."""
        still = [
            Alarm(self.cluster, node, metric, severity, r.firing_since, None)
            for (node, metric, severity), r in self.rules.items()
            if r.firing_since is not None
        ]
        return sorted(self.alarms + still, key=lambda a: (a.start, a.node, a.metric, a.severity))
