"""core/v1 EventList: FailedScheduling messages per pod and pods Evicted per node within a window. Pure: ``now`` is
passed in."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from worker.collect.document import JSON, Malformed, list_items, mapping, object_name, parse_time, text
from worker.model import PodRef


@dataclass(frozen=True)
class EventFacts:
    failed_scheduling: dict[tuple[str, str], str] = field(default_factory=dict)  # (ns, pod) -> message
    evicted: dict[str, list[PodRef]] = field(default_factory=dict)  # node -> pods


def _event_time(event: JSON) -> datetime | None:
    for key in ("lastTimestamp", "eventTime", "firstTimestamp"):
        when = parse_time(event.get(key))
        if when:
            return when
    series = event.get("series")
    if isinstance(series, Mapping):
        return parse_time(series.get("lastObservedTime"))
    meta = mapping(event.get("metadata"), "metadata")
    return parse_time(meta.get("creationTimestamp"))


def parse_events(doc: JSON, now: datetime, window_s: float) -> tuple[EventFacts, list[str]]:
    """core/v1 EventList: FailedScheduling messages per pod and pods Evicted per node within the window."""
    facts = EventFacts()
    skipped: list[str] = []
    since = now - timedelta(seconds=window_s)
    for item in list_items(doc, ("EventList",), "Event"):
        try:
            event = mapping(item, "item")
            target = mapping(event.get("involvedObject") or event.get("regarding"), "involvedObject")
            if target.get("kind") != "Pod":
                continue
            when = _event_time(event)
            if when is not None and when < since:
                continue
            key = (text(target.get("namespace")), text(target.get("name")))
            reason = event.get("reason")
            message = text(event.get("message") or event.get("note"))
            if reason == "FailedScheduling":
                facts.failed_scheduling[key] = message
            elif reason == "Evicted":
                source = mapping(event.get("source"), "source")
                node = text(source.get("host")) or text(event.get("reportingInstance"))
                if node:
                    facts.evicted.setdefault(node, []).append(PodRef(key[0], key[1], reason=message))
        except Malformed as exc:
            skipped.append(f"Event {object_name(item) if isinstance(item, Mapping) else '?'}: {exc}")
    return facts, skipped
