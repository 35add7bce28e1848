"""Storm grouping, pure: which of one scan's messages go out alone, which as one grouped message, which wait.

Like Alertmanager's ``group_by: [cluster, rule]`` with ``group_wait`` = one scan and ``group_interval``: when at
least ``storm_min`` nodes fire (or escalate, or resolve) one rule in one scan, they go out as one message and the
rule's storm starts; while it is on, further firings of that rule wait in a buffer that is flushed as one
message when the group interval ends (on the scans' clock) or a scan brings no new firing of the rule, whichever
is sooner; what fires in the flushing scan joins that message (``with_flushed``). Which storms are on, and the
buffer itself, live in Redis (worker/state); the caller reads them, hands them in, and applies ``StormPlan``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from worker.model import Notification, NotificationKind, fingerprint

GROUPABLE = (NotificationKind.FIRING, NotificationKind.ESCALATED, NotificationKind.RESOLVED)


def groupable(n: Notification) -> bool:
    """Node transitions group; cluster alerts, repeats, flapping notices and info reports never do."""
    return n.kind in GROUPABLE and bool(n.node)


def rules_of(notes: Iterable[Notification]) -> set[str]:
    """The rules whose storm state the caller must look up for ``notes``."""
    return {n.rule for n in notes if groupable(n)}


@dataclass
class StormPlan:
    # each entry goes out as one message: alone when it holds one notification, grouped when it holds more
    messages: list[tuple[Notification, ...]] = field(default_factory=list)
    wait: list[Notification] = field(default_factory=list)  # into the group buffer of their rule's storm
    start: list[str] = field(default_factory=list)  # rules whose storm starts now (for the group interval)
    why: list[tuple[str, str]] = field(default_factory=list)  # (fingerprint, reason) for the why-stream


def plan(
    notes: Sequence[Notification], storms_on: set[str], storm_min: int, group_interval: float
) -> StormPlan:
    """Decide one scan's grouping. ``storms_on``: the rules whose storm (group interval) is running."""
    out = StormPlan()
    by_key: dict[tuple[str, NotificationKind], list[Notification]] = {}
    for n in notes:
        if groupable(n):
            by_key.setdefault((n.rule, n.kind), []).append(n)
        else:
            out.messages.append((n,))
    for (rule, kind), members in by_key.items():
        if rule in storms_on and kind is NotificationKind.FIRING:
            out.wait += members
            out.why += [
                (m.fingerprint, f"grouped into the {rule} storm (sent at the group interval)")
                for m in members
            ]
        elif len(members) >= storm_min:
            out.messages.append(tuple(members))
            out.why += [
                (m.fingerprint, f"grouped with {len(members) - 1} other node(s) into one {rule} message")
                for m in members
            ]
            if kind is NotificationKind.FIRING and group_interval > 0:
                out.start.append(rule)
        else:
            out.messages += [(m,) for m in members]
    return out


def with_flushed(
    messages: Sequence[tuple[Notification, ...]], flushed: Mapping[str, Sequence[Notification]]
) -> list[tuple[Notification, ...]]:
    """One scan's messages plus the group buffers flushed in it (``flushed``: rule -> the firings that waited): a
    rule's new firings join its flushed batch, so the scan that ends a storm sends one message for the rule, not a
    batch and a straggler beside it."""
    batches = {rule: list(members) for rule, members in flushed.items()}
    out = []
    for msg in messages:
        first = msg[0]
        if first.kind is NotificationKind.FIRING and groupable(first) and first.rule in batches:
            batches[first.rule] += msg
        else:
            out.append(msg)
    return out + [tuple(members) for members in batches.values()]


def grouped(cluster: str, rule: str, members: list[Notification], now: float) -> Notification:
    """One message for many nodes firing (or resolving) the same rule: Alertmanager's group_by [cluster, rule]."""
    members = sorted(members, key=lambda n: (-n.severity, n.node))
    kind = members[0].kind  # grouping is per (rule, kind): firing, escalated or resolved together
    fp = fingerprint(cluster, "*", rule)
    shown = ", ".join(n.node for n in members[:5]) + (
        f" +{len(members) - 5} more" if len(members) > 5 else ""
    )
    return Notification(
        id=f"{fp}-group-{kind.value}-{int(now)}",
        kind=kind,
        cluster=cluster,
        node="",
        rule=rule,
        severity=max(n.severity for n in members),
        summary=f"{len(members)} nodes {kind.value} {rule}: {shown}",
        params={
            "group": [
                {
                    "node": n.node,
                    "severity": n.severity.label,
                    "value": n.params.get("value"),
                    "summary": n.summary,
                }
                for n in members
            ],
            "count": len(members),
            "threshold": members[0].params.get("threshold"),
            # what the config says about the cluster and the rule, the same for every member
            **{k: members[0].params[k] for k in ("cluster_display", "runbook_url") if k in members[0].params},
        },
        started_at=min(n.started_at for n in members),
        created_at=now,
        fingerprint=fp,
        since=min(n.condition_since for n in members),
    )
