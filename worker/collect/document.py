"""Forgiving reads of one Kubernetes JSON document: typed fields that raise ``Malformed`` naming the field, list
items, times and Go durations. Pure: no I/O, no clock.

The per-object parsers (``worker.collect.nodelist``, ``podlist``, ``eventlist``, ``kubelet``) raise ``Malformed``;
the list parsers catch it, record ``"<kind> <name>: <reason>"`` and carry on with the other objects.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

JSON = Mapping[str, Any]


class Malformed(ValueError):
    """One object could not be read; the message says which field and why (``field`` names it alone, "" when
    the message is about the object as a whole)."""

    def __init__(self, reason: str, field: str = "") -> None:
        super().__init__(reason)
        self.field = field


def mapping(value: object, what: str) -> JSON:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise Malformed(f"{what} is {type(value).__name__}, expected an object", what)
    return value


def sequence(value: object, what: str) -> Sequence[Any]:
    if value is None:
        return ()
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise Malformed(f"{what} is {type(value).__name__}, expected a list", what)
    return value


def text(value: object) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


_TIMES_MAX = 65536
_times: dict[str, datetime | None] = {}  # a node's conditions share their heartbeat; nodes share transitions


def parse_time(value: object) -> datetime | None:
    """RFC 3339 ("2022-01-27T18:48:33Z", with or without fractions) as aware UTC; None when absent/odd."""
    if not isinstance(value, str) or not value:
        return None
    if value in _times:
        return _times[value]
    try:
        parsed: datetime | None = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
    if parsed is not None and not parsed.tzinfo:
        parsed = parsed.replace(tzinfo=UTC)
    if len(_times) >= _TIMES_MAX:
        _times.clear()
    _times[value] = parsed
    return parsed


def parse_duration(value: object) -> float | None:
    """Go durations as metrics-server writes them ("30s", "1m0s", "15.5s") in seconds."""
    if not isinstance(value, str) or not value:
        return None
    total = 0.0
    parts = re.findall(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ms|h|m|s)", value)
    if not parts:
        return None
    for number, unit in parts:
        total += float(number) * {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}[unit]
    return total


def object_name(obj: JSON) -> str:
    meta = obj.get("metadata")
    return text(meta.get("name")) if isinstance(meta, Mapping) else ""


def list_items(doc: JSON, kinds: Iterable[str], item_kind: str) -> list[Any]:
    """The items of a list document, or the document itself when it is one object of ``item_kind``."""
    kind = doc.get("kind")
    if kind == item_kind or (kind is None and "items" not in doc and "metadata" in doc):
        return [doc]  # one object (list items carry no kind of their own)
    if kind is not None and kind not in kinds and kind != "List":
        raise Malformed(f"expected {item_kind} or a list of them, got kind {kind!r}")
    return list(sequence(doc.get("items"), "items"))
