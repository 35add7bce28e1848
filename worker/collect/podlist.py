"""Pod / PodList and PodMetrics documents: each pod's effective requests and limits as the scheduler computes them,
grouped by node in one pass (``PodIndex``), and the pods the scheduler could not place. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

from worker.collect.document import JSON, Malformed, list_items, mapping, object_name, sequence, text
from worker.collect.quantities import byte_count, cpu_millis, milli
from worker.model import PodRef, Resources

TERMINAL_PHASES = frozenset({"Succeeded", "Failed"})


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
    res = mapping(mapping(container, "container").get("resources"), "resources")
    return mapping(res.get(field_name), f"resources.{field_name}")


def pod_totals(spec: JSON, field_name: str) -> Resources:
    """``totals`` of a pod spec read as plain JSON (``field_name``: "requests" or "limits")."""
    inits = [
        (_resource_list(c, field_name), mapping(c, "initContainer").get("restartPolicy") == "Always")
        for c in sequence(spec.get("initContainers"), "spec.initContainers")
    ]
    return totals(
        [_resource_list(c, field_name) for c in sequence(spec.get("containers"), "spec.containers")],
        inits,
        mapping(mapping(spec.get("resources"), "spec.resources").get(field_name), "spec.resources"),
        mapping(spec.get("overhead"), "spec.overhead"),
    )


def parse_pod(obj: JSON) -> PodInfo:
    meta = mapping(obj.get("metadata"), "metadata")
    spec = mapping(obj.get("spec"), "spec")
    status = mapping(obj.get("status"), "status")
    unschedulable = ""
    for raw in sequence(status.get("conditions"), "status.conditions"):
        cond = mapping(raw, "condition")
        if cond.get("type") == "PodScheduled" and cond.get("status") == "False":
            unschedulable = text(cond.get("message")) or text(cond.get("reason")) or "Unschedulable"
    return PodInfo(
        namespace=text(meta.get("namespace")),
        name=text(meta.get("name")),
        node=text(spec.get("nodeName")),
        phase=text(status.get("phase")),
        requests=pod_totals(spec, "requests"),
        limits=pod_totals(spec, "limits"),
        unschedulable=unschedulable,
    )


def parse_pods(doc: JSON) -> tuple[list[PodInfo], list[str]]:
    """A full PodList (API server or kubelet ``/pods``); not the ``as=Table`` form, which has no requests or
    limits."""
    pods: list[PodInfo] = []
    skipped: list[str] = []
    for item in list_items(doc, ("PodList",), "Pod"):
        try:
            pods.append(parse_pod(mapping(item, "item")))
        except Malformed as exc:
            skipped.append(f"Pod {object_name(item) if isinstance(item, Mapping) else '?'}: {exc}")
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


# --- live usage per pod (metrics.k8s.io PodMetrics; the kubelet Summary gives the same in worker.collect.kubelet)


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
    for item in list_items(doc, ("PodMetricsList",), "PodMetrics"):
        try:
            obj = mapping(item, "item")
            meta = mapping(obj.get("metadata"), "metadata")
            cpu = 0.0
            memory = 0
            for raw in sequence(obj.get("containers"), "containers"):
                usage = mapping(mapping(raw, "containers[]").get("usage"), "usage")
                cpu += cpu_millis(usage.get("cpu", "0"))
                memory += byte_count(usage.get("memory", "0"))
            pods.append(PodUsage(text(meta.get("namespace")), text(meta.get("name")), cpu, memory))
        except Malformed as exc:
            skipped.append(f"PodMetrics {object_name(item) if isinstance(item, Mapping) else '?'}: {exc}")
    return pods, skipped
