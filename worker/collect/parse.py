"""Pure parsing of raw Kubernetes JSON (nodes, metrics, pods, kubelet summary, events) into model objects.

No I/O and no clock: ``now`` is passed in where time matters. Every quantity goes through
``kubernetes.utils.quantity.parse_quantity``. A malformed object raises ``Malformed`` from the per-object
functions; the list functions catch it, record ``"<kind> <name>: <reason>"`` and carry on with the others.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple, TypeGuard

from kubernetes.utils.quantity import parse_quantity

from worker.model import (
    ClusterSample,
    Condition,
    DiskStats,
    FsStats,
    NodeSample,
    PodRef,
    Resources,
    Taint,
    Unreadable,
    Usage,
)

JSON = Mapping[str, Any]

TERMINAL_PHASES = frozenset({"Succeeded", "Failed"})


class Malformed(ValueError):
    """One object could not be read; the message says which field and why (``field`` names it alone, "" when
    the message is about the object as a whole)."""

    def __init__(self, reason: str, field: str = "") -> None:
        super().__init__(reason)
        self.field = field


# --- small readers -------------------------------------------------------------------------------------


# Kubernetes stores quantities in int64 (about 9.2e18): anything past 1e30 units is no amount of a resource, and
# refusing it keeps every later sum finite (Decimal("1e999999") * 1000 overflows; float() of it is inf)
MAX_QUANTITY = 10**30


def quantity(value: object) -> Decimal:
    """A Kubernetes quantity ("3920m", "15991140Ki", "1e3", 2) as an exact Decimal. NaN, infinities and
    amounts past ``MAX_QUANTITY`` are ``Malformed`` like any other bad quantity."""
    if isinstance(value, bool) or value is None:
        raise Malformed(f"bad quantity {_shown(value)}")
    try:
        result = parse_quantity(value)  # type: ignore[no-untyped-call]
    except (ValueError, TypeError, ArithmeticError) as exc:  # ArithmeticError: every decimal signal
        raise Malformed(f"bad quantity {_shown(value)}") from exc
    assert isinstance(result, Decimal)
    if not result.is_finite() or result.copy_abs() > MAX_QUANTITY:  # copy_abs: no context, no Overflow
        raise Malformed(f"bad quantity {_shown(value)}: out of range")
    return result


def _shown(value: object) -> str:
    """A bad value as an error message shows it: its repr, cut (a node's message must not carry a megabyte)."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# The hot path reads ~10 quantities per pod and per node. The common spellings (an integer with an SI or binary
# suffix) are computed exactly in integers; anything else ("1.5Gi", "1e3") goes through the client's
# ``parse_quantity`` (Decimal) once per distinct string. Values are in milli-units: millicores, millibytes.
_MILLI_PER_UNIT = {
    "": 1000,
    "m": 1,
    "k": 10**6,
    "M": 10**9,
    "G": 10**12,
    "T": 10**15,
    "P": 10**18,
    "E": 10**21,
    "Ki": 1000 * 2**10,
    "Mi": 1000 * 2**20,
    "Gi": 1000 * 2**30,
    "Ti": 1000 * 2**40,
    "Pi": 1000 * 2**50,
    "Ei": 1000 * 2**60,
}
_INTEGER_QUANTITY = re.compile(r"([0-9]{1,30})(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?")
_SLOW_MILLI: dict[str, int] = {}
_SLOW_CACHE_MAX = 65536
_MAX_MILLI = MAX_QUANTITY * 1000


def milli(value: object) -> int:
    """A quantity in milli-units, rounded up like the API server's ``MilliValue()`` (so "1n" cpu is 1m)."""
    if isinstance(value, str):
        m = _INTEGER_QUANTITY.fullmatch(value)
        if m is not None:
            fast = int(m.group(1)) * _MILLI_PER_UNIT[m.group(2) or ""]
            if fast > _MAX_MILLI:
                raise Malformed(f"bad quantity {_shown(value)}: out of range")
            return fast
        cached = _SLOW_MILLI.get(value)
        if cached is not None:
            return cached
        result = math.ceil(quantity(value) * 1000)
        if len(_SLOW_MILLI) < _SLOW_CACHE_MAX:
            _SLOW_MILLI[value] = result
        return result
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) <= MAX_QUANTITY:
        return value * 1000
    return math.ceil(quantity(value) * 1000)


