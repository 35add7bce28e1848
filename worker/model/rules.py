"""The rule registry: every rule nodewatch reports, with the facts other rooms need about it.

This is the one list of rule names. The config checks rule names against it (inhibit rules, route matchers),
the message templates take each rule's unit from it and must hold a phrase for each rule that says it has one,
the default inhibition mutes the rules it marks as a node's own load, and the replay scores the rules it ties
to a ground-truth metric. The rules themselves (worker/rules, and the scan's own cluster-health findings in
worker/pipeline.py) name what they report; tests check that they report only names listed here.
Standard library only.
"""

from __future__ import annotations

import difflib
import fnmatch
from dataclasses import dataclass
from typing import Literal

from worker.model.thresholds import Thresholds

# how a rule's value and threshold read in a message: a percentage, millicores shown as cores, bytes shown as
# GiB, a count, or seconds shown as a duration (worker/notify/templates/filters.py formats them)
Unit = Literal["pct", "cores", "gib", "int", "duration"]


@dataclass(frozen=True)
class Rule:
    name: str
    scope: Literal["node", "cluster"]  # about one node, or about the whole cluster (node "")
    unit: Unit | None = None  # None: the finding carries no figure worth formatting
    # the Thresholds fields it reads: config keys in camelCase (cpu_warning -> cpuWarning); defaults there
    thresholds: tuple[str, ...] = ()
    # the replay's ground-truth metric a message of this rule detects (worker/replay/incidents.py); "" none
    metric: str = ""
    # a figure of the node's own load or pressure: stale or moot while that node is NotReady/Unknown, so the
    # default inhibition mutes it there (the NotReady alert says it)
    node_load: bool = False
    # the headline phrase `rules.<name>` in worker/notify/templates/<lang>.yaml; False: the finding's summary
    phrase: bool = True
    resolved_phrase: bool = False  # and its own `resolved.<name>` phrase
    # who reports it: worker/rules, the scan's own outcome (worker/pipeline.py's cluster health), nodewatch
    # watching itself (worker/watchdog.py: a cluster no scan reached for several intervals), or the prediction
    # stage over the nodes' history (worker/alerting/forecast.py)
    reported_by: Literal["rules", "scan", "watchdog", "forecast"] = "rules"
    # while it is open on a node, the scan reads that node's live pod usage, so that its message names the pods
    # using the most (worker/pipeline.py's top_pods_wanted); other nodes cost no pod usage read
    reads_pod_usage: bool = False
    # the node history series (worker/model/history.py's METRICS) that follows this rule's value: its message
    # shows the trend from it; "" none
    history: str = ""

    def defaults(self) -> dict[str, object]:
        """The default of every threshold this rule reads (Thresholds' field defaults)."""
        base = Thresholds()
        return {key: getattr(base, key) for key in self.thresholds}


_USAGE_FOR = ("hysteresis", "usage_for", "usage_warning_for")


def _usage(name: str, prefix: str, metric: str = "", reads_pod_usage: bool = False) -> Rule:
    keys = (f"{prefix}_warning", f"{prefix}_critical", *_USAGE_FOR)
    return Rule(
        name,
        "node",
        "pct",
        keys,
        metric,
        node_load=True,
        resolved_phrase=True,
        reads_pod_usage=reads_pod_usage,
        history=prefix,
    )


def _disk(name: str, prefix: str, metric: str = "", extra: tuple[str, ...] = ()) -> Rule:
    keys = (f"{prefix}_warning", f"{prefix}_critical", *extra, "hysteresis", "disk_for", "disk_warning_for")
    return Rule(name, "node", "pct", keys, metric, node_load=True, resolved_phrase=True, history=prefix)


def _pressure(name: str, node_load: bool = True) -> Rule:
    return Rule(name, "node", None, ("pressure_for",), node_load=node_load, resolved_phrase=True)


def _requests(name: str, unit: Unit, typical: str) -> Rule:
    return Rule(name, "node", unit, (typical, "requests_for"), node_load=True)


# what they read: the switch, the horizons, the floor, the confidence and the for-duration
_PREDICT = (
    "predict", "predict_warning_horizon", "predict_critical_horizon", "predict_floor", "predict_min_confidence",
    "predict_for",
)  # fmt: skip


def _predicted(name: str, metric: str) -> Rule:
    # value: the usage now (%), threshold: the kubelet's line (%); metric: the history series it predicts
    # (worker/model/history.METRICS), which the replay ties to its ground truth
    return Rule(
        name, "node", "pct", _PREDICT, metric, node_load=True, resolved_phrase=True, reported_by="forecast"
    )


def _health(name: str) -> Rule:
    # value: failed scans in a row
    return Rule(name, "cluster", "int", resolved_phrase=True, reported_by="scan")


