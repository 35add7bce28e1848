"""The hot list of a scan (every pod of the cluster) decoded straight from its bytes into the few fields the rules
read, with msgspec: no dicts of the whole document, no client models, no second walk.

A 150,000-pod list is ~360 MB of JSON; decoded here it costs ~0.4 s of CPU, against ~2 s for ``json.loads``
alone (bench/README.md, "scan"). Unknown fields are skipped by the decoder. A page whose shape the structs do not
accept (a field of an unexpected type anywhere) raises ``WireMismatch``; the caller then reads that page the slow,
forgiving way (``podlist.parse_pods``), which skips only the bad pod and says why. No I/O, no clock.
"""

from __future__ import annotations

import json
from typing import TypeVar

import msgspec

from worker.collect import document, nodelist, podlist, quantities
from worker.model import Resources, Usage

T = TypeVar("T")

Quantity = str | int | float
QuantityMap = dict[str, Quantity]


class WireMismatch(ValueError):
    """The page is JSON but not the shape the fast decoder expects (or not JSON at all: ``not_json``)."""

    def __init__(self, reason: str, not_json: bool = False) -> None:
        super().__init__(reason)
        self.not_json = not_json


class _Meta(msgspec.Struct, frozen=True, gc=False):
    name: str = ""
    namespace: str = ""


class _ListMeta(msgspec.Struct, frozen=True, gc=False):
    continue_: str | None = msgspec.field(default=None, name="continue")


class _Quantities(msgspec.Struct, frozen=True, gc=False):
    """A ResourceList with only the names the rules read (others are skipped); hashable, so identical
    containers (every replica of a Deployment) are summed once per scan."""

    cpu: Quantity | None = None
    memory: Quantity | None = None
    ephemeral_storage: Quantity | None = msgspec.field(default=None, name="ephemeral-storage")

    def as_map(self) -> QuantityMap:
        out: QuantityMap = {}
        for key, value in (
            ("cpu", self.cpu),
            ("memory", self.memory),
            ("ephemeral-storage", self.ephemeral_storage),
        ):
            if value is not None:
                out[key] = value
        return out


class _Resources(msgspec.Struct, frozen=True, gc=False):
    requests: _Quantities | None = None
    limits: _Quantities | None = None


class _Container(msgspec.Struct, frozen=True, gc=False):
    resources: _Resources | None = None
    restartPolicy: str | None = None


class _Spec(msgspec.Struct, frozen=True, gc=False):
    nodeName: str | None = None
    containers: list[_Container] | None = None
    initContainers: list[_Container] | None = None
    overhead: _Quantities | None = None
    resources: _Resources | None = None


class _Condition(msgspec.Struct, frozen=True, gc=False):
    type: str | None = None
    status: str | None = None
    reason: str | None = None
    message: str | None = None


class _Status(msgspec.Struct, frozen=True, gc=False):
    phase: str | None = None
    conditions: list[_Condition] | None = None


class _Pod(msgspec.Struct, frozen=True, gc=False):
    metadata: _Meta | None = None
    spec: _Spec | None = None
    status: _Status | None = None


class _PodList(msgspec.Struct, frozen=True, gc=False):
    kind: str | None = None
    metadata: _ListMeta | None = None
    items: list[_Pod] | None = None


_POD_LIST = msgspec.json.Decoder(_PodList)


_Totals = tuple[Resources, Resources]
_CACHE_MAX = 20000
_milli: dict[
    Quantity, int
] = {}  # quantity text -> milli-units: a cluster spells its requests a few ways only
_vectors: dict[tuple[int, int, int], Resources] = {}  # one Resources object per distinct sum


def _m(q: Quantity) -> int:
    value = _milli.get(q)
    if value is None:
        value = quantities.milli(q)
        if len(_milli) >= _CACHE_MAX:
            _milli.clear()
        _milli[q] = value
    return value


