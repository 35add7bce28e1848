"""Node / NodeList and metrics.k8s.io NodeMetrics documents -> NodeSample and Usage; one bad node never stops the
others from being read. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from worker.collect.document import (
    JSON,
    Malformed,
    list_items,
    mapping,
    object_name,
    parse_duration,
    parse_time,
    sequence,
    text,
)
from worker.collect.quantities import byte_count, cpu_millis, resources
from worker.model import Condition, NodeSample, Taint, Unreadable, Usage


def parse_node(cluster: str, obj: JSON) -> NodeSample:
    """One Node object. Requests, usage and disk are filled in later from other documents."""
    meta = mapping(obj.get("metadata"), "metadata")
    name = text(meta.get("name"))
    if not name:
        raise Malformed("metadata.name missing", "metadata.name")
    spec = mapping(obj.get("spec"), "spec")
    status = mapping(obj.get("status"), "status")
    labels = {str(k): text(v) for k, v in mapping(meta.get("labels"), "metadata.labels").items()}
    taints = []
    for raw in sequence(spec.get("taints"), "spec.taints"):
        taint = mapping(raw, "spec.taints[]")
        if not taint.get("key"):
            raise Malformed("spec.taints: a taint without key", "spec.taints")
        taints.append(
            Taint(
                key=text(taint.get("key")),
                effect=text(taint.get("effect")),
                value=text(taint.get("value")),
                time_added=parse_time(taint.get("timeAdded")),
            )
        )
    conditions: dict[str, Condition] = {}
    for raw in sequence(status.get("conditions"), "status.conditions"):
        cond = mapping(raw, "status.conditions[]")
        ctype = text(cond.get("type"))
        if not ctype:
            continue
        conditions[ctype] = Condition(
            type=ctype,
            status=text(cond.get("status")) or "Unknown",
            reason=text(cond.get("reason")),
            message=text(cond.get("message")),
            last_heartbeat=parse_time(cond.get("lastHeartbeatTime")),
            last_transition=parse_time(cond.get("lastTransitionTime")),
        )
    return NodeSample(
        cluster=cluster,
        name=name,
        labels=labels,
        unschedulable=bool(spec.get("unschedulable") or False),
        taints=tuple(taints),
        conditions=conditions,
        capacity=resources(status.get("capacity"), "status.capacity"),
        allocatable=resources(status.get("allocatable"), "status.allocatable"),
        created=parse_time(meta.get("creationTimestamp")),
    )


class NodePage(NamedTuple):
    """The nodes of one NodeList page: those read, the ones that could not be read by name (still nodes of the
    cluster: reported, never dropped), and every problem as a line for the scan's ``skipped`` list (including a
    node without a name, which cannot be followed from one scan to the next)."""

    nodes: list[NodeSample]
    skipped: list[str]
    unreadable: dict[str, Unreadable]


def parse_nodes(cluster: str, doc: JSON) -> NodePage:
    """A NodeList (or ``kind: List``, or a single Node): the nodes read and the ones that could not be, with the
    field and the reason. One bad node never stops the others from being read."""
    page = NodePage([], [], {})
    for index, item in enumerate(list_items(doc, ("NodeList",), "Node")):
        try:
            page.nodes.append(parse_node(cluster, mapping(item, "item")))
        except Malformed as exc:
            label = object_name(item) if isinstance(item, Mapping) else ""
            page.skipped.append(f"Node {label or f'#{index}'}: {exc}")
            if label and label not in page.unreadable:
                page.unreadable[label] = Unreadable(exc.field, str(exc))
    return page


def parse_node_metrics(doc: JSON) -> tuple[dict[str, Usage], list[str]]:
    """NodeMetrics or NodeMetricsList: usage per node name."""
    usage: dict[str, Usage] = {}
    skipped: list[str] = []
    for item in list_items(doc, ("NodeMetricsList",), "NodeMetrics"):
        try:
            obj = mapping(item, "item")
            name = object_name(obj)
            if not name:
                raise Malformed("metadata.name missing")
            raw = mapping(obj.get("usage"), "usage")
            usage[name] = Usage(
                cpu_m=cpu_millis(raw.get("cpu", "0")),
                memory=byte_count(raw.get("memory", "0")),
                timestamp=parse_time(obj.get("timestamp")),
                window_s=parse_duration(obj.get("window")),
            )
        except Malformed as exc:
            skipped.append(f"NodeMetrics {object_name(item) if isinstance(item, Mapping) else '?'}: {exc}")
    return usage, skipped
