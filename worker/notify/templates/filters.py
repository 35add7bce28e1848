"""The Jinja2 environment of every template, built-in or a receiver's own: sandboxed, strict, with nodewatch's
filters for values (pct, cores, gib, int, duration; clock and rate for predictions) and for lists (taints, label changes, names). Pure."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import jinja2
import jinja2.runtime
import jinja2.sandbox

from worker.model import limits

MAX_INLINE = 5  # taints, label changes or missing labels named in one headline before "… +N more"


def _inline(items: Any, show: Callable[[Any], str], sep: str) -> str:
    """The first MAX_INLINE items of a (possibly stored-and-cut) list, then "… +N more" counting all the rest."""
    kept, hidden = limits.split_more(list(items))
    shown = [show(x) for x in kept[:MAX_INLINE]]
    rest = hidden + max(len(kept) - MAX_INLINE, 0)
    return sep.join(shown) + (f"{sep}{limits.more(rest)}" if rest else "")


def _number(value: Any) -> float:
    if isinstance(value, jinja2.Undefined) or value is None:
        raise ValueError("no value")  # the phrase cannot be said: fall back to the summary
    return float(value)


def _pct(value: Any) -> str:
    return f"{_number(value):.1f}".removesuffix(".0") + "%"


def _cores(value: Any) -> str:
    return f"{_number(value) / 1000:.2f}".rstrip("0").rstrip(".") + " cores"


def _gib(value: Any) -> str:
    return f"{_number(value) / 2**30:.1f}".removesuffix(".0") + " GiB"


def _int(value: Any) -> str:
    return f"{_number(value):.0f}"


def duration(seconds: float) -> str:
    """Compact human duration: 45s, 5m, 1h 5m, 2d 3h."""
    s = int(max(seconds, 0))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60}m" if s % 3600 // 60 else f"{s // 3600}h"
    return f"{s // 86400}d {s % 86400 // 3600}h" if s % 86400 // 3600 else f"{s // 86400}d"


def _duration(value: Any) -> str:
    return duration(_number(value))


def _paren(value: Any) -> str:
    return "" if isinstance(value, jinja2.Undefined) or not value else f" ({value})"


def _colon(value: Any) -> str:
    return "" if isinstance(value, jinja2.Undefined) or not value else f": {value}"


def _taints(value: Any) -> str:
    """``[{key, value, effect, owner}]`` (worker/rules) or plain strings -> "key=value:Effect (owner), ..."."""
    if isinstance(value, jinja2.Undefined) or not value:
        raise ValueError("no taints")

    def one(taint: Any) -> str:
        if not isinstance(taint, Mapping):
            return str(taint)
        text = f"{taint.get('key')}{'=' + str(taint['value']) if taint.get('value') else ''}:{taint.get('effect')}"
        return text + (f" ({taint['owner']})" if taint.get("owner") else "")

    return _inline(value, one, ", ")


def _label_changes(value: Any) -> str:
    if isinstance(value, jinja2.Undefined) or not value:
        return ""
    return _inline(
        value,
        lambda c: (
            f"{c.get('key')}: {c.get('before') or '∅'} → {c.get('after') or '∅'}"
            if isinstance(c, Mapping)
            else str(c)
        ),
        "; ",
    )


def _names(value: Any) -> str:
    """A list of names (missing labels), at most MAX_INLINE of them."""
    if isinstance(value, jinja2.Undefined) or not value:
        return ""
    return _inline(value, str, ", ")


def _clock(value: Any) -> str:
    """An epoch as "12-01 14:20 UTC": when a predicted limit is reached."""
    return datetime.fromtimestamp(_number(value), UTC).strftime("%m-%d %H:%M UTC")


@jinja2.pass_context
def _clock_in_zone(context: jinja2.runtime.Context, value: Any) -> str:
    """``clock`` in the message's time zone (``tz`` in the context, an IANA name; UTC without one): "12-01 22:20
    CST", so a predicted time reads like the message's other times."""
    zone = context.get("tz") or "UTC"
    t = datetime.fromtimestamp(_number(value), UTC).astimezone(zoneinfo.ZoneInfo(zone))
    return f"{t:%m-%d %H:%M} {t.tzname()}"


def _size(amount: float) -> str:
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(amount) >= scale:
            return f"{amount / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{amount:.0f} B"


def _rate(params: Any) -> str:
    """A predicted fill's rate in the resource's own units ("+1.2 GiB/h", "+40 inodes/h", "+0.5 pods/h"), from a
    finding's params (``rate_h``, ``rate_unit``; percentage points an hour when the total is unknown)."""
    if not isinstance(params, Mapping):
        raise ValueError("no rate")
    amount, unit = params.get("rate_h"), params.get("rate_unit")
    if amount is None:
        return f"{_number(params.get('rate_pct_h')):+.2f} pt/h"
    n = _number(amount)
    if unit == "bytes":
        return ("+" if n >= 0 else "-") + _size(abs(n)) + "/h"
    shown = f"{n:+.1f}".removesuffix(".0") if abs(n) < 10 else f"{n:+.0f}"
    return f"{shown} {unit}/h"


FILTERS: dict[str, Callable[[Any], str]] = {
    "pct": _pct,
    "cores": _cores,
    "gib": _gib,
    "int": _int,
    "duration": _duration,
    "paren": _paren,
    "colon": _colon,
    "taints": _taints,
    "labelchanges": _label_changes,
    "names": _names,
    "clock": _clock,
    "rate": _rate,
}


def environment() -> jinja2.Environment:
    """The Jinja2 environment for built-in and (later) user templates: sandboxed, strict, not HTML."""
    env = jinja2.sandbox.SandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False)
    env.filters.update(FILTERS)
    env.filters["clock"] = _clock_in_zone
    return env
