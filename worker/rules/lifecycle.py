"""Alert lifecycle: pending -> firing -> resolved, with repeat, escalation, muting, ack and flapping. Pure.

Modelled on Alertmanager's ``needsUpdate``: every call is handed ``now`` and returns what to send (or nothing) and
*why*, so that "why was I not paged?" always has an answer. The cooldown itself is a Redis key with a TTL
(worker/state); this module only learns whether it is still running. Muting (inhibition, silences, maintenance
windows) is decided elsewhere and arrives as a reason string.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from worker.model import Finding, NotificationKind, Severity
from worker.model.alerts import AlertState, FlapRecord
from worker.model.policies import EvidencePolicy
from worker.model.policies import FlapPolicy as FlapPolicy  # the config builds it; importable from here
from worker.rules import evidence


@dataclass(frozen=True)
class Step:
    """The outcome for one fingerprint: the new state (None = forget it), what to send, and why."""

    state: AlertState | None
    send: NotificationKind | None
    reason: str


def step(
    prev: AlertState | None,
    finding: Finding,
    now: float,
    in_cooldown: bool,
    muted: str = "",
    keep_firing_for: float = 0.0,
    evidence_policy: EvidencePolicy | None = None,
) -> Step:
    """Advance one fingerprint given this scan's finding.

    ``in_cooldown`` is True while the repeat-interval key for this fingerprint is alive in Redis. ``muted`` is
    the reason this fingerprint must not page now ("inhibited by node_not_ready", "silenced by s-12", ...): the
    state still advances, the message is held, and a firing alert never sent is sent when the mute ends.
    Info findings are reported once when they start (never repeated) and do not send a resolved notice.
    ``keep_firing_for`` (Prometheus' keep_firing_for): a firing alert resolves only after its condition has been
    gone that long, so a dip merges into one incident instead of a resolved + firing pair.
    ``evidence_policy`` lets a pending alert fire before its for-duration when its value is far enough above the
    line for long enough (worker/rules/evidence.py); None: the for-duration alone.
    """
    sev = finding.severity
    if sev is None:
        if prev is None:
            return Step(None, None, "ok")
        if prev.status == "pending":
            return Step(None, None, "cleared while pending: never fired")
        last = prev.active_at if prev.active_at is not None else prev.since
        if prev.sent_severity not in (None, Severity.INFO) and now - last < keep_firing_for:
            return Step(prev, None, f"cleared, resolves at {last + keep_firing_for:.0f} unless it comes back")
        if prev.sent_severity is None or prev.sent_severity == Severity.INFO:
            return Step(None, None, "cleared; nothing was sent, so no resolved notice")
        if muted:
            return Step(None, None, f"resolved while {muted}")
        return Step(None, NotificationKind.RESOLVED, "resolved")

    fp, node, rule = finding.fingerprint, finding.node, finding.rule
    if prev is None or prev.status == "pending":
        since = prev.since if prev is not None else now
        verdict = evidence.decide(
            prev.evidence if prev is not None else 0.0,
            finding.excess,
            since,
            prev.active_at if prev is not None else None,
            now,
            finding.hold_for,
            evidence_policy,
            prev.excess if prev is not None else None,
        )
        if not verdict.fire:
            pending = AlertState(
                fp, node, rule, "pending", sev, since, active_at=now, evidence=verdict.evidence,
                excess=finding.excess,
            )  # fmt: skip
            return Step(pending, None, verdict.reason)
        if muted:
            return Step(
                AlertState(fp, node, rule, "firing", sev, since, now, None, active_at=now), None, muted
            )
        firing = AlertState(fp, node, rule, "firing", sev, since, now, sev, active_at=now)
        return Step(firing, NotificationKind.FIRING, "started firing")

    current = dataclasses.replace(prev, severity=sev, active_at=now)
    if muted:
        return Step(current, None, muted)
    if prev.sent_severity is None:
        return Step(
            dataclasses.replace(current, sent_severity=sev),
            NotificationKind.FIRING,
            "mute ended, still firing",
        )
    if sev > prev.sent_severity:
        return Step(dataclasses.replace(current, sent_severity=sev), NotificationKind.ESCALATED, "escalated")
    if sev == Severity.INFO:
        return Step(current, None, "info is reported once")
    if prev.acked:
        return Step(current, None, "acknowledged: no repeats until resolved")
    if in_cooldown:
        return Step(current, None, "in cooldown (repeat interval)")
    # the severity told stays the highest one told in this episode: an alert that fell back to warning is
    # reminded of at warning, and crossing back to critical, which was told already, is no new escalation
    told = max(sev, prev.sent_severity)
    return Step(
        dataclasses.replace(current, sent_severity=told), NotificationKind.REPEAT, "repeat interval passed"
    )


def vanished(prev: AlertState, reason: str) -> Step:
    """The subject of a firing alert is gone (node removed, cluster removed): close it, said as such."""
    if prev.status == "firing" and prev.sent_severity not in (None, Severity.INFO):
        return Step(None, NotificationKind.RESOLVED, reason)
    return Step(None, None, reason)


# --- flapping ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FlapDecision:
    record: FlapRecord
    send: NotificationKind | None  # replaces the step's send (None = hold it back)
    reason: str


def flap(
    record: FlapRecord, transition: NotificationKind | None, now: float, policy: FlapPolicy
) -> FlapDecision:
    """Pass a step's send through flap detection.

    ``transition`` is the step's FIRING/RESOLVED (other sends are not transitions and pass untouched unless
    flapping). Returns the send to make: the original, nothing (held back while flapping), FLAPPING (just started)
    or FLAP_ENDED (stable for ``policy.quiet``: one summary of where it settled).
    """
    recent: Sequence[float] = [t for t in record.times if now - t <= policy.window]
    is_transition = transition in (NotificationKind.FIRING, NotificationKind.RESOLVED)
    if is_transition:
        recent = [*recent, now][-(policy.threshold * 2) :]

    def kept(times: Sequence[float], since: float | None) -> FlapRecord:
        return FlapRecord(tuple(times), since, record.node)

    if record.flapping_since is not None:
        last = max(record.times, default=record.flapping_since)
        if is_transition:
            return FlapDecision(kept(recent, record.flapping_since), None, "flapping: transition held back")
        if now - last >= policy.quiet:
            # start counting afresh: the transitions that made it flap must not make it flap again at once
            return FlapDecision(kept((), None), NotificationKind.FLAP_ENDED, "stable again")
        # repeats and escalations are held too: the FLAP_ENDED summary will say where it settled
        return FlapDecision(kept(recent, record.flapping_since), None, "flapping")
    if is_transition and len(recent) >= policy.threshold:
        return FlapDecision(
            kept(recent, now),
            NotificationKind.FLAPPING,
            f"{len(recent)} transitions in {policy.window / 60:.0f} min: flapping",
        )
    return FlapDecision(kept(recent, None), transition, "ok")


def flap_expired(record: FlapRecord, now: float, policy: FlapPolicy) -> bool:
    """True when a record nothing touched this scan can no longer matter, so that it is forgotten, not kept forever.

    Not flapping: no transition left inside the window (``flap`` would drop them all). Flapping: nothing happened
    for longer than window + quiet, so its subject is no longer evaluated (a rule whose data went away) and no
    summary can fall due.
    """
    if record.flapping_since is None:
        return all(now - t > policy.window for t in record.times)
    last = max(record.times, default=record.flapping_since)
    return now - last > policy.window + policy.quiet
