"""Routing: which receivers get a notification, walking the route tree as Alertmanager does. Pure, no I/O.

The top-level route matches everything. Children are tried in order; the first that matches wins unless it
sets ``continue``; a node none of whose children matched sends to its own receivers. ``sendResolved`` and
``repeatInterval`` are inherited down the tree. Without a ``route`` key every receiver gets everything (the
seed's behaviour).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from worker.model import Notification, NotificationKind
from worker.settings.routes import RouteSettings


@dataclass(frozen=True)
class Subject:
    """What a route may match on, beyond the notification itself."""

    cluster: str
    cluster_labels: Mapping[str, str]
    node_group: str
    rule: str
    severity: str  # info | warning | critical


@dataclass(frozen=True)
class Target:
    """One receiver a notification goes to, with the options of the route that chose it."""

    receiver: str
    send_resolved: bool
    repeat_interval: float | None  # seconds; None: the global alertCooldown alone decides
    route: str  # "route.routes.0" — for the why-log


def subject(n: Notification, cluster_labels: Mapping[str, str], node_group: str = "") -> Subject:
    return Subject(
        cluster=n.cluster,
        cluster_labels=cluster_labels,
        node_group=node_group or str(n.params.get("node_group") or ""),
        rule=n.rule,
        severity=n.severity.label,
    )


def _globs(patterns: Iterable[str], value: str) -> bool:
    return any(fnmatch.fnmatchcase(value, p) for p in patterns)


def matches(route: RouteSettings, s: Subject) -> bool:
    if route.clusters and not _globs(route.clusters, s.cluster):
        return False
    if any(s.cluster_labels.get(k) != v for k, v in route.cluster_labels.items()):
        return False
    if route.node_groups and s.node_group not in route.node_groups:
        return False
    if route.rules and not _globs(route.rules, s.rule):
        return False
    return not (route.severities and s.severity not in route.severities)


def _walk(
    route: RouteSettings, s: Subject, path: str, send_resolved: bool, repeat: float | None
) -> list[Target]:
    send_resolved = route.send_resolved if route.send_resolved is not None else send_resolved
    repeat = route.repeat_interval if route.repeat_interval is not None else repeat
    out: list[Target] = []
    for i, child in enumerate(route.routes):
        if not matches(child, s):
            continue
        out += _walk(child, s, f"{path}.routes.{i}", send_resolved, repeat)
        if not child.continue_:
            break
    if out:
        return out
    return [Target(name, send_resolved, repeat, path) for name in route.receiver_names()]


def route(
    tree: RouteSettings | None,
    s: Subject,
    *,
    all_receivers: Iterable[str],
    send_resolved: bool = True,
) -> list[Target]:
    """The receivers for ``s``, each once (the first route that chose it gives the options)."""
    if tree is None:
        found = [Target(name, send_resolved, None, "(no route: every receiver)") for name in all_receivers]
    else:
        found = _walk(tree, s, "route", send_resolved, None)
    seen: set[str] = set()
    unique = []
    for t in found:
        if t.receiver not in seen:
            seen.add(t.receiver)
            unique.append(t)
    return unique


def repeat_held(target: Target, n: Notification, last_sent: float | None, now: float) -> str | None:
    """A route's ``repeatInterval``: a repeat waits until that long after the last message about this alert that
    the receiver got (firing, escalation or repeat, whichever route sent it). Returns the reason, or None."""
    if target.repeat_interval is None or n.kind is not NotificationKind.REPEAT or last_sent is None:
        return None
    if now - last_sent >= target.repeat_interval:
        return None
    return f"repeat to {target.receiver} held by {target.route} repeatInterval until {last_sent + target.repeat_interval:.0f}"


def longest_repeat(tree: RouteSettings | None) -> float | None:
    """The longest ``repeatInterval`` in the route tree (None when no route sets one): how long the time a
    receiver last got an alert must be kept for ``repeat_held`` to find it."""
    if tree is None:
        return None
    found = [x for x in (tree.repeat_interval, *(longest_repeat(r) for r in tree.routes)) if x is not None]
    return max(found, default=None)


def wanted(target: Target, n: Notification) -> str | None:
    """Why ``n`` is not sent to ``target`` (a reason for the why-log), or None when it is."""
    if n.kind is NotificationKind.RESOLVED and not target.send_resolved:
        return f"resolved messages are off for {target.receiver} ({target.route})"
    return None
