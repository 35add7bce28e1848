"""Why an alert must not page right now: silences, maintenance windows and inhibition. Pure, ``now`` handed in.

Order as in Alertmanager: inhibition, then silences; maintenance windows are recurring silences of a whole cluster.
Unlike Alertmanager, a *pending* source inhibits too (``Sources``): the cause mutes its effects before it fires.
Each function returns the reason ("silenced by s-3 (alice: kernel upgrade)") or "".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from worker.model import Severity
from worker.model.alerts import Silence

# the data lives in worker/model (the config builds it); these names stay importable from here
from worker.model.policies import DEFAULT_INHIBIT as DEFAULT_INHIBIT
from worker.model.policies import InhibitRule as InhibitRule
from worker.model.policies import Window as Window


@dataclass(frozen=True)
class Source:
    """An alert that may inhibit others: pending or firing after this scan, at its current severity."""

    node: str
    rule: str
    severity: Severity
    pending: bool = False


class Sources:
    """This scan's possible inhibition sources, indexed by rule: a lookup per target, not a pass over all."""

    def __init__(self, sources: Iterable[Source] = ()) -> None:
        self.by_rule: dict[str, list[Source]] = {}
        for s in sources:
            self.by_rule.setdefault(s.rule, []).append(s)


def inhibited_by(rule: str, node: str, sources: Sources, rules: Sequence[InhibitRule]) -> str:
    """Why (``rule``, ``node``) is inhibited ("inhibited by memory_usage (pending)"), or "" when it is not.

    A source counts while it is pending as well as firing, at its rule's ``source_severity`` or worse: one cause
    is one message whichever for-duration is shorter. A rule never inhibits itself.
    """
    for r in rules:
        if rule not in r.target_rules or rule in r.source_rules:
            continue
        for src_rule in r.source_rules:
            for s in sources.by_rule.get(src_rule, ()):
                if s.severity < r.source_severity or (r.equal != "cluster" and s.node != node):
                    continue
                where = f" on {s.node}" if s.node and s.node != node else ""
                return f"inhibited by {src_rule}{where}" + (" (pending)" if s.pending else "")
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
