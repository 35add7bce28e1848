"""One scan's findings in, what to write and what to send out: the noise-reduction path. Pure, ``now`` handed in.

The order follows Alertmanager: inhibit (by pending sources too) -> silence (and maintenance windows) -> for-duration -> dedup/cooldown
(lifecycle.step) -> flapping. Storm grouping (worker/rules/storms.py) comes after this, once the scan has read
which storms are on from Redis.
Every fingerprint that is held back gets a reason in ``Plan.why``.
Flap records stay bounded (keys.py): a record whose subject is gone — its node left the sample, its cluster was
removed — is forgotten in the same plan that closes its alert, and one nothing touched for too long
(``lifecycle.flap_expired``) is forgotten too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from worker.model import Finding, NotificationKind, Severity
from worker.model.alerts import AlertState, FlapRecord, Silence
from worker.model.policies import EvidencePolicy
from worker.rules import evidence, lifecycle, muting
from worker.rules.lifecycle import FlapPolicy


@dataclass(frozen=True)
class Context:
    now: float
    cooldowns: frozenset[str] = frozenset()  # fingerprints whose cooldown key is alive
    flaps: Mapping[str, FlapRecord] = field(default_factory=dict)
    silences: Sequence[Silence] = ()
    maintenance: str = ""  # the reason when the cluster is in a maintenance window now
    inhibit: Sequence[muting.InhibitRule] = muting.DEFAULT_INHIBIT
    labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # node -> node + cluster labels
    node_names: frozenset[str] | None = None  # nodes seen by this scan; None when the scan failed
    flap_policy: FlapPolicy = FlapPolicy()
    send_resolved: bool = True
    removed_reason: str = ""  # the whole cluster is gone ("cluster removed"): close every alert
    keep_firing_for: float = 0.0  # a firing alert resolves only after its condition has been gone this long
    evidence: EvidencePolicy | None = (
        None  # may fire a pending alert before its for-duration (rules/evidence.py)
    )


@dataclass(frozen=True)
class Outgoing:
    finding: Finding
    kind: NotificationKind
    state: AlertState  # the state the message speaks of (started_at, severity sent)
    reason: str


@dataclass
class Plan:
    upsert: dict[str, AlertState] = field(default_factory=dict)
    delete: list[str] = field(default_factory=list)
    flaps: dict[str, FlapRecord | None] = field(default_factory=dict)
    outgoing: list[Outgoing] = field(default_factory=list)
    cooldown_start: list[str] = field(default_factory=list)
    cooldown_clear: list[str] = field(default_factory=list)
    why: list[tuple[str, str]] = field(default_factory=list)


def _sources(
    prev: Mapping[str, AlertState],
    findings: Sequence[Finding],
    now: float,
    keep_firing_for: float,
    evidence_policy: EvidencePolicy | None = None,
) -> muting.Sources:
    """What may inhibit after this scan, mutes ignored: every warning-or-worse finding, pending or firing, and the
    firing alerts whose condition cleared but which keep firing (``keep_firing_for``): the same incident."""
    out = []
    for f in findings:
        before = prev.get(f.fingerprint)
        if f.severity is None:
            if before is not None and before.status == "firing" and before.severity >= Severity.WARNING:
                kept = lifecycle.step(before, f, now, True, "", keep_firing_for).state
                if kept is not None:
                    out.append(muting.Source(f.node, f.rule, before.severity))
            continue
        if f.severity < Severity.WARNING:
            continue
        firing = (before is not None and before.status == "firing") or evidence.decide(
            before.evidence if before is not None else 0.0,
            f.excess,
            before.since if before is not None else now,
            before.active_at if before is not None else None,
            now,
            f.hold_for,
            evidence_policy,
            before.excess if before is not None else None,
        ).fire
        out.append(muting.Source(f.node, f.rule, f.severity, pending=not firing))
    return muting.Sources(out)


def plan(cluster: str, prev: Mapping[str, AlertState], findings: Sequence[Finding], ctx: Context) -> Plan:
    out = Plan()
    sources = _sources(prev, findings, ctx.now, ctx.keep_firing_for, ctx.evidence)
    seen: set[str] = set()

    def mute_reason(f: Finding) -> str:
        labels = ctx.labels.get(f.node, {})
        return (
            muting.silenced_by(ctx.silences, cluster, f.node, f.rule, labels, ctx.now)
            or ctx.maintenance
            or muting.inhibited_by(f.rule, f.node, sources, ctx.inhibit)
        )

    def apply(f: Finding, s: lifecycle.Step, before: AlertState | None, vanished: bool = False) -> None:
        fp = f.fingerprint
        if s.state is None:
            if before is not None:
                out.delete.append(fp)
        elif s.state != before:
            out.upsert[fp] = s.state
        send, reason = s.send, s.reason
        record = ctx.flaps.get(fp)
        if vanished:
            # the subject is gone for good: its closing notice is no flap transition, and its record goes with it
            if record is not None:
                out.flaps[fp] = None
        elif record is not None or send in (NotificationKind.FIRING, NotificationKind.RESOLVED):
            base = record or FlapRecord()
            if base.node != f.node:
                base = dataclasses.replace(base, node=f.node)
            d = lifecycle.flap(base, send, ctx.now, ctx.flap_policy)
            if d.record != record:
                out.flaps[fp] = d.record if (d.record.times or d.record.flapping_since is not None) else None
            if d.send != send:
                send, reason = d.send, d.reason
        if send == NotificationKind.RESOLVED and not ctx.send_resolved:
            send, reason = None, "resolved notices are off (notify.sendResolved)"
        if send in (NotificationKind.FIRING, NotificationKind.ESCALATED):
            out.cooldown_start.append(fp)
        elif send == NotificationKind.RESOLVED:
            out.cooldown_clear.append(fp)
        if send is not None:
            # a flap summary can fall due after the alert resolved and its state was forgotten
            state = (
                s.state
                or before
                or AlertState(fp, f.node, f.rule, "firing", f.severity or Severity.INFO, ctx.now)
            )
            out.outgoing.append(Outgoing(f, send, state, reason))
        elif reason not in ("ok",) and (f.severity is not None or before is not None):
            out.why.append((fp, reason))

    if ctx.removed_reason:
        for st in prev.values():
            gone = Finding(cluster, st.node, st.rule, None, summary=f"{cluster}: {ctx.removed_reason}")
            apply(gone, lifecycle.vanished(st, ctx.removed_reason), st, vanished=True)
        out.flaps.update(dict.fromkeys(ctx.flaps))  # nothing of a removed cluster flaps any more
        return out
    for f in findings:
        seen.add(f.fingerprint)
        before = prev.get(f.fingerprint)
        cool = f.fingerprint in ctx.cooldowns
        step = lifecycle.step(before, f, ctx.now, cool, mute_reason(f), ctx.keep_firing_for, ctx.evidence)
        apply(f, step, before)
    if ctx.node_names is not None:
        for fp, st in prev.items():
            if fp not in seen and st.node and st.node not in ctx.node_names:
                seen.add(fp)
                gone = Finding(cluster, st.node, st.rule, None, summary=f"node {st.node} was removed")
                apply(gone, lifecycle.vanished(st, "node removed"), st, vanished=True)
    _forget_flaps(out, prev, seen, ctx)
    return out


def _forget_flaps(out: Plan, prev: Mapping[str, AlertState], seen: set[str], ctx: Context) -> None:
    """Forget the flap records this scan did not touch whose alert is gone and whose node left the sample, or
    that expired (``lifecycle.flap_expired``). A record whose alert is still open is kept: it may still flap."""
    for fp, record in ctx.flaps.items():
        if fp in seen or fp in out.flaps or (fp in prev and fp not in out.delete):
            continue
        node_gone = ctx.node_names is not None and bool(record.node) and record.node not in ctx.node_names
        if node_gone or lifecycle.flap_expired(record, ctx.now, ctx.flap_policy):
            out.flaps[fp] = None
