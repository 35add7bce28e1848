"""Why an alert must not page right now: silences, maintenance windows and inhibition. Pure, ``now`` handed in.

Order as in Alertmanager: inhibition, then silences; maintenance windows are recurring silences of a whole cluster.
Each function returns the reason ("silenced by s-3 (alice: kernel upgrade)") or "".
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

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


@dataclass(frozen=True)
class Silence:
    id: str
    ends: float
    starts: float = 0.0
    cluster: str = ""  # glob; "" = any
    node: str = ""  # glob
    rule: str = ""  # glob
    labels: dict[str, str] = field(default_factory=dict)  # node or cluster labels that must all match
    author: str = ""
    comment: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "starts": self.starts,
            "ends": self.ends,
            "cluster": self.cluster,
            "node": self.node,
            "rule": self.rule,
            "labels": self.labels,
            "author": self.author,
            "comment": self.comment,
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Silence:
        return cls(
            id=str(d["id"]),
            ends=float(d["ends"]),
            starts=float(d.get("starts", 0.0)),
            cluster=str(d.get("cluster", "")),
            node=str(d.get("node", "")),
            rule=str(d.get("rule", "")),
            labels={str(k): str(v) for k, v in dict(d.get("labels") or {}).items()},
            author=str(d.get("author", "")),
            comment=str(d.get("comment", "")),
        )

    def active(self, now: float) -> bool:
        return self.starts <= now < self.ends

    def matches(self, cluster: str, node: str, rule: str, labels: Mapping[str, str]) -> bool:
        def glob(pattern: str, value: str) -> bool:
            return not pattern or fnmatch.fnmatchcase(value, pattern)

        return (
            glob(self.cluster, cluster)
            and glob(self.node, node)
            and glob(self.rule, rule)
            and all(labels.get(k) == v for k, v in self.labels.items())
        )


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