def _resources(cpu: int, memory: int, ephemeral: int) -> Resources:
    key = (cpu, memory, ephemeral)
    found = _vectors.get(key)
    if found is None:
        found = Resources(float(cpu), -(-memory // 1000), -(-ephemeral // 1000), 1)
        if len(_vectors) >= _CACHE_MAX:
            _vectors.clear()
        _vectors[key] = found
    return found


def _simple_totals(containers: list[_Container]) -> _Totals:
    """The common pod (containers only): sums in milli-units, each distinct quantity parsed once per process."""
    rc = rm = re = lc = lm = le = 0
    for c in containers:
        res = c.resources
        if res is None:
            continue
        q = res.requests
        if q is not None:
            if q.cpu is not None:
                rc += _m(q.cpu)
            if q.memory is not None:
                rm += _m(q.memory)
            if q.ephemeral_storage is not None:
                re += _m(q.ephemeral_storage)
        q = res.limits
        if q is not None:
            if q.cpu is not None:
                lc += _m(q.cpu)
            if q.memory is not None:
                lm += _m(q.memory)
            if q.ephemeral_storage is not None:
                le += _m(q.ephemeral_storage)
    return _resources(rc, rm, re), _resources(lc, lm, le)


def _list_of(q: _Quantities | None) -> QuantityMap | None:
    return q.as_map() if q is not None else None


def _which(c: _Container | _Resources | None, which: str) -> QuantityMap | None:
    res = c.resources if isinstance(c, _Container) else c
    if res is None:
        return None
    return _list_of(res.requests if which == "requests" else res.limits)


def _totals(spec: _Spec) -> _Totals:
    """(requests, limits) of a pod spec: the common shape summed directly, the rest through ``podlist.totals``
    (init containers, sidecars, overhead, pod-level resources)."""
    if not spec.initContainers and spec.overhead is None and spec.resources is None:
        return _simple_totals(spec.containers or [])
    containers = spec.containers or ()
    out = tuple(
        podlist.totals(
            [_which(c, which) for c in containers],
            [(_which(c, which), c.restartPolicy == "Always") for c in spec.initContainers or ()],
            _which(spec.resources, which),
            _list_of(spec.overhead),
        )
        for which in ("requests", "limits")
    )
    return out[0], out[1]


def _pod(p: _Pod) -> podlist.PodInfo:
    spec = p.spec or _Spec()
    status = p.status or _Status()
    meta = p.metadata or _Meta()
    unschedulable = ""
    if status.phase == "Pending":
        for cond in status.conditions or ():
            if cond.type == "PodScheduled" and cond.status == "False":
                unschedulable = cond.message or cond.reason or "Unschedulable"
    requests, limits = _totals(spec)
    return podlist.PodInfo(
        namespace=meta.namespace,
        name=meta.name,
        node=spec.nodeName or "",
        phase=status.phase or "",
        requests=requests,
        limits=limits,
        unschedulable=unschedulable,
    )


def decode_pod_page(raw: bytes) -> tuple[list[podlist.PodInfo], list[str], str]:
    """One page of a PodList: (pods, skipped with reasons, continue token). ``items: null`` or missing items is
    ``document.Malformed`` (a list that cannot be read is a failed scan, never an empty cluster)."""
    try:
        doc = _POD_LIST.decode(raw)
    except msgspec.ValidationError as exc:
        raise WireMismatch(str(exc)) from None
    except msgspec.DecodeError as exc:
        raise WireMismatch(f"answer is not JSON ({exc})", not_json=True) from None
    if doc.kind not in (None, "PodList", "List"):
        raise document.Malformed(f"expected a PodList, got kind {doc.kind!r}")
    if doc.items is None:
        raise document.Malformed(
            "the pod list has no items (null): refusing to read it as a cluster without pods"
        )
    pods: list[podlist.PodInfo] = []
    skipped: list[str] = []
    for item in doc.items:
        try:
            pods.append(_pod(item))
        except document.Malformed as exc:
            skipped.append(f"Pod {item.metadata.name if item.metadata else '?'}: {exc}")
    token = doc.metadata.continue_ if doc.metadata is not None else None
    return pods, skipped, token or ""


def decode_any(raw: bytes) -> object:
    """Any JSON answer as plain Python objects (msgspec: about twice as fast as ``json.loads``).

    A number past a float (``1e400``) is valid JSON that msgspec refuses with a ValidationError: such a page is
    read by ``json.loads`` instead (the number becomes ``inf``, which the quantity readers refuse for that one
    object), so one odd number never makes the whole list unreadable."""
    try:
        return msgspec.json.decode(raw)
    except msgspec.ValidationError:
        try:
            return json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise WireMismatch(f"answer cannot be read as JSON ({exc})", not_json=True) from None
    except msgspec.DecodeError as exc:
        raise WireMismatch(f"answer is not JSON ({exc})", not_json=True) from None


# --- nodes and NodeMetrics: typed decoding drops what the rules never read (a node's image list is most of its
# JSON); each node is then read by the same forgiving ``parse`` functions as any other document


class _Taint(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    key: str | None = None
    value: str | None = None
    effect: str | None = None
    timeAdded: str | None = None


class _NodeMeta(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    name: str | None = None
    labels: dict[str, str] | None = None
    creationTimestamp: str | None = None


class _NodeSpec(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    unschedulable: bool | None = None
    taints: list[_Taint] | None = None


class _NodeCondition(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    type: str | None = None
    status: str | None = None
    reason: str | None = None
    message: str | None = None
    lastHeartbeatTime: str | None = None
    lastTransitionTime: str | None = None


class _NodeStatus(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    conditions: list[_NodeCondition] | None = None
    capacity: QuantityMap | None = None
    allocatable: QuantityMap | None = None


class _Node(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    metadata: _NodeMeta | None = None
    spec: _NodeSpec | None = None
    status: _NodeStatus | None = None


class _NodeList(msgspec.Struct, frozen=True, gc=False):
    kind: str | None = None
    metadata: _ListMeta | None = None
    items: list[_Node] | None = None


class _NodeMetric(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    metadata: _NodeMeta | None = None
    timestamp: str | None = None
    window: str | None = None
    usage: QuantityMap | None = None


class _NodeMetricsList(msgspec.Struct, frozen=True, gc=False):
    kind: str | None = None
    items: list[_NodeMetric] | None = None


_NODE_LIST = msgspec.json.Decoder(_NodeList)
_NODE_METRICS = msgspec.json.Decoder(_NodeMetricsList)


def _typed(decoder: msgspec.json.Decoder[T], raw: bytes) -> T:
    try:
        return decoder.decode(raw)
    except msgspec.ValidationError as exc:
        raise WireMismatch(str(exc)) from None
    except msgspec.DecodeError as exc:
        raise WireMismatch(f"answer is not JSON ({exc})", not_json=True) from None


def decode_node_page(cluster: str, raw: bytes) -> tuple[nodelist.NodePage, str]:
    """One page of a NodeList: (the nodes read and those that could not be, continue token); ``items: null``
    is Malformed."""
    doc = _typed(_NODE_LIST, raw)
    if doc.kind not in (None, "NodeList", "List"):
        raise document.Malformed(f"expected a NodeList, got kind {doc.kind!r}")
    if doc.items is None:
        raise document.Malformed(
            "the node list has no items (null): refusing to read it as a cluster without nodes"
        )
    page = nodelist.parse_nodes(cluster, {"items": msgspec.to_builtins(doc.items)})
    token = doc.metadata.continue_ if doc.metadata is not None else None
    return page, token or ""


def decode_node_metrics(raw: bytes) -> tuple[dict[str, Usage], list[str]]:
    """A NodeMetricsList: usage per node name (``nodelist.parse_node_metrics`` on the fields it reads)."""
    doc = _typed(_NODE_METRICS, raw)
    if doc.kind not in (None, "NodeMetricsList", "List"):
        raise document.Malformed(f"expected a NodeMetricsList, got kind {doc.kind!r}")
    return nodelist.parse_node_metrics({"items": msgspec.to_builtins(doc.items or [])})
