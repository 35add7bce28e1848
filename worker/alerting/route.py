"""Route -> repeat: which receivers get each message a scan accepted, as Alertmanager's dispatcher does.

The route tree is walked by ``notify.routing.route`` (cluster, cluster labels, node group, rule, severity);
``receivers_of`` then drops, each with its reason, the receivers without a URL, resolved messages a route does
not want, and repeats held by a route's ``repeatInterval`` (``routing.repeat_held``, handed ``now`` and the
time the receiver last got a message about the alert). Pure; ``route`` reads and writes the state around it.

State read: when each receiver last got a message about the alert (``rr:{receiver}:{fp}``, written by the
record stage once a send succeeded). Written: why-entries of what was not routed.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from worker import settings
from worker.model import Notification, NotificationKind
from worker.notify import routing
from worker.state.store import Stores


@dataclass(frozen=True)
class Job:
    """One message for one receiver: the arguments of ``tasks.notify`` (names and ids only: Flower shows them)."""

    cluster: str
    notification: str
    receiver: str


def targets(
    cfg: settings.Settings, n: Notification, labels: Mapping[str, str], receivers: Collection[str]
) -> list[routing.Target]:
    """The route tree's choice for ``n``; without a ``route`` every receiver in ``receivers``."""
    return routing.route(
        cfg.route, routing.subject(n, labels), all_receivers=receivers, send_resolved=cfg.notify.send_resolved
    )


def receivers_of(
    n: Notification,
    chosen: Sequence[routing.Target],
    receivers: Collection[str],
    last_sent: Mapping[str, float],
    now: float,
) -> tuple[list[str], list[str]]:
    """The receivers that get ``n`` now, and why each other one does not. ``last_sent``: when each receiver last
    got a message about this alert."""
    if not chosen:
        return [], [f"{n.kind.value}: no route has a receiver for it"]
    out, why = [], []
    for t in chosen:
        if t.receiver not in receivers:
            why.append(f"receiver {t.receiver}: its URL (file/env) is empty")
        elif reason := routing.wanted(t, n) or routing.repeat_held(t, n, last_sent.get(t.receiver), now):
            why.append(reason)
        else:
            out.append(t.receiver)
    return out, why


def route(
    stores: Stores,
    cfg: settings.Settings,
    cluster: str,
    labels: Mapping[str, str],
    messages: Sequence[Notification],
    now: float,
    receivers: Collection[str] | None = None,
) -> list[Job]:
    """Route one cluster's accepted messages; ``labels`` are the cluster's, ``receivers`` the configured ones
    (default: the config's). Returns one job per (message, receiver)."""
    names = list(cfg.endpoints()) if receivers is None else list(receivers)
    chosen = [(n, targets(cfg, n, labels, names)) for n in messages]
    # only a repeat can be held by a route's repeat interval: read when its receivers last got the alert
    asked = [
        (t.receiver, n.fingerprint)
        for n, ts in chosen
        if n.kind is NotificationKind.REPEAT
        for t in ts
        if t.repeat_interval is not None
    ]
    sent = stores.notifications.route_sent_at(cluster, asked)
    jobs, why = [], []
    for n, ts in chosen:
        last = {r: at for (r, fp), at in sent.items() if fp == n.fingerprint}
        to, reasons = receivers_of(n, ts, names, last, now)
        jobs += [Job(cluster, n.id, r) for r in to]
        why += [(n.fingerprint, r) for r in reasons]
    stores.notifications.note_why(cluster, why)
    return jobs
