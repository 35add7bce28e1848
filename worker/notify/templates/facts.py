"""What every message says besides its rule's phrase: times in the receiver's zone with their UTC offset, how long
the condition has held, the trend, and the exact commands that acknowledge or silence the alert. Pure: the time
zone is a name handed in, times come from the notification.
"""

from __future__ import annotations

import functools
import shlex
import zoneinfo
from collections.abc import Mapping
from datetime import UTC, datetime

from worker.model import Notification, NotificationKind, rules
from worker.notify.templates.filters import FILTERS, duration

SILENCE_FOR = "2h"  # the silence command's suggested duration


@functools.cache
def _zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


def local(epoch: float, tz: str = "UTC") -> str:
    """``2026-11-29 21:13 CST (+08:00)``: minutes are enough to find the moment in a graph, the offset says which
    zone without a lookup (an abbreviation like CST names three)."""
    t = datetime.fromtimestamp(epoch, UTC).astimezone(_zone(tz))
    offset = t.strftime("%z")
    return f"{t:%Y-%m-%d %H:%M} {t.tzname()} ({offset[:3]}:{offset[3:]})"


def clock(epoch: float, tz: str = "UTC") -> str:
    """``21:13``: a time of day in the zone, for the second time of a span whose first is given in full."""
    return datetime.fromtimestamp(epoch, UTC).astimezone(_zone(tz)).strftime("%H:%M")


def held_for(n: Notification) -> float:
    """How long the condition has held at this message (firing), or held in all (resolved: until last seen)."""
    end = n.ended_at if n.kind is NotificationKind.RESOLVED and n.ended_at else n.created_at
    return max(end - n.condition_since, 0.0)


def trend(n: Notification, phrase: str) -> str:
    """The change over the last minutes, where the message knows it, in the language's ``phrase``
    (``{arrow} {before} → {now} in {ago}``): ``↑ 84% → 97% in 25m``. A rule may also give its own words
    (``params.trend`` as a string: a prediction says when the disk fills)."""
    raw = n.params.get("trend")
    if isinstance(raw, str):
        return raw
    value = n.params.get("value")
    if not isinstance(raw, Mapping) or not isinstance(value, int | float):
        return ""
    before, ago = raw.get("from"), raw.get("ago")
    if not isinstance(before, int | float) or not isinstance(ago, int | float) or ago <= 0:
        return ""
    unit = rules.unit(n.rule)
    show = FILTERS[unit] if unit else str
    arrow = "→" if abs(value - before) < 1.0 else ("↑" if value > before else "↓")
    return phrase.format(arrow=arrow, before=show(before), now=show(value), ago=duration(ago))


def ack_command(n: Notification) -> str:
    """The exact command that stops this alert's repeats until it resolves (``nodewatch alerts ack``)."""
    return f"nodewatch alerts ack {n.fingerprint} --cluster {shlex.quote(n.cluster)}"


def silence_command(n: Notification) -> str:
    """The exact command that mutes this alert (and only it) for two hours (``nodewatch silence add``)."""
    parts = ["nodewatch silence add", f"--cluster {shlex.quote(n.cluster)}"]
    if n.node:
        parts.append(f"--node {shlex.quote(n.node)}")
    parts += [
        f"--rule {n.rule}",
        f"--duration {SILENCE_FOR}",
        '--author "$USER"',
        "--comment 'seen, working on it'",
    ]
    return " ".join(parts)
