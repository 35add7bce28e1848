"""Times as a person reads them in a table: ``2026-11-29 21:13 CST``, ``in 4m``, ``3h ago``.

One helper for every command, so that each table speaks the same local time: the config's ``timezone`` (an IANA
name) when it has one, else UTC. ``-o json|yaml`` keep epoch seconds: a script computes, a person reads. Pure:
``now`` is passed in.
"""

from __future__ import annotations

import re
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from worker import settings

UTC = ZoneInfo("UTC")
# an epoch in a decision's reason ("pending until 1795986799"): ten digits, this century
EPOCH = re.compile(r"\b(1\d{9})(?:\.\d+)?\b")


def zone(cfg: settings.Settings | None) -> tzinfo:
    """The config's ``timezone`` when it sets one (a bad name is refused when the config loads), else UTC."""
    name = getattr(cfg, "timezone", None) if cfg is not None else None
    if not isinstance(name, str) or not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def stamp(ts: float, tz: tzinfo, now: float | None = None) -> str:
    """``2026-11-29 21:13 CST``; with ``now`` given and the same local day, ``21:13`` alone is enough for a
    story told line by line, so callers that want the short form pass it."""
    local = datetime.fromtimestamp(ts, tz)
    if now is not None and datetime.fromtimestamp(now, tz).date() == local.date():
        return local.strftime("%H:%M:%S")
    return local.strftime("%Y-%m-%d %H:%M ") + _abbrev(local)


def _abbrev(local: datetime) -> str:
    name = local.tzname() or ""
    if re.fullmatch(r"[A-Z]{2,5}", name):
        return name  # CST, UTC, CEST
    return local.strftime("%z")[:3] + ":" + local.strftime("%z")[3:]  # +08:00 where the zone has no letters


def span(seconds: float, exact: bool = False) -> str:
    """``45s``, ``4m``, ``2h10m``, ``3d4h``: the two largest units; ``exact`` keeps the seconds under ten
    minutes (``2m30s``, a setting), where a distance from now does without them."""
    s = int(round(abs(seconds)))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        m, rest = divmod(s, 60)
        return f"{m}m{rest}s" if exact and rest and m < 10 else f"{m}m"
    if s < 86400:
        h, m = divmod(s // 60, 60)
        return f"{h}h{m}m" if m else f"{h}h"
    d, h = divmod(s // 3600, 24)
    return f"{d}d{h}h" if h else f"{d}d"


def relative(ts: float, now: float) -> str:
    """``in 4m`` for the future, ``4m ago`` for the past."""
    return f"in {span(ts - now)}" if ts > now else f"{span(now - ts)} ago"


def at(ts: float, tz: tzinfo, now: float) -> str:
    """A table cell: the local time and how far it is from now (``2026-11-29 21:13 CST (in 4m)``)."""
    return f"{stamp(ts, tz)} ({relative(ts, now)})"
