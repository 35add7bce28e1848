"""Alert lifecycle: pending -> firing -> resolved, with repeat and escalation. Pure: ``now`` is handed in.

Modelled on Alertmanager's ``needsUpdate``: every call returns what to send (or nothing) and *why*, so that
"why was I not paged?" always has an answer. The cooldown itself is a Redis key with a TTL (worker/state); this
module only learns whether it is still running.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from worker.model import Finding, NotificationKind, Severity


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
    sent_severity: Severity | None = None  # severity of the last message sent

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
        )


@dataclass(frozen=True)
class Step:
    """The outcome for one fingerprint: the new state (None = forget it), what to send, and why."""

    state: AlertState | None
    send: NotificationKind | None
    reason: str


def step(prev: AlertState | None, finding: Finding, now: float, in_cooldown: bool) -> Step:
    """Advance one fingerprint given this scan's finding.

    ``in_cooldown`` is True while the repeat-interval key for this fingerprint is alive in Redis.
    Info findings are reported once when they start (never repeated) and do not send a resolved notice.
    """
    sev = finding.severity
    if sev is None:
        if prev is None:
            return Step(None, None, "ok")
        if prev.status == "pending":
            return Step(None, None, "cleared while pending: never fired")
        if prev.sent_severity is None or prev.sent_severity == Severity.INFO:
            return Step(None, None, "cleared; info needs no resolved notice")
        return Step(None, NotificationKind.RESOLVED, "resolved")

    if prev is None or prev.status == "pending":
        since = prev.since if prev is not None else now
        if now - since < finding.hold_for:
            pending = AlertState(finding.fingerprint, finding.node, finding.rule, "pending", sev, since)
            return Step(
                pending, None, f"pending until {since + finding.hold_for:.0f} (for {finding.hold_for:.0f}s)"
            )
        firing = AlertState(finding.fingerprint, finding.node, finding.rule, "firing", sev, since, now, sev)
        return Step(firing, NotificationKind.FIRING, "started firing")

    current = dataclasses.replace(prev, severity=sev)
    if prev.sent_severity is not None and sev > prev.sent_severity:
        return Step(dataclasses.replace(current, sent_severity=sev), NotificationKind.ESCALATED, "escalated")
    if sev == Severity.INFO:
        return Step(current, None, "info is reported once")
    if in_cooldown:
        return Step(current, None, "in cooldown (repeat interval)")
    return Step(
        dataclasses.replace(current, sent_severity=sev), NotificationKind.REPEAT, "repeat interval passed"
    )


def vanished(prev: AlertState, reason: str) -> Step:
    """The subject of a firing alert is gone (node removed, cluster removed): close it, said as such."""
    if prev.status == "firing" and prev.sent_severity not in (None, Severity.INFO):
        return Step(None, NotificationKind.RESOLVED, reason)
    return Step(None, None, reason)
