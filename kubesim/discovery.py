"""Discovery documents (/version, /api, /apis, resource lists) and Table column definitions, as 1.30 serves them."""

from __future__ import annotations

from typing import Any

from kubesim.cluster import Cluster

_NAME_DESC = (
    "Name must be unique within a namespace. Is required when creating resources, although some resources may "
    "allow a client to request the generation of an appropriate name automatically. Name is primarily intended "
    "for creation idempotence and configuration definition. Cannot be updated. More info: "
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
)
_AGE_DESC = (
    "CreationTimestamp is a timestamp representing the server time when this object was created. It is not "
    "guaranteed to be set in happens-before order across separate operations. Clients may not set this value. "
    "It is represented in RFC3339 form and is in UTC."
)


def _col(name: str, type_: str, desc: str, priority: int = 0, fmt: str = "") -> dict[str, Any]:
    return {"name": name, "type": type_, "format": fmt, "description": desc, "priority": priority}


TABLE_COLUMNS: dict[str, list[dict[str, Any]]] = {
    "pods": [
        _col("Name", "string", _NAME_DESC, 0, "name"),
        _col("Ready", "string", "The aggregate readiness state of this pod for accepting traffic."),
        _col("Status", "string", "The aggregate status of the containers in this pod."),
        _col("Restarts", "string", "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."),
        _col("Age", "string", _AGE_DESC),
        _col("IP", "string", "IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.", 1),
        _col("Node", "string", "NodeName is a request to schedule this pod onto a specific node.", 1),
        _col("Nominated Node", "string", "nominatedNodeName is set only when this pod preempts other pods on the node.", 1),
        _col("Readiness Gates", "string", "If specified, all readiness gates will be evaluated for pod readiness.", 1),
    ],
    "nodes": [
        _col("Name", "string", _NAME_DESC, 0, "name"),
        _col("Status", "string", "The status of the node"),
        _col("Roles", "string", "The roles of the node"),
        _col("Age", "string", _AGE_DESC),
        _col("Version", "string", "Kubelet Version reported by the node."),
        _col("Internal-IP", "string", "List of addresses reachable to the node. Queried from cloud provider, if available.", 1),
        _col("External-IP", "string", "List of addresses reachable to the node. Queried from cloud provider, if available.", 1),
        _col("OS-Image", "string", "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).", 1),
        _col("Kernel-Version", "string", "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).", 1),
        _col("Container-Runtime", "string", "Container runtime version reported by the node through runtime remote API (e.g. containerd://1.4.2).", 1),
    ],
    "default": [_col("Name", "string", _NAME_DESC, 0, "name"), _col("Age", "string", _AGE_DESC)],
}  # fmt: skip


def _resource(name: str, kind: str, namespaced: bool, verbs: list[str],
              short: list[str] | None = None) -> dict[str, Any]:  # fmt: skip
    out: dict[str, Any] = {"name": name, "singularName": "" if "/" in name else kind.lower(), "namespaced": namespaced,
                           "kind": kind, "verbs": verbs}  # fmt: skip
    if short:
        out["shortNames"] = short
    return out


_CORE = {
    "kind": "APIResourceList",
    "groupVersion": "v1",
    "resources": [
        _resource("events", "Event", True, ["create", "delete", "get", "list", "watch"], ["ev"]),
        _resource("namespaces", "Namespace", False, ["get", "list", "watch"], ["ns"]),
        _resource("nodes", "Node", False, ["get", "list", "watch"], ["no"]),
        _resource("nodes/proxy", "NodeProxyOptions", False, ["get"]),
        _resource("nodes/status", "Node", False, ["get"]),
        _resource("pods", "Pod", True, ["get", "list", "watch"], ["po"]),
        _resource("pods/status", "Pod", True, ["get"]),
        _resource("secrets", "Secret", True, ["get", "list", "watch"]),
    ],
}
_METRICS = {
    "kind": "APIResourceList",
    "apiVersion": "v1",
    "groupVersion": "metrics.k8s.io/v1beta1",
    "resources": [
        _resource("nodes", "NodeMetrics", False, ["get", "list"]),
        _resource("pods", "PodMetrics", True, ["get", "list"]),
    ],
}
_COORDINATION = {
    "kind": "APIResourceList",
    "apiVersion": "v1",
    "groupVersion": "coordination.k8s.io/v1",
    "resources": [_resource("leases", "Lease", True, ["get", "list"])],
}
_AUTHZ = {
    "kind": "APIResourceList",
    "apiVersion": "v1",
    "groupVersion": "authorization.k8s.io/v1",
    "resources": [_resource("selfsubjectaccessreviews", "SelfSubjectAccessReview", False, ["create"])],
}


def _group(name: str, version: str) -> dict[str, Any]:
    gv = {"groupVersion": f"{name}/{version}", "version": version}
    return {"name": name, "versions": [gv], "preferredVersion": gv}


def document(path: str, cluster: Cluster, metrics_on: bool) -> dict[str, Any] | None:
    """The discovery document at `path`, or None when the path is not a discovery path."""
    if path == "/version":
        version = next(iter(cluster.nodes()), None)
        git = version.node_info["kubeletVersion"] if version else "v1.30.5"
        minor = git.split(".")[1]
        return {
            "major": "1",
            "minor": minor,
            "gitVersion": git,
            "gitCommit": "5f6c0a6dd2a4e4e8ad0d1b3a6b8e1b0c8c1e2f3a",
            "gitTreeState": "clean",
            "buildDate": "2024-08-14T19:42:07Z",
            "goVersion": "go1.22.5",
            "compiler": "gc",
            "platform": "linux/amd64",
        }
    if path == "/api":
        return {
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "10.0.0.2:443"}],
        }
    if path == "/apis":
        groups = [_group("authorization.k8s.io", "v1"), _group("coordination.k8s.io", "v1")]
        if metrics_on:
            groups.append(_group("metrics.k8s.io", "v1beta1"))
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}
    if path == "/api/v1":
        return _CORE
    if path == "/apis/authorization.k8s.io":
        return {"kind": "APIGroup", "apiVersion": "v1", **_group("authorization.k8s.io", "v1")}
    if path == "/apis/authorization.k8s.io/v1":
        return _AUTHZ
    if path == "/apis/coordination.k8s.io":
        return {"kind": "APIGroup", "apiVersion": "v1", **_group("coordination.k8s.io", "v1")}
    if path == "/apis/coordination.k8s.io/v1":
        return _COORDINATION
    if metrics_on and path == "/apis/metrics.k8s.io":
        return {"kind": "APIGroup", "apiVersion": "v1", **_group("metrics.k8s.io", "v1beta1")}
    if metrics_on and path == "/apis/metrics.k8s.io/v1beta1":
        return _METRICS
    return None
