"""From one node's prediction to the finding the alert path takes, and the scan's memory of it. Pure.

A predicted-exhaustion rule (``nodefs_fill_predicted`` ... ``pods_fill_predicted``, the rule registry's
``PREDICTED``) is a finding like any other: the lifecycle holds it for ``predictFor``, cools its repeats down,
mutes, groups and resolves it. What is its own:

- **when it is worked out**: at most once per 5-minute bucket per node and metric (``bucket``), the buckets of
  the nodes staggered over the 5 minutes so that a scan predicts about a fifth of them, not all at one scan; a
  metric that paged nothing and has not risen since is predicted every third bucket (``Cached.due``);
- **what a scan remembers of it** (``Cached``: the bucket and, while it is active, the finding), so that the scans
  in between say the same thing without reading history: ``encode`` / ``decode``, kept by worker/state/predictions;
- **what it says** (``finding``): the ETA, its interval, when, the rate in the resource's own units, the
  confidence, the kubelet's line and where that came from (its configz or the defaults) — or, inactive, why not,
  which is the resolved message's "because".
"""

from __future__ import annotations

import json
import math
import zlib
from dataclasses import dataclass

from worker.model import Finding, NodeSample, Severity
from worker.model import rules as registry
from worker.model.thresholds import Thresholds
from worker.predict import decide, trend
from worker.predict.kubelet import Limit

BUCKET_S = 300.0
RULES = registry.PREDICTED  # metric -> rule name
METRICS = tuple(RULES)
# what each metric's 100 % is, for the rate in the resource's own units
UNITS = {"nodefs": "bytes", "imagefs": "bytes", "inodes": "inodes", "memory": "bytes", "pods": "pods"}
WHAT = {
    "nodefs": "root disk",
    "imagefs": "image disk",
    "inodes": "root disk inodes",
    "memory": "memory",
    "pods": "pod slots",
}


