"""Simulated Kubernetes objects (nodes, pods, events, secrets) and their wire form, cached as JSON bytes."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from kubesim import quantity
from kubesim.clock import human_age, rfc3339
from kubesim.curves import Slot

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def dumps(obj: Any) -> bytes:
    return _dumps(obj).encode()


def dumps_text(obj: Any) -> str:
    """The same JSON as `dumps`, as text, for documents assembled from pieces."""
    return _dumps(obj)


KUBELET_CONDITIONS = ("MemoryPressure", "DiskPressure", "PIDPressure", "Ready")
_CONDITION_TEXT: dict[tuple[str, str], tuple[str, str]] = {
    ("MemoryPressure", "False"): ("KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
    ("MemoryPressure", "True"): ("KubeletHasInsufficientMemory", "kubelet has insufficient memory available"),
    ("DiskPressure", "False"): ("KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    ("DiskPressure", "True"): ("KubeletHasDiskPressure", "kubelet has disk pressure"),
    ("PIDPressure", "False"): ("KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    ("PIDPressure", "True"): ("KubeletHasInsufficientPID", "kubelet has insufficient PID available"),
    ("Ready", "True"): ("KubeletReady", "kubelet is posting ready status"),
    ("Ready", "False"): (
        "KubeletNotReady",
        "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady "
        "message:Network plugin returns error: cni plugin not initialized",
    ),
    ("NetworkUnavailable", "False"): ("RouteCreated", "RouteController created a route"),
    ("NetworkUnavailable", "True"): ("NoRouteCreated", "Node created without a route"),
}
_PRESSURE_TAINT = {
    "MemoryPressure": "node.kubernetes.io/memory-pressure",
    "DiskPressure": "node.kubernetes.io/disk-pressure",
    "PIDPressure": "node.kubernetes.io/pid-pressure",
}


@dataclass
class Condition:
    type: str
    status: str
    reason: str
    message: str
    transition: float
    heartbeat: float

    def wire(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "status": self.status,
            "lastHeartbeatTime": rfc3339(self.heartbeat),
            "lastTransitionTime": rfc3339(self.transition),
            "reason": self.reason,
            "message": self.message,
        }


class Obj:
    """Common bookkeeping: identity, resourceVersion, cached wire bytes."""

    kind = ""
    namespace = ""
    name = ""
    labels: dict[str, str]
    rv = 0
    _bytes: bytes | None = None

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    def wire(self) -> dict[str, Any]:
        raise NotImplementedError

    def json(self) -> bytes:
        if self._bytes is None:
            self._bytes = dumps(self.wire())
        return self._bytes

    def invalidate(self) -> None:
        self._bytes = None

    def fields(self) -> dict[str, str]:
        return {"metadata.name": self.name, "metadata.namespace": self.namespace}

    def created(self) -> float:
        raise NotImplementedError

    def meta_json(self, metadata: dict[str, Any] | None = None) -> bytes:
        """PartialObjectMetadata, as a Table row carries it; `metadata` spares rendering the object again."""
        return dumps(
            {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": self.wire()["metadata"] if metadata is None else metadata,
            }
        )


@dataclass(eq=False)
class Node(Obj):
    name: str = field()
    uid: str
    group: str
    created_at: float
    labels: dict[str, str]
    annotations: dict[str, str]
    capacity: dict[str, str]
    allocatable: dict[str, str]
    cpu_milli: int  # allocatable, for metrics
    memory_bytes: int  # allocatable
    disk_bytes: int  # nodefs capacity
    pods_max: int
    provider_id: str
    pod_cidr: str
    internal_ip: str
    node_info: dict[str, str]
    images: list[dict[str, Any]]
    slots: dict[str, Slot]
    user_taints: list[dict[str, Any]] = field(default_factory=list)
    unschedulable: bool = False
    ready: str = "True"
    conditions: dict[str, Condition] = field(default_factory=dict)
    extra_addresses: list[dict[str, str]] = field(default_factory=list)
    auto_taint_times: dict[str, float] = field(default_factory=dict)
    kubelet_config: dict[str, Any] = field(default_factory=dict)  # overrides of kubesim/kubelet.DEFAULTS
    kind = "Node"

    def created(self) -> float:
        return self.created_at

    def heartbeat(self) -> float:
        return max((c.heartbeat for c in self.conditions.values() if c.type in KUBELET_CONDITIONS), default=0)

    def taints(self) -> list[dict[str, Any]]:
        auto: list[tuple[str, str]] = []
        if self.ready == "Unknown":
            auto += [
                ("node.kubernetes.io/unreachable", "NoSchedule"),
                ("node.kubernetes.io/unreachable", "NoExecute"),
            ]
        elif self.ready == "False":
            auto += [
                ("node.kubernetes.io/not-ready", "NoSchedule"),
                ("node.kubernetes.io/not-ready", "NoExecute"),
            ]
        if self.ready != "Unknown":
            for ctype, key in _PRESSURE_TAINT.items():
                cond = self.conditions.get(ctype)
                if cond is not None and cond.status == "True":
                    auto.append((key, "NoSchedule"))
        if self.unschedulable:
            auto.append(("node.kubernetes.io/unschedulable", "NoSchedule"))
        out = [dict(t) for t in self.user_taints]
        for key, effect in auto:
            taint: dict[str, Any] = {"key": key, "effect": effect}
            if effect == "NoExecute":
                taint["timeAdded"] = rfc3339(self.auto_taint_times.get(key, self.created_at))
            out.append(taint)
        return out

    def status_word(self) -> str:
        word = "Ready" if self.ready == "True" else "NotReady"
        return word + (",SchedulingDisabled" if self.unschedulable else "")

    def wire(self) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "podCIDR": self.pod_cidr,
            "podCIDRs": [self.pod_cidr],
            "providerID": self.provider_id,
        }
        taints = self.taints()
        if taints:
            spec["taints"] = taints
        if self.unschedulable:
            spec["unschedulable"] = True
        order = ["NetworkUnavailable", *KUBELET_CONDITIONS]
        conds = sorted(self.conditions.values(), key=lambda c: order.index(c.type) if c.type in order else 99)
        return {
            "kind": "Node",
            "apiVersion": "v1",
            "metadata": {
                "name": self.name,
                "uid": self.uid,
                "resourceVersion": str(self.rv),
                "creationTimestamp": rfc3339(self.created_at),
                "labels": self.labels,
                "annotations": self.annotations,
            },
            "spec": spec,
            "status": {
                "capacity": self.capacity,
                "allocatable": self.allocatable,
                "conditions": [c.wire() for c in conds],
                "addresses": [
                    {"type": "InternalIP", "address": self.internal_ip},
                    *self.extra_addresses,
                    {"type": "Hostname", "address": self.name},
                ],
                "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                "nodeInfo": self.node_info,
                "images": self.images,
            },
        }

    def set_condition(self, ctype: str, status: str, now: float, reason: str = "", message: str = "") -> bool:
        """Set one condition as its owner (kubelet or controller) would; True when anything changed."""
        default_reason, default_message = _CONDITION_TEXT.get((ctype, status), (ctype + status, ""))
        reason = reason or default_reason
        message = message or default_message
        cond = self.conditions.get(ctype)
        if cond is None:
            self.conditions[ctype] = Condition(ctype, status, reason, message, now, now)
            return True
        if (cond.status, cond.reason, cond.message) == (status, reason, message):
            return False
        if cond.status != status:
            cond.transition = now
        cond.status, cond.reason, cond.message = status, reason, message
        cond.heartbeat = now
        return True

    def table_cells(self, now: float) -> list[Any]:
        external = [a["address"] for a in self.extra_addresses if a["type"] == "ExternalIP"]
        roles = sorted(k.split("/", 1)[1] for k in self.labels if k.startswith("node-role.kubernetes.io/"))
        return [
            self.name,
            self.status_word(),
            ",".join(roles) or "<none>",
            human_age(now - self.created_at),
            self.node_info["kubeletVersion"],
            self.internal_ip,
            external[0] if external else "<none>",
            self.node_info["osImage"],
            self.node_info["kernelVersion"],
            self.node_info["containerRuntimeVersion"],
        ]

    def fields(self) -> dict[str, str]:
        return {"metadata.name": self.name, "spec.unschedulable": str(self.unschedulable).lower()}


@dataclass(frozen=True)
class PodTemplate:
    """What the pods of one workload share (kept once, referenced by each of its pods)."""

    app: str
    owner_kind: str
    owner_name: str
    owner_uid: str
    labels: dict[str, str]
    containers: tuple[dict[str, Any], ...]
    init_containers: tuple[dict[str, Any], ...] = ()
    overhead: dict[str, str] | None = None
    runtime_class: str | None = None
    priority_class: str | None = None


_TOLERATIONS = [
    {
        "key": "node.kubernetes.io/not-ready",
        "operator": "Exists",
        "effect": "NoExecute",
        "tolerationSeconds": 300,
    },
    {
        "key": "node.kubernetes.io/unreachable",
        "operator": "Exists",
        "effect": "NoExecute",
        "tolerationSeconds": 300,
    },
]


def requests_total(tpl: PodTemplate) -> tuple[int, int]:
    """Effective pod requests as the scheduler counts them: max(sum(containers), max(init)) + overhead."""

    def pair(c: dict[str, Any]) -> tuple[int, int]:
        req = c.get("resources", {}).get("requests", {})
        return quantity.millicores(req.get("cpu", 0)), quantity.to_bytes(req.get("memory", 0))

    cpu = sum(pair(c)[0] for c in tpl.containers)
    mem = sum(pair(c)[1] for c in tpl.containers)
    for init in tpl.init_containers:
        ic, im = pair(init)
        cpu, mem = max(cpu, ic), max(mem, im)
    if tpl.overhead:
        cpu += quantity.millicores(tpl.overhead.get("cpu", 0))
        mem += quantity.to_bytes(tpl.overhead.get("memory", 0))
    return cpu, mem


class Pod(Obj):
    __slots__ = (
        "namespace", "name", "uid", "node", "phase", "tpl", "created_at", "ip", "host_ip", "restarts",
        "reason", "message", "rv", "_bytes", "_row", "labels", "usage_factor",
    )  # fmt: skip
    kind = "Pod"

    def __init__(
        self, namespace: str, name: str, uid: str, tpl: PodTemplate, created_at: float,
        node: str = "", phase: str = "Running", ip: str = "", host_ip: str = "",
    ) -> None:  # fmt: skip
        self.namespace, self.name, self.uid, self.tpl = namespace, name, uid, tpl
        self.created_at, self.node, self.phase, self.ip, self.host_ip = created_at, node, phase, ip, host_ip
        self.restarts = 0
        self.reason = ""
        self.message = ""
        self.rv = 0
        self._bytes: bytes | None = None
        self._row: tuple[bytes, bytes, bytes] | None = None
        self.labels = tpl.labels
        self.usage_factor = 1.0

    def created(self) -> float:
        return self.created_at

    def invalidate(self) -> None:
        self._bytes = None
        self._row = None

    def requests(self) -> tuple[int, int]:
        return requests_total(self.tpl)

    def fields(self) -> dict[str, str]:
        return {
            "metadata.name": self.name,
            "metadata.namespace": self.namespace,
            "spec.nodeName": self.node,
            "status.phase": self.phase,
            "spec.restartPolicy": "Always",
            "spec.schedulerName": "default-scheduler",
            "spec.serviceAccountName": "default",
            "status.podIP": self.ip,
            "status.nominatedNodeName": "",
        }

    def _qos(self) -> str:
        res = [c.get("resources", {}) for c in self.tpl.containers]
        if all(not r.get("requests") and not r.get("limits") for r in res):
            return "BestEffort"
        if all(r.get("limits") and r.get("requests") == r.get("limits") for r in res):
            return "Guaranteed"
        return "Burstable"

    def status_word(self) -> str:
        if self.reason:
            return self.reason
        if self.phase == "Succeeded":
            return "Completed"
        if self.phase == "Failed":
            return "Error"
        if self.phase == "Pending" and self.node:
            return "ContainerCreating"
        return self.phase

    def wire(self) -> dict[str, Any]:
        tpl = self.tpl
        created = rfc3339(self.created_at)
        start = rfc3339(self.created_at + 1)
        meta: dict[str, Any] = {
            "name": self.name,
            "namespace": self.namespace,
            "uid": self.uid,
            "resourceVersion": str(self.rv),
            "creationTimestamp": created,
            "labels": tpl.labels,
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": tpl.owner_kind,
                    "name": tpl.owner_name,
                    "uid": tpl.owner_uid,
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        }
        if tpl.owner_kind == "ReplicaSet":
            meta["generateName"] = tpl.owner_name + "-"
        spec: dict[str, Any] = {
            "containers": [dict(c) for c in tpl.containers],
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst",
            "serviceAccountName": "default",
            "serviceAccount": "default",
            "securityContext": {},
            "schedulerName": "default-scheduler",
            "tolerations": _TOLERATIONS,
            "priority": 2000001000 if tpl.priority_class else 0,
            "enableServiceLinks": True,
            "preemptionPolicy": "PreemptLowerPriority",
        }
        if tpl.priority_class:
            spec["priorityClassName"] = tpl.priority_class
        if tpl.init_containers:
            spec["initContainers"] = [dict(c) for c in tpl.init_containers]
        if tpl.overhead:
            spec["overhead"] = tpl.overhead
            spec["runtimeClassName"] = tpl.runtime_class
        if self.node:
            spec["nodeName"] = self.node
        status: dict[str, Any] = {"phase": self.phase, "qosClass": self._qos()}
        if not self.node:
            status["conditions"] = [
                {
                    "type": "PodScheduled",
                    "status": "False",
                    "lastProbeTime": None,
                    "lastTransitionTime": rfc3339(self.created_at),
                    "reason": "Unschedulable",
                    "message": self.message,
                }
            ]
            return {"kind": "Pod", "apiVersion": "v1", "metadata": meta, "spec": spec, "status": status}
        running = self.phase == "Running"
        ready = "True" if running else "False"
        status.update(
            {
                "hostIP": self.host_ip,
                "hostIPs": [{"ip": self.host_ip}],
                "podIP": self.ip,
                "podIPs": [{"ip": self.ip}],
                "startTime": created,
                "conditions": [
                    {"type": t, "status": s, "lastProbeTime": None, "lastTransitionTime": start}
                    for t, s in (
                        ("PodReadyToStartContainers", "True"),
                        ("Initialized", "True"),
                        ("Ready", ready),
                        ("ContainersReady", ready),
                        ("PodScheduled", "True"),
                    )
                ],
            }
        )
        if self.reason:
            status["reason"] = self.reason
            status["message"] = self.message
        if self.phase == "Running":
            state: dict[str, Any] = {"running": {"startedAt": start}}
        elif self.phase in ("Succeeded", "Failed"):
            code = 0 if self.phase == "Succeeded" else 137
            state = {
                "terminated": {
                    "exitCode": code,
                    "reason": "Completed" if code == 0 else "Error",
                    "startedAt": start,
                    "finishedAt": start,
                    "containerID": f"containerd://{self.uid.replace('-', '')}",
                }
            }
        else:
            state = {"waiting": {"reason": "ContainerCreating"}}
        status["containerStatuses"] = [
            {
                "name": c["name"],
                "image": c["image"],
                "imageID": c["image"].split(":")[0] + "@sha256:" + "0" * 64,
                "containerID": f"containerd://{self.uid.replace('-', '')}{i}",
                "ready": running,
                "started": running,
                "restartCount": self.restarts,
                "state": state,
            }
            for i, c in enumerate(tpl.containers)
        ]
        if tpl.init_containers:
            status["initContainerStatuses"] = [
                {
                    "name": c["name"],
                    "image": c["image"],
                    "imageID": c["image"].split(":")[0] + "@sha256:" + "1" * 64,
                    "ready": True,
                    "restartCount": 0,
                    "state": {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": start,
                                             "finishedAt": start}},
                }
                for c in tpl.init_containers
            ]  # fmt: skip
        return {"kind": "Pod", "apiVersion": "v1", "metadata": meta, "spec": spec, "status": status}

    def prerender(self) -> None:
        """Render the JSON and the Table row from one wire() (the warm-up thread calls this for every pod)."""
        if self._bytes is not None and self._row is not None:
            return
        wire = self.wire()
        if self._bytes is None:
            self._bytes = dumps(wire)
        if self._row is None:
            self._row = self._row_parts(wire["metadata"])

    def _row_parts(self, metadata: dict[str, Any] | None = None) -> tuple[bytes, bytes, bytes]:
        n = len(self.tpl.containers)
        ready = n if self.phase == "Running" else 0
        head = dumps([self.name, f"{ready}/{n}", self.status_word(), self.restarts])[:-1] + b',"'
        tail = b'",' + dumps([self.ip or "<none>", self.node or "<none>", "<none>", "<none>"])[1:]
        return head, tail, self.meta_json(metadata)

    def table_row(self, now: float, include: str) -> bytes:
        """One Table row; the AGE cell is the only part that moves with the clock, so the rest is cached."""
        if self._row is None:
            self._row = self._row_parts()
        head, tail, meta = self._row
        row = b'{"cells":' + head + human_age(now - self.created_at).encode() + tail
        if include == "None":
            return row + b"}"
        if include == "Object":
            return row + b',"object":' + self.json() + b"}"
        return row + b',"object":' + meta + b"}"


@dataclass(eq=False)
class Event(Obj):
    namespace: str = field()
    name: str = field()
    uid: str
    involved: dict[str, Any]
    reason: str
    message: str
    type: str
    component: str
    first: float
    last: float
    count: int = 1
    host: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    kind = "Event"

    def created(self) -> float:
        return self.first

    def fields(self) -> dict[str, str]:
        return {
            "metadata.name": self.name,
            "metadata.namespace": self.namespace,
            "involvedObject.kind": self.involved.get("kind", ""),
            "involvedObject.name": self.involved.get("name", ""),
            "involvedObject.namespace": self.involved.get("namespace", ""),
            "involvedObject.uid": self.involved.get("uid", ""),
            "reason": self.reason,
            "type": self.type,
            "source": self.component,
        }

    def wire(self) -> dict[str, Any]:
        source: dict[str, str] = {"component": self.component}
        if self.host:
            source["host"] = self.host
        return {
            "kind": "Event",
            "apiVersion": "v1",
            "metadata": {
                "name": self.name,
                "namespace": self.namespace,
                "uid": self.uid,
                "resourceVersion": str(self.rv),
                "creationTimestamp": rfc3339(self.first),
            },
            "involvedObject": self.involved,
            "reason": self.reason,
            "message": self.message,
            "source": source,
            "firstTimestamp": rfc3339(self.first),
            "lastTimestamp": rfc3339(self.last),
            "count": self.count,
            "type": self.type,
            "eventTime": None,
            "reportingComponent": self.component,
            "reportingInstance": self.host,
        }


@dataclass(eq=False)
class Secret(Obj):
    namespace: str = field()
    name: str = field()
    uid: str
    created_at: float
    data: dict[str, str]  # plain text; served base64-encoded as the API does
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    type: str = "Opaque"
    kind = "Secret"

    def created(self) -> float:
        return self.created_at

    def wire(self) -> dict[str, Any]:
        return {
            "kind": "Secret",
            "apiVersion": "v1",
            "metadata": {
                "name": self.name,
                "namespace": self.namespace,
                "uid": self.uid,
                "resourceVersion": str(self.rv),
                "creationTimestamp": rfc3339(self.created_at),
                "labels": self.labels,
                "annotations": self.annotations,
            },
            "type": self.type,
            "data": {k: base64.b64encode(v.encode()).decode() for k, v in self.data.items()},
        }
