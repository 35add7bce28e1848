"""Mute -> lifecycle -> flap -> storm: one scan's findings in, the alert transitions and messages to commit out.

The decisions are pure and live beside the rules (``noise.plan`` runs muting, ``lifecycle.step`` and
``lifecycle.flap`` in Alertmanager's order; ``storms.plan`` groups). This module hands them what they read from
Redis and turns their answers into one ``Transitions``, which the caller commits with the scan's other writes
(``Stores.commit_scan``: one Lua script).

State read: the scan's ``ScanState`` (alerts, flap records, silences, group buffer), cooldown keys of the
firing alerts, storm markers of the rules that have messages. Written (staged): alerts, flap records, cooldowns,
storm markers, group buffer, payloads of the messages, why-entries of what was held back and of each message
decided.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from worker import settings
from worker.model import ClusterSample, Finding, Notification, NotificationKind, history, rules
from worker.rules import muting, noise, storms
from worker.state import alerts as alert_state
from worker.state.alerts import Transitions
from worker.state.store import ScanState, Stores


def notification(
    o: noise.Outgoing, now: float, node_group: str = "", about: Mapping[str, str] | None = None
) -> Notification:
    """The message for one outgoing transition, with a deterministic id: two workers committing the same
    transition store (and send) it once. ``about``: what the config says that the message shows (the cluster's
    display name, the rule's runbook URL), put in its params when set.

    It carries when the condition was first seen (the start of pending, ``since``), not only when it fired: the
    two are a for-duration apart (9 minutes for CPU at critical), and "since when" is what the on-call asks.
    A resolved message carries when the condition was last seen (``ended_at``)."""
    f, kind, st = o.finding, o.kind, o.state
    started = st.fired_at or st.since
    nid = f"{f.fingerprint}-{int(started)}-{kind.value}"
    if kind in (NotificationKind.REPEAT, NotificationKind.ESCALATED, NotificationKind.FLAP_ENDED):
        nid += f"-{int(now)}"
    params = dict(f.params)
    params.setdefault("value", f.value)
    params.setdefault("threshold", f.threshold)
    if node_group:
        params["node_group"] = node_group  # routes may match on it
    params.update({k: v for k, v in (about or {}).items() if v})
    if kind == NotificationKind.RESOLVED:
        params.setdefault("resolved_reason", o.reason)
    if kind in (NotificationKind.FLAPPING, NotificationKind.FLAP_ENDED):
        params["flap"] = o.reason
        params["now_firing"] = f.severity is not None
    return Notification(
        id=nid,
        kind=kind,
        cluster=f.cluster,
        node=f.node,
        rule=f.rule,
        severity=f.severity or st.sent_severity or st.severity,
        summary=f.summary,
        params=params,
        started_at=started,
        created_at=now,
        fingerprint=f.fingerprint,
        since=st.since,
        ended_at=(st.active_at or 0.0) if kind is NotificationKind.RESOLVED else 0.0,
    )


def _storm(
    stores: Stores, cfg: settings.Settings, cluster: str, buffer: dict[str, str], notes: list[Notification],
    now: float, out: Transitions,
) -> list[Notification]:  # fmt: skip
    """The storm stage (``storms.plan``): reads which storms are on, stages the plan's markers and group buffer
    entries, and flushes the buffered messages of the storms no longer on as one message per rule."""
    active = stores.alerts.storms_on(cluster, storms.rules_of(notes), now)
    p = storms.plan(notes, active, cfg.noise.storm_min, cfg.noise.group_interval)
    flushed, out.group_taken = alert_state.buffered(buffer, skip_rules=active)
    out.storms_started, out.storm_s, out.group_wait = p.start, cfg.noise.group_interval, p.wait
    out.storm_until = now + cfg.noise.group_interval
    out.why += p.why
    return [
        msg[0] if len(msg) == 1 else storms.grouped(cluster, msg[0].rule, list(msg), now)
        for msg in storms.with_flushed(p.messages, flushed)
    ]


def advance(
    stores: Stores,
    cfg: settings.Settings,
    cluster: str,
    state: ScanState,
    findings: list[Finding],
    sample: ClusterSample | None,
    now: float,
    removed_reason: str = "",
    cluster_labels: Mapping[str, str] | None = None,
    display_name: str = "",
) -> Transitions:
    """Run the findings through mute, lifecycle, flap and storm; returns what to commit.

    ``sample`` None means the scan failed: node alerts then stay as they are (an unreachable cluster must not
    produce a false "all resolved"), and only the cluster-health findings advance. ``removed_reason``: the
    cluster is gone, every alert closes so.
    """
    prev, flaps = state.alerts, state.flaps
    # an inactive finding with no alert state and no flap record changes nothing (most of a healthy cluster's
    # ~17 findings per node): leave it out before the noise path
    findings = [
        f for f in findings if f.severity is not None or f.fingerprint in prev or f.fingerprint in flaps
    ]
    firing = [
        f.fingerprint for f in findings if f.fingerprint in prev and prev[f.fingerprint].status == "firing"
    ]
    spec_labels = dict(cluster_labels or {})
    ctx = noise.Context(
        now=now,
        cooldowns=frozenset(stores.alerts.cooldowns(cluster, firing)),
        flaps=flaps,
        silences=state.silences,
        maintenance=muting.in_maintenance(cfg.maintenance_windows(cluster), now),
        inhibit=cfg.noise.inhibit_rules(),
        labels={n.name: {**spec_labels, **n.labels} for n in sample.nodes} if sample else {},
        # an unreadable node is still a node of the cluster: its alerts are not closed as "node removed"
        node_names=frozenset([*(n.name for n in sample.nodes), *sample.unreadable]) if sample else None,
        flap_policy=cfg.noise.flap_policy(),
        send_resolved=cfg.notify.send_resolved,
        removed_reason=removed_reason,
        keep_firing_for=cfg.noise.keep_firing_for,
        evidence=cfg.noise.evidence_policy(),
    )
    p = noise.plan(cluster, prev, findings, ctx)
    out = Transitions(
        repeat_s=cfg.repeat_interval,
        upsert=p.upsert,
        delete=p.delete,
        flaps=p.flaps,
        cooldown_start=p.cooldown_start,
        cooldown_clear=p.cooldown_clear,
        # the messages decided too, so that `alerts why` tells the whole story, not only what was held back
        why=[*p.why, *((o.finding.fingerprint, f"message {o.kind.value}: {o.reason}") for o in p.outgoing)],
    )
    groups = {n.name: cfg.node_group_of(cluster, n.labels) for n in sample.nodes} if sample else {}
    display = {"cluster_display": display_name} if display_name and display_name != cluster else {}
    notes = [
        notification(
            o,
            now,
            groups.get(o.finding.node, ""),
            {**display, "runbook_url": cfg.runbook_url(o.finding.rule)},
        )
        for o in p.outgoing
    ]
    notes = _with_trends(stores, cluster, notes, now)
    out.notifications = _storm(stores, cfg, cluster, state.group_buffer, notes, now, out)
    return out


TRENDING = frozenset({NotificationKind.FIRING, NotificationKind.REPEAT, NotificationKind.ESCALATED})


def _with_trends(stores: Stores, cluster: str, notes: list[Notification], now: float) -> list[Notification]:
    """The messages, each with its trend over the last half hour from the node's history (``history.change``)
    where its rule has a history series and the message does not bring its own. One read per metric, only when
    something is sent; a history that cannot be read costs the trend line, never the message."""
    wanted: dict[str, list[int]] = {}
    for i, n in enumerate(notes):
        rule = rules.BY_NAME.get(n.rule)
        if n.kind in TRENDING and n.node and rule and rule.history and "trend" not in n.params:
            wanted.setdefault(rule.history, []).append(i)
    if not wanted:
        return notes
    out = list(notes)
    for metric, idx in wanted.items():
        series = stores.recent_history(cluster, metric, now - 1800, {notes[i].node for i in idx})
        for i in idx:
            moved = history.change(series[notes[i].node], now) if notes[i].node in series else None
            if moved is not None:
                out[i] = dataclasses.replace(notes[i], params={**notes[i].params, "trend": moved})
    return out