RULES: tuple[Rule, ...] = (
    _usage("cpu_usage", "cpu", metric="cpu", reads_pod_usage=True),
    _usage("memory_usage", "memory", metric="memory", reads_pod_usage=True),
    _usage("pods_usage", "pods"),
    Rule("node_not_ready", "node", "duration", ("not_ready_for",), "ready", resolved_phrase=True),
    Rule("node_unknown", "node", "duration", ("not_ready_for",), "ready", resolved_phrase=True),
    _pressure("memory_pressure"),
    _pressure("disk_pressure"),
    _pressure("pid_pressure"),
    _pressure("network_unavailable", node_load=False),
    # one filesystem for both: the stricter of the two lines
    _disk("disk_nodefs", "nodefs", metric="disk", extra=("imagefs_warning", "imagefs_critical")),
    _disk("disk_imagefs", "imagefs"),
    _disk("disk_inodes", "inodes"),
    # predicted exhaustion: the time until the kubelet's own limit (worker/predict, run by worker/alerting/forecast)
    _predicted("nodefs_fill_predicted", "nodefs"),
    _predicted("imagefs_fill_predicted", "imagefs"),
    _predicted("inodes_fill_predicted", "inodes"),
    _predicted("memory_fill_predicted", "memory"),
    _predicted("pods_fill_predicted", "pods"),
    _requests("cpu_requests", "cores", "typical_pod_cpu_m"),
    _requests("memory_requests", "gib", "typical_pod_memory"),
    _requests("ephemeral_requests", "gib", "typical_pod_ephemeral"),
    _requests("pods_requests", "int", "typical_pod_slots"),
    Rule("cluster_cpu_overcommit", "cluster", "pct", ("overcommit_for",)),
    Rule("cluster_memory_overcommit", "cluster", "pct", ("overcommit_for",)),
    Rule("taint", "node", "duration", ("taint_for", "taint_ignore")),
    Rule("cordon", "node", "duration", ("cordon_for",), resolved_phrase=True),
    Rule("labels", "node", None, ("required_labels", "watched_labels")),
    Rule("node_added", "node"),
    Rule("node_removed", "node"),
    Rule(
        "ready_drop",
        "cluster",
        "pct",
        ("ready_drop_nodes", "ready_drop_pct", "ready_drop_window", "not_ready_for"),
        "ready",  # it names the nodes it counts
    ),
    Rule("cluster_degraded", "cluster", phrase=False),
    Rule("node_unreadable", "node", resolved_phrase=True),
    _health("cluster_unreachable"),
    _health("credentials_rejected"),
    _health("cluster_scan_slow"),
    # value: seconds since the cluster's last scan ended
    Rule("cluster_not_scanned", "cluster", "duration", resolved_phrase=True, reported_by="watchdog"),
)

BY_NAME: dict[str, Rule] = {r.name: r for r in RULES}
NAMES: tuple[str, ...] = tuple(BY_NAME)
# rules that are a node's own load or pressure (the default inhibition's targets)
NODE_LOAD: tuple[str, ...] = tuple(r.name for r in RULES if r.node_load)
# the predicted-exhaustion rules by the history metric they predict
PREDICTED: dict[str, str] = {r.metric: r.name for r in RULES if r.reported_by == "forecast"}
# rules about one node (an unreachable cluster's node alerts: the default inhibition's targets)
NODE_SCOPE: tuple[str, ...] = tuple(r.name for r in RULES if r.scope == "node")


def unit(name: str) -> Unit | None:
    """How ``name``'s value reads; None for rules without a figure and for names not in the registry."""
    rule = BY_NAME.get(name)
    return rule.unit if rule else None


def by_metric(metric: str) -> tuple[str, ...]:
    """The rules whose messages detect ``metric`` in the replay ("cpu", "memory", "disk", "ready"; the predicted
    ones: "nodefs", "imagefs", "inodes", "memory", "pods")."""
    return tuple(r.name for r in RULES if r.metric == metric)


def _known() -> str:
    return ", ".join(NAMES)


def name_problem(name: str) -> str | None:
    """Why ``name`` is not a rule name (None: it is one), with the closest names as a hint."""
    if name in BY_NAME:
        return None
    close = difflib.get_close_matches(name, NAMES, n=3)
    hint = f"did you mean {' or '.join(close)}?" if close else f"known: {_known()}"
    return f"unknown rule {name[:60]!r} ({hint})"


def pattern_problem(pattern: str) -> str | None:
    """Why the shell glob ``pattern`` can never match a rule (None: it matches at least one)."""
    if any(fnmatch.fnmatchcase(name, pattern) for name in NAMES):
        return None
    if not any(ch in pattern for ch in "*?["):
        return name_problem(pattern)
    return f"rule pattern {pattern[:60]!r} matches no rule (known: {_known()})"