_NANO_OR_MICRO = re.compile(r"([0-9]{1,30})([nu])")


def cpu_millis(value: object) -> float:
    """cpu in millicores; exact for metrics' nanocores ("487558164n" -> 487.558164)."""
    if isinstance(value, str) and (m := _NANO_OR_MICRO.fullmatch(value)) is not None:
        # ASCII digits only: str.isdigit() takes "²", which int() refuses
        return int(m.group(1)) / (1_000_000 if m.group(2) == "n" else 1_000)
    if isinstance(value, str) and _INTEGER_QUANTITY.fullmatch(value):
        return float(milli(value))
    return float(quantity(value) * 1000)


def byte_count(value: object) -> int:
    # the API server rounds fractional byte quantities up (Quantity.Value()), so do the same
    return -(-milli(value) // 1000)


def _mapping(value: object, what: str) -> JSON:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise Malformed(f"{what} is {type(value).__name__}, expected an object", what)
    return value


def _sequence(value: object, what: str) -> Sequence[Any]:
    if value is None:
        return ()
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise Malformed(f"{what} is {type(value).__name__}, expected a list", what)
    return value


def _str(value: object) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


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
    if len(_times) >= _SLOW_CACHE_MAX:
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


def _name(obj: JSON) -> str:
    meta = obj.get("metadata")
    return _str(meta.get("name")) if isinstance(meta, Mapping) else ""


def _items(doc: JSON, kinds: Iterable[str], item_kind: str) -> list[Any]:
    """The items of a list document, or the document itself when it is one object of ``item_kind``."""
    kind = doc.get("kind")
    if kind == item_kind or (kind is None and "items" not in doc and "metadata" in doc):
        return [doc]  # one object (list items carry no kind of their own)
    if kind is not None and kind not in kinds and kind != "List":
        raise Malformed(f"expected {item_kind} or a list of them, got kind {kind!r}")
    return list(_sequence(doc.get("items"), "items"))


def resources(raw: object, what: str) -> Resources:
    """A ResourceList (capacity/allocatable/requests) as a Resources vector; other names are ignored."""
    data = _mapping(raw, what)
    key = "cpu"
    try:
        cpu = cpu_millis(data[key]) if key in data else 0.0
        key = "memory"
        memory = byte_count(data[key]) if key in data else 0
        key = "ephemeral-storage"
        ephemeral = byte_count(data[key]) if key in data else 0
        key = "pods"
        pods = milli(data[key]) // 1000 if key in data else 0
    except Malformed as exc:
        raise Malformed(f"{what}.{key}: {exc}", f"{what}.{key}") from exc
    return Resources(cpu_m=cpu, memory=memory, ephemeral_storage=ephemeral, pods=pods)


# --- nodes ---------------------------------------------------------------------------------------------


def parse_node(cluster: str, obj: JSON) -> NodeSample:
    """One Node object. Requests, usage and disk are filled in later from other documents."""
    meta = _mapping(obj.get("metadata"), "metadata")
    name = _str(meta.get("name"))
    if not name:
        raise Malformed("metadata.name missing", "metadata.name")
    spec = _mapping(obj.get("spec"), "spec")
    status = _mapping(obj.get("status"), "status")
    labels = {str(k): _str(v) for k, v in _mapping(meta.get("labels"), "metadata.labels").items()}
    taints = []
    for raw in _sequence(spec.get("taints"), "spec.taints"):
        taint = _mapping(raw, "spec.taints[]")
        if not taint.get("key"):
            raise Malformed("spec.taints: a taint without key", "spec.taints")
        taints.append(
            Taint(
                key=_str(taint.get("key")),
                effect=_str(taint.get("effect")),
                value=_str(taint.get("value")),
                time_added=parse_time(taint.get("timeAdded")),
            )
        )
    conditions: dict[str, Condition] = {}
    for raw in _sequence(status.get("conditions"), "status.conditions"):
        cond = _mapping(raw, "status.conditions[]")
        ctype = _str(cond.get("type"))
        if not ctype:
            continue
        conditions[ctype] = Condition(
            type=ctype,
            status=_str(cond.get("status")) or "Unknown",
            reason=_str(cond.get("reason")),
            message=_str(cond.get("message")),
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
    for index, item in enumerate(_items(doc, ("NodeList",), "Node")):
        try:
            page.nodes.append(parse_node(cluster, _mapping(item, "item")))
        except Malformed as exc:
            label = _name(item) if isinstance(item, Mapping) else ""
            page.skipped.append(f"Node {label or f'#{index}'}: {exc}")
            if label and label not in page.unreadable:
                page.unreadable[label] = Unreadable(exc.field, str(exc))
    return page


# --- metrics.k8s.io ------------------------------------------------------------------------------------


def parse_node_metrics(doc: JSON) -> tuple[dict[str, Usage], list[str]]:
    """NodeMetrics or NodeMetricsList: usage per node name."""
    usage: dict[str, Usage] = {}
    skipped: list[str] = []
    for item in _items(doc, ("NodeMetricsList",), "NodeMetrics"):
        try:
            obj = _mapping(item, "item")
            name = _name(obj)
            if not name:
                raise Malformed("metadata.name missing")
            raw = _mapping(obj.get("usage"), "usage")
            usage[name] = Usage(
                cpu_m=cpu_millis(raw.get("cpu", "0")),
                memory=byte_count(raw.get("memory", "0")),
                timestamp=parse_time(obj.get("timestamp")),
                window_s=parse_duration(obj.get("window")),
            )
        except Malformed as exc:
            skipped.append(f"NodeMetrics {_name(item) if isinstance(item, Mapping) else '?'}: {exc}")
    return usage, skipped


@dataclass(frozen=True)
class PodUsage:
    namespace: str
    name: str
    cpu_m: float
    memory: int


def parse_pod_metrics(doc: JSON) -> tuple[list[PodUsage], list[str]]:
    """PodMetrics or PodMetricsList: per pod, the sum over its containers."""
    pods: list[PodUsage] = []
    skipped: list[str] = []
    for item in _items(doc, ("PodMetricsList",), "PodMetrics"):
        try:
            obj = _mapping(item, "item")
            meta = _mapping(obj.get("metadata"), "metadata")
            cpu = 0.0
            memory = 0
            for raw in _sequence(obj.get("containers"), "containers"):
                usage = _mapping(_mapping(raw, "containers[]").get("usage"), "usage")
                cpu += cpu_millis(usage.get("cpu", "0"))
                memory += byte_count(usage.get("memory", "0"))
            pods.append(PodUsage(_str(meta.get("namespace")), _str(meta.get("name")), cpu, memory))
        except Malformed as exc:
            skipped.append(f"PodMetrics {_name(item) if isinstance(item, Mapping) else '?'}: {exc}")
    return pods, skipped


# --- pods and allocation -------------------------------------------------------------------------------


class PodInfo(NamedTuple):
    """What a node monitor needs from one pod of the full (non-Table) pod list. A NamedTuple: a scan makes
    150,000 of them, and a frozen dataclass costs three times as much to build."""

    namespace: str
    name: str
    node: str  # spec.nodeName, "" when not scheduled
    phase: str
    requests: Resources
    limits: Resources
    unschedulable: str = ""  # PodScheduled=False/Unschedulable message, for Pending pods


RESOURCE_NAMES = ("cpu", "memory", "ephemeral-storage")
Vector = dict[str, int]  # resource name -> milli-units


def _vector(raw: Mapping[str, object] | None) -> Vector:
    if not raw:
        return {}
    if not isinstance(raw, Mapping):
        raise Malformed(f"resource list is {type(raw).__name__}, expected an object")
    try:
        return {key: milli(raw[key]) for key in RESOURCE_NAMES if key in raw}
    except Malformed as exc:
        raise Malformed(f"resources: {exc}") from exc


def _add(into: Vector, other: Mapping[str, int]) -> None:
    for key, value in other.items():
        into[key] = into.get(key, 0) + value


def _max(into: Vector, other: Mapping[str, int]) -> None:
    for key, value in other.items():
        if value > into.get(key, 0):
            into[key] = value


def totals(
    containers: Iterable[Mapping[str, object] | None],
    init_containers: Iterable[tuple[Mapping[str, object] | None, bool]],
    pod_level: Mapping[str, object] | None,
    overhead: Mapping[str, object] | None,
) -> Resources:
    """Effective pod requests (or limits), as the scheduler and ``kubectl describe node`` compute them
    (k8s.io/component-helpers resource.PodRequests), from each container's resource list: the sum of containers
    and restartable (sidecar) init containers, against the largest regular init container plus the sidecars
    started before it; then pod overhead; pod-level ``spec.resources`` wins for the resources it names.
    ``init_containers`` pairs each list with "is a sidecar" (``restartPolicy: Always``). Exact integer
    arithmetic in milli-units."""
    total: Vector = {}
    for raw in containers:
        _add(total, _vector(raw))
    sidecars: Vector = {}
    init_peak: Vector = {}
    for raw, sidecar in init_containers:
        own = _vector(raw)
        if sidecar:
            _add(total, own)
            _add(sidecars, own)
            _max(init_peak, sidecars)
        else:
            step = dict(own)
            _add(step, sidecars)
            _max(init_peak, step)
    if init_peak:
        _max(total, init_peak)
    if pod_level:
        total.update(_vector(pod_level))
    if overhead:
        _add(total, _vector(overhead))
    return Resources(
        cpu_m=float(total.get("cpu", 0)),
        memory=-(-total.get("memory", 0) // 1000),
        ephemeral_storage=-(-total.get("ephemeral-storage", 0) // 1000),
        pods=1,
    )


def _resource_list(container: object, field_name: str) -> Mapping[str, object] | None:
    res = _mapping(_mapping(container, "container").get("resources"), "resources")
    return _mapping(res.get(field_name), f"resources.{field_name}")


def pod_totals(spec: JSON, field_name: str) -> Resources:
    """``totals`` of a pod spec read as plain JSON (``field_name``: "requests" or "limits")."""
    inits = [
        (_resource_list(c, field_name), _mapping(c, "initContainer").get("restartPolicy") == "Always")
        for c in _sequence(spec.get("initContainers"), "spec.initContainers")
    ]
    return totals(
        [_resource_list(c, field_name) for c in _sequence(spec.get("containers"), "spec.containers")],
        inits,
        _mapping(_mapping(spec.get("resources"), "spec.resources").get(field_name), "spec.resources"),
        _mapping(spec.get("overhead"), "spec.overhead"),
    )


def parse_pod(obj: JSON) -> PodInfo:
    meta = _mapping(obj.get("metadata"), "metadata")
    spec = _mapping(obj.get("spec"), "spec")
    status = _mapping(obj.get("status"), "status")
    unschedulable = ""
    for raw in _sequence(status.get("conditions"), "status.conditions"):
        cond = _mapping(raw, "condition")
        if cond.get("type") == "PodScheduled" and cond.get("status") == "False":
            unschedulable = _str(cond.get("message")) or _str(cond.get("reason")) or "Unschedulable"
    return PodInfo(
        namespace=_str(meta.get("namespace")),
        name=_str(meta.get("name")),
        node=_str(spec.get("nodeName")),
        phase=_str(status.get("phase")),
        requests=pod_totals(spec, "requests"),
        limits=pod_totals(spec, "limits"),
        unschedulable=unschedulable,
    )


def parse_pods(doc: JSON) -> tuple[list[PodInfo], list[str]]:
    """A full PodList (API server or kubelet ``/pods``); not the ``as=Table`` form, which has no requests or
    limits."""
    pods: list[PodInfo] = []
    skipped: list[str] = []
    for item in _items(doc, ("PodList",), "Pod"):
        try:
            pods.append(parse_pod(_mapping(item, "item")))
        except Malformed as exc:
            skipped.append(f"Pod {_name(item) if isinstance(item, Mapping) else '?'}: {exc}")
    return pods, skipped


@dataclass(frozen=True)
class Allocation:
    requests: Resources = Resources()
    limits: Resources = Resources()
    pod_count: int = 0


class PodIndex:
    """The non-terminal pods of a cluster grouped by node in ONE pass (never a pass over all pods per node),
    plus the pods the scheduler could not place."""

    def __init__(self, pods: Iterable[PodInfo] = ()) -> None:
        self.by_node: dict[str, list[PodInfo]] = {}
        self.unscheduled: list[PodInfo] = []
        self.add(pods)

    def add(self, pods: Iterable[PodInfo]) -> None:
        by_node = self.by_node
        for pod in pods:
            if pod.phase in TERMINAL_PHASES:
                continue
            if pod.node:
                group = by_node.get(pod.node)
                if group is None:
                    by_node[pod.node] = [pod]
                else:
                    group.append(pod)
            elif pod.phase == "Pending" and pod.unschedulable:
                self.unscheduled.append(pod)

    def on(self, node: str) -> list[PodInfo]:
        return self.by_node.get(node, [])

    def allocation(self, node: str) -> Allocation:
        """Requests and limits summed over the node's pods, like ``kubectl describe node``."""
        pods = self.by_node.get(node)
        if not pods:
            return Allocation()
        req = [0.0, 0, 0]
        lim = [0.0, 0, 0]
        for pod in pods:
            r, li = pod.requests, pod.limits
            req[0] += r.cpu_m
            req[1] += r.memory
            req[2] += r.ephemeral_storage
            lim[0] += li.cpu_m
            lim[1] += li.memory
            lim[2] += li.ephemeral_storage
        n = len(pods)
        return Allocation(
            Resources(req[0], int(req[1]), int(req[2]), n), Resources(lim[0], int(lim[1]), int(lim[2]), n), n
        )

    def pending(self) -> list[PodRef]:
        """Pods the scheduler could not place, with its message ("0/5 nodes are available: 3 Insufficient
        cpu")."""
        return [
            PodRef(p.namespace, p.name, p.requests.cpu_m, p.requests.memory, p.unschedulable)
            for p in self.unscheduled
        ]


def allocation(pods: Iterable[PodInfo]) -> dict[str, Allocation]:
    """Per node: requests and limits summed over its non-terminal pods."""
    index = PodIndex(pods)
    return {node: index.allocation(node) for node in index.by_node}


def pending_pods(pods: Iterable[PodInfo]) -> list[PodRef]:
    return PodIndex(pods).pending()


# --- kubelet Summary API -------------------------------------------------------------------------------


def _fs(raw: object, what: str) -> FsStats | None:
    data = _mapping(raw, what)
    if not data or data.get("capacityBytes") is None:
        return None

    def opt(key: str) -> int | None:
        value = data.get(key)
        return int(value) if _finite(value) else None

    capacity = opt("capacityBytes") or 0
    used = opt("usedBytes")
    available = opt("availableBytes")
    if available is None:
        available = capacity - (used or 0)
    return FsStats(
        capacity=capacity,
        used=used if used is not None else capacity - available,
        available=available,
        inodes=opt("inodes"),
        inodes_free=opt("inodesFree"),
        inodes_used=opt("inodesUsed"),
    )


def _finite(value: object) -> TypeGuard[int | float]:
    """A JSON number a figure can be made of: not a bool, not inf or NaN (which int() refuses), no integer past
    2**64 (which float arithmetic refuses)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return abs(value) < 2**64
    return isinstance(value, float) and math.isfinite(value)


def parse_summary(doc: JSON) -> DiskStats:
    """kubelet ``/stats/summary``: ``node.fs`` and ``node.runtime.imageFs`` (None when the kubelet omits one)."""
    node = _mapping(doc.get("node"), "node")
    if not node:
        raise Malformed("summary has no node section")
    runtime = _mapping(node.get("runtime"), "node.runtime")
    return DiskStats(nodefs=_fs(node.get("fs"), "node.fs"), imagefs=_fs(runtime.get("imageFs"), "imageFs"))


def parse_summary_pods(doc: JSON) -> list[PodUsage]:
    """kubelet ``/stats/summary`` ``pods[]``: live cpu (``usageNanoCores``) and memory (``workingSetBytes``, what
    the kubelet evicts on) per pod of that node; pods without figures, or that cannot be read, are left out (one
    odd pod entry must not cost the node its other pods, nor its disk figures read from the same answer)."""
    out: list[PodUsage] = []
    for raw in _sequence(doc.get("pods"), "pods"):
        try:
            pod = _mapping(raw, "pods[]")
            ref = _mapping(pod.get("podRef"), "podRef")
            cpu = _mapping(pod.get("cpu"), "cpu").get("usageNanoCores")
            memory = _mapping(pod.get("memory"), "memory").get("workingSetBytes")
        except Malformed:
            continue
        if not _finite(cpu) or not _finite(memory):
            continue
        out.append(PodUsage(_str(ref.get("namespace")), _str(ref.get("name")), cpu / 1e6, int(memory)))
    return out


# --- events --------------------------------------------------------------------------------------------


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
    meta = _mapping(event.get("metadata"), "metadata")
    return parse_time(meta.get("creationTimestamp"))


def parse_events(doc: JSON, now: datetime, window_s: float) -> tuple[EventFacts, list[str]]:
    """core/v1 EventList: FailedScheduling messages per pod and pods Evicted per node within the window."""
    facts = EventFacts()
    skipped: list[str] = []
    since = now - timedelta(seconds=window_s)
    for item in _items(doc, ("EventList",), "Event"):
        try:
            event = _mapping(item, "item")
            target = _mapping(event.get("involvedObject") or event.get("regarding"), "involvedObject")
            if target.get("kind") != "Pod":
                continue
            when = _event_time(event)
            if when is not None and when < since:
                continue
            key = (_str(target.get("namespace")), _str(target.get("name")))
            reason = event.get("reason")
            message = _str(event.get("message") or event.get("note"))
            if reason == "FailedScheduling":
                facts.failed_scheduling[key] = message
            elif reason == "Evicted":
                source = _mapping(event.get("source"), "source")
                node = _str(source.get("host")) or _str(event.get("reportingInstance"))
                if node:
                    facts.evicted.setdefault(node, []).append(PodRef(key[0], key[1], reason=message))
        except Malformed as exc:
            skipped.append(f"Event {_name(item) if isinstance(item, Mapping) else '?'}: {exc}")
    return facts, skipped


# --- assembling a cluster sample -----------------------------------------------------------------------


def top_pods(
    pods: Sequence[PodInfo],
    usage: Mapping[tuple[str, str], PodUsage] | None,
    count: int,
) -> tuple[PodRef, ...]:
    """The top ``count`` of one node's pods by cpu and by memory (a union, biggest first): by live usage when pod
    usage is known, otherwise by requests (``reason`` says which)."""
    if count <= 0:
        return ()
    refs: list[PodRef] = []
    for pod in pods:
        if usage is not None:
            live = usage.get((pod.namespace, pod.name))
            if live is not None:
                refs.append(PodRef(pod.namespace, pod.name, live.cpu_m, live.memory, "usage"))
        else:
            refs.append(PodRef(pod.namespace, pod.name, pod.requests.cpu_m, pod.requests.memory, "requests"))
    by_cpu = sorted(refs, key=lambda r: r.cpu_m, reverse=True)[:count]
    by_mem = sorted(refs, key=lambda r: r.memory, reverse=True)[:count]
    chosen = {(r.namespace, r.name): r for r in by_cpu + by_mem}
    return tuple(sorted(chosen.values(), key=lambda r: (r.memory, r.cpu_m), reverse=True))


def with_live_top_pods(
    sample: ClusterSample,
    pods: PodIndex,
    usage: Mapping[tuple[str, str], PodUsage],
    nodes: Iterable[str],
    count: int,
) -> ClusterSample:
    """The sample with the top pods of ``nodes`` (whose pods' live usage is in ``usage``) ranked by usage."""
    wanted = set(nodes)
    return replace(
        sample,
        nodes=tuple(
            replace(n, top_pods=top_pods(pods.on(n.name), usage, count)) if n.name in wanted else n
            for n in sample.nodes
        ),
    )


def _evolve(node: NodeSample, **changes: Any) -> NodeSample:
    """``dataclasses.replace`` for 5,000 nodes a scan: the frozen dataclass's fields copied as they are (it has
    no ``__post_init__`` to run), about five times faster than ``replace``."""
    new = object.__new__(NodeSample)
    new.__dict__.update(node.__dict__)
    new.__dict__.update(changes)
    return new


def assemble(
    cluster: str,
    now: datetime,
    nodes: Sequence[NodeSample],
    pods: PodIndex | Sequence[PodInfo],
    node_usage: Mapping[str, Usage] | None,
    usage_unavailable: str,
    pod_usage: Sequence[PodUsage] | None,
    disk: Mapping[str, DiskStats | str] | None,
    events: EventFacts | None,
    top_count: int,
    metrics_stale_after_s: float,
    warnings: Sequence[str] = (),
    skipped: Sequence[str] = (),
    top_for: Callable[[NodeSample], bool] | None = None,
    unreadable: Mapping[str, Unreadable] | None = None,
) -> ClusterSample:
    """Join the documents of one scan into a ClusterSample. ``disk`` maps node -> stats or the reason they are
    missing; ``node_usage`` None means the metrics API could not be read (``usage_unavailable`` says why).
    Top pods are ranked for the nodes ``top_for`` picks (all when None): by ``pod_usage`` when given, else by
    requests. ``unreadable``: the nodes listed but not readable (``parse_nodes``), carried as they are."""
    index = pods if isinstance(pods, PodIndex) else PodIndex(pods)
    usage_index = {(p.namespace, p.name): p for p in pod_usage} if pod_usage is not None else None
    stale_before = now - timedelta(seconds=metrics_stale_after_s)
    stale_nodes = 0
    out: list[NodeSample] = []
    for node in nodes:
        share = index.allocation(node.name)
        usage: Usage | None = None
        why_no_usage = usage_unavailable
        if node_usage is not None:
            usage = node_usage.get(node.name)
            if usage is None:
                why_no_usage = "no NodeMetrics for this node (metrics-server has not scraped it)"
            elif usage.timestamp is not None and usage.timestamp < stale_before:
                why_no_usage = f"NodeMetrics stale (taken {usage.timestamp.isoformat()})"
                usage = None
                stale_nodes += 1
        disk_entry = (
            disk.get(node.name) if disk is not None else "disk stats disabled (collect.diskStats off)"
        )
        if disk is not None and disk_entry is None:
            disk_entry = "no kubelet summary for this node"
        filled = _evolve(
            node,
            requests=replace(share.requests, pods=share.pod_count),
            limits=share.limits,
            pod_count=share.pod_count,
            usage=usage,
            usage_unavailable="" if usage is not None else why_no_usage,
            disk=disk_entry if isinstance(disk_entry, DiskStats) else None,
            disk_unavailable=disk_entry if isinstance(disk_entry, str) else "",
        )
        if top_count > 0 and (top_for is None or top_for(filled)):
            filled = _evolve(filled, top_pods=top_pods(index.on(node.name), usage_index, top_count))
        out.append(filled)
    pending = index.pending()
    if events is not None:
        # the event carries the scheduler's full message; the pod condition is the fallback (events expire)
        pending = [
            replace(p, reason=events.failed_scheduling.get((p.namespace, p.name)) or p.reason)
            for p in pending
        ]
    warn = list(warnings)
    if stale_nodes:
        warn.append(f"metrics stale for {stale_nodes} node(s) (older than {metrics_stale_after_s:.0f}s)")
    return ClusterSample(
        cluster=cluster,
        taken_at=now,
        nodes=tuple(out),
        pending_pods=tuple(pending),
        evicted_pods={k: tuple(v) for k, v in (events.evicted if events else {}).items()},
        metrics_available=node_usage is not None,
        warnings=tuple(warn),
        skipped=tuple(skipped),
        unreadable=dict(unreadable or {}),
    )