def bucket(node: str, metric: str, now: float) -> int:
    """The 5-minute bucket of ``now`` for this node and metric; each pair's buckets start at its own offset."""
    offset = zlib.crc32(f"{node}\x00{metric}".encode()) % int(BUCKET_S)
    return int((now + offset) // BUCKET_S)


def horizons(t: Thresholds) -> decide.Horizons:
    return decide.Horizons(
        warning_s=t.predict_warning_horizon,
        critical_s=t.predict_critical_horizon,
        floor=t.predict_floor,
        min_confidence=t.predict_min_confidence,
    )


def hold_until(before: Finding | None) -> float | None:
    """When the last prediction of an active finding put the line (its ``eta_at``, carried over while a refusal
    holds it): until then ``decide`` holds the severity through a ``step`` or a ``poor_fit``."""
    if before is None or before.severity is None:
        return None
    at = before.params.get("eta_at")
    return float(at) if isinstance(at, int | float) else None


def total(node: NodeSample, metric: str) -> float:
    """What 100 % of ``metric`` is on ``node`` in its own units (bytes, inodes, pods); 0 when unknown."""
    disk = node.disk
    if metric == "nodefs" and disk and disk.nodefs:
        return float(disk.nodefs.capacity)
    if metric == "imagefs" and disk and disk.imagefs:
        return float(disk.imagefs.capacity)
    if metric == "inodes" and disk and disk.nodefs:
        return float(disk.nodefs.inodes or 0)
    if metric == "memory":
        return float(node.allocatable.memory)
    if metric == "pods":
        return float(node.allocatable.pods)
    return 0.0


def _finite(seconds: float) -> float:
    return round(min(seconds, 365 * 86400.0), 1) if math.isfinite(seconds) else 365 * 86400.0


def finding(
    node: NodeSample,
    metric: str,
    value: float,
    outcome: trend.Outcome,
    decision: decide.Decision,
    limit: Limit | None,
    source: str,
    now: float,
    hold_for: float,
    before: Finding | None = None,
) -> Finding:
    """The finding of one prediction (``decision`` from ``decide.decide``); ``source`` says where the kubelet's
    line came from. Active: the figures the messages show; inactive: why not (``resolved_reason``). A severity
    kept on a refusal that brings no news (too few points, stale, past the line) keeps the figures of the last
    prediction (``before``, the cached finding)."""
    rule = RULES[metric]
    what = WHAT[metric]
    params: dict[str, object] = {"metric": metric, "limit_source": source}
    line = limit.line if limit is not None else None
    if limit is not None:
        params.update(signal=limit.signal, limit=round(limit.line, 2))
    if isinstance(outcome, trend.Prediction):
        p = outcome
        full = total(node, metric)
        params.update(
            eta_s=_finite(p.eta_s), eta_low_s=_finite(p.eta_low_s), eta_high_s=_finite(p.eta_high_s),
            eta_at=round(now + _finite(p.eta_s)), confidence=round(p.confidence, 3),
            confidence_pct=round(100 * p.confidence), level=round(p.level, 2), rate_pct_h=round(p.rate_per_h, 3),
            rate_h=round(p.rate_per_h / 100 * full, 3) if full else None, rate_unit=UNITS[metric], model=p.model,
        )  # fmt: skip
    else:
        if decision.severity is not None and before is not None:
            params = {**before.params, **params}
        params["refusal"] = outcome.code
    reason = f"{decision.reason}; line from the {source}"
    params["reason"] = reason
    if decision.severity is None:
        params["resolved_reason"] = decision.reason
        summary = f"{what} {value:.1f} %: no exhaustion predicted ({decision.reason})"
    elif not isinstance(outcome, trend.Prediction):
        summary = f"{what} {value:.1f} %: {decision.reason}"
    else:
        summary = (
            f"{what} reaches the kubelet's limit ({params.get('signal')}) in ~{trend.human(outcome.eta_s)} "
            f"({trend.human(outcome.eta_low_s)}-{trend.human(outcome.eta_high_s)}), "
            f"{outcome.confidence:.0%} sure, now {value:.1f} %"
        )
    return Finding(
        node.cluster, node.name, rule, decision.severity, value=round(value, 2), threshold=line,
        summary=summary, params=params, hold_for=hold_for,
    )  # fmt: skip


def quiet(node: NodeSample, metric: str, value: float, why: str, hold_for: float) -> Finding:
    """An inactive finding without a prediction (below the floor, switched off): an open alert resolves so."""
    params: dict[str, object] = {"metric": metric, "reason": why, "resolved_reason": why}
    summary = f"{WHAT[metric]} {value:.1f} %: {why}"
    return Finding(
        node.cluster, node.name, RULES[metric], None, value=round(value, 2), summary=summary, params=params,
        hold_for=hold_for,
    )  # fmt: skip


# --- what a scan remembers between predictions ------------------------------------------------------------------

# a metric that did not rise since a prediction that paged nothing is predicted again after 3 buckets (15 min),
# not 5 minutes: most nodes above the floor are steady, and a fill that starts rises past RISE_PT within minutes
QUIET_BUCKETS = 3
RISE_PT = 1.0


@dataclass(frozen=True)
class Cached:
    """The last prediction of one node and metric: its bucket, the value then, and its finding while it was
    active (or while an alert of it is still open and must resolve with the reason)."""

    bucket: int
    finding: Finding | None = None
    value: float | None = None

    def again(self, value: float) -> Finding | None:
        """The cached finding, said again at a scan between predictions with the value measured now."""
        f = self.finding
        if f is None:
            return None
        return Finding(
            f.cluster, f.node, f.rule, f.severity, round(value, 2), f.threshold, f.summary, f.params, f.hold_for
        )  # fmt: skip

    def due(self, bucket: int, value: float) -> bool:
        """Whether to predict again at ``bucket``: a new bucket, and for a quiet, steady metric the third."""
        if bucket == self.bucket:
            return False
        steady = self.finding is None and self.value is not None and value <= self.value + RISE_PT
        return not steady or bucket - self.bucket >= QUIET_BUCKETS


def encode(entry: Cached) -> str:
    f = entry.finding
    if f is None:
        return f"{entry.bucket}:{entry.value:.1f}" if entry.value is not None else str(entry.bucket)
    severity = f.severity.label if f.severity else None
    body = [entry.bucket, severity, f.threshold, f.summary, f.params, f.hold_for]
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def decode(cluster: str, node: str, metric: str, raw: str) -> Cached | None:
    """A stored entry (None when unreadable: the next scan predicts again)."""
    try:
        if not raw.startswith("["):
            b, _, value = raw.partition(":")
            return Cached(int(b), None, float(value) if value else None)
        b, severity, threshold, summary, params, hold_for = json.loads(raw)
        finding = Finding(
            cluster, node, RULES[metric], Severity.parse(severity) if severity else None, None, threshold, summary,
            dict(params), float(hold_for),
        )  # fmt: skip
        return Cached(int(b), finding)
    except (ValueError, TypeError, KeyError):
        return None
