"""What nodewatch remembers about alerts between scans: alert states, flap records and silences, with their JSON.

Plain data shared by the pure decisions (worker/rules) and the stores that keep it (worker/state). Standard
library only.
"""

from __future__ import annotations

import dataclasses
import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from worker.model import Severity


@dataclass(frozen=True)
class AlertState:
    """What Redis remembers about one fingerprint between scans."""

    fingerprint: str
    node: str
    rule: str
    status: str  # "pending" | "firing"
    severity: Severity
    since: float  # when the finding was first seen (pending) — epoch seconds
    fired_at: float | None = None
    sent_severity: Severity | None = None  # severity of the last message sent; None = never sent (muted)
    acked: bool = False  # acknowledged: no repeats until it resolves
    active_at: float | None = None  # the last scan that saw the condition (for keep-firing-for)
    evidence: float = 0.0  # while pending: the evidence rule's running sum (worker/rules/evidence.py)
    excess: float | None = None  # while pending: how far above the critical line the last scan read (idem)

    def to_json(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["severity"] = self.severity.label
        d["sent_severity"] = self.sent_severity.label if self.sent_severity else None
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> AlertState:
        sent = d.get("sent_severity")
        return cls(
            fingerprint=str(d["fingerprint"]),
            node=str(d["node"]),
            rule=str(d["rule"]),
            status=str(d["status"]),
            severity=Severity.parse(str(d["severity"])),
            since=float(d["since"]),
            fired_at=None if d.get("fired_at") is None else float(d["fired_at"]),
            sent_severity=Severity.parse(str(sent)) if sent else None,
            acked=bool(d.get("acked", False)),
            active_at=None if d.get("active_at") is None else float(d["active_at"]),
            evidence=float(d.get("evidence") or 0.0),
            excess=None if d.get("excess") is None else float(d["excess"]),
        )


@dataclass(frozen=True)
class FlapRecord:
    """Recent transitions of one fingerprint, kept across resolves (so it lives apart from AlertState).

    ``node`` names the subject, so that the record of a node that left the cluster can be forgotten ("" for a
    cluster-wide alert, and for records written before it was kept).
    """

    times: tuple[float, ...] = ()
    flapping_since: float | None = None
    node: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"times": list(self.times), "since": self.flapping_since, "node": self.node}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> FlapRecord:
        since = d.get("since")
        return cls(
            tuple(float(t) for t in d.get("times", ())),
            None if since is None else float(since),
            str(d.get("node") or ""),
        )


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
