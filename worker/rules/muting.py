"""Why an alert must not page right now: silences, maintenance windows and inhibition. Pure, ``now`` handed in.

Order as in Alertmanager: inhibition, then silences; maintenance windows are recurring silences of a whole cluster.
Each function returns the reason ("silenced by s-3 (alice: kernel upgrade)") or "".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from worker.model.alerts import Silence

# the data lives in worker/model (the config builds it); these names stay importable from here
from worker.model.policies import DEFAULT_INHIBIT as DEFAULT_INHIBIT
from worker.model.policies import InhibitRule as InhibitRule
from worker.model.policies import Window as Window


def inhibited_by(
    rule: str, node: str, firing: Iterable[tuple[str, str]], rules: Sequence[InhibitRule]
) -> str:
    """``firing`` holds the (node, rule) pairs firing in this cluster now."""
    active = set(firing)
    for r in rules:
        if rule not in r.target_rules or rule in r.source_rules:
            continue
        for src_node, src_rule in active:
            if src_rule in r.source_rules and (r.equal == "cluster" or src_node == node):
                return f"inhibited by {src_rule}" + (
                    f" on {src_node}" if src_node and src_node != node else ""
                )
    return ""


def silenced_by(
    silences: Iterable[Silence], cluster: str, node: str, rule: str, labels: Mapping[str, str], now: float
) -> str:
    for s in silences:
        if s.active(now) and s.matches(cluster, node, rule, labels):
            who = f" ({s.author}: {s.comment})" if s.author or s.comment else ""
            return f"silenced by {s.id}{who}"
    return ""


def in_maintenance(windows: Iterable[Window], now: float) -> str:
    for w in windows:
        if w.contains(now):
            return f"in maintenance window {w.name}"
    return ""
