"""The control API under /_sim: tests and demos steer clusters, nodes, faults and the clock through it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kubesim import cluster as clusters
from kubesim.clock import rfc3339
from kubesim.cluster import METRICS, Cluster, Invalid, NotFound

if TYPE_CHECKING:
    from kubesim.server import Sim

NODE_KEYS = {"cpu", "memory", "disk", "imagefs", "inodes", "ready", "conditions", "taints", "labels", "unschedulable",
             "cordon", "uncordon", "noise", "pods", "evict", "remove", "kubelet_config"}  # fmt: skip


def _clock(sim: Sim) -> dict[str, Any]:
    t = sim.clock.t()
    return {
        "t": t,
        "now": rfc3339(sim.clock.start_epoch + t),
        "epoch": sim.clock.start_epoch + t,
        "speed": sim.clock.speed,
    }


def _cluster(sim: Sim, name: str) -> Cluster:
    if name not in sim.clusters:
        raise NotFound(f'cluster "{name}" not found')
    return sim.clusters[name]


def _node_state(c: Cluster, name: str) -> dict[str, Any]:
    node = c.node(name)
    t = c.clock.t()
    return {
        "name": node.name,
        "group": node.group,
        "ready": node.ready,
        "unschedulable": node.unschedulable,
        "usage": c.usage(node, t),
        "conditions": {k: v.status for k, v in node.conditions.items()},
        "taints": node.taints(),
        "labels": node.labels,
        "pods": len(c.pods_on(name)),
        "resourceVersion": str(node.rv),
    }


def handle(sim: Sim, method: str, parts: list[str], query: dict[str, str], body: Any) -> tuple[int, Any]:
    """Route one control call; returns (HTTP status, JSON-able answer)."""
    if not parts:
        return 200, {
            "clusters": sorted(sim.clusters),
            "clock": _clock(sim),
            "warm": sim.warmed.is_set(),
            "page_cache": sim.pages.stats(),
        }
    if parts == ["clock"]:
        if method == "POST":
            if "speed" in body:
                sim.clock.set_speed(float(body["speed"]))
            if "advance" in body:
                sim.clock.advance(float(body["advance"]))
            sim.tick()
        return 200, _clock(sim)
    if parts == ["clusters"]:
        return 200, {"clusters": sorted(sim.clusters)}
    if parts[0] != "clusters" or len(parts) < 2:
        raise NotFound("no such control path")
    c = _cluster(sim, parts[1])
    rest = parts[2:]
    if rest == ["traffic"] and method in ("GET", "DELETE"):
        # DELETE answers the counts it zeroed, so a benchmark can read and reset in one call
        return 200, sim.traffic[c.name].snapshot(reset=method == "DELETE")
    with c.lock:
        if not rest:
            return 200, {
                "name": c.name,
                "nodes": sorted(n.name for n in c.nodes()),
                "pods": len(c.stores["pods"].items),
                "faults": {k: {x: y for x, y in v.items()} for k, v in c.faults.items()},
                "deny": c.deny,
                "resourceVersion": str(c.rv),
            }
        if rest[0] == "nodes" and len(rest) >= 2:
            name = rest[1]
            if len(rest) == 3 and rest[2] == "pods" and method == "POST":
                names = c.add_pods(name, int(body.get("count", 1)), str(body.get("cpu", "500m")),
                                   str(body.get("memory", "1Gi")), str(body.get("phase", "Running")),
                                   str(body.get("namespace", "default")), str(body.get("app", "load")))  # fmt: skip
                return 201, {"pods": names}
            if len(rest) == 3 and rest[2] == "evict" and method == "POST":
                return 200, {
                    "pods": c.evict(name, int(body.get("count", 1)), str(body.get("resource", "memory")))
                }
            if len(rest) != 2:
                raise NotFound("no such control path")
            if method == "GET":
                return 200, _node_state(c, name)
            if method == "POST":
                unknown = set(body) - NODE_KEYS
                if unknown:
                    raise Invalid(f"unknown node settings: {', '.join(sorted(unknown))}")
                c.apply({**body, "node": name})
                for metric in METRICS:
                    if isinstance(body.get(metric), int | float) and "noise" not in body:
                        c.node(name).slots[metric].noise = 0.0  # a plain level set by hand holds exactly
                return 200, _node_state(c, name)
            if method == "PUT":
                c.apply({"add_node": {**body, "name": name}})
                return 201, _node_state(c, name)
            if method == "DELETE":
                c.apply({"node": name, "remove": True})
                return 200, {"deleted": name}
        if rest == ["pending"] and method == "POST":
            return 201, {"pods": c.add_pending_pods(int(body.get("count", 1)), body.get("message"))}
        if rest == ["faults"]:
            if method == "POST":
                kind = str(body.get("kind", ""))
                c.set_fault(kind, **{k: v for k, v in body.items() if k != "kind"})
                return 200, {"faults": sorted(c.faults)}
            if method == "DELETE":
                c.clear_faults()
                return 200, {"faults": []}
            return 200, {"faults": sorted(c.faults)}
        if rest == ["permissions"] and method in ("PUT", "POST"):
            c.deny = [str(x) for x in body.get("deny", [])]
            return 200, {"deny": c.deny}
        if (
            rest == ["kubelet"] and method == "GET"
        ):  # what the kubelets' GC and eviction did (housekeeping.py)
            k = c.kubelet
            return 200, {"config": k.config(), "events": k.events} if k else {"config": None, "events": []}
        if rest == ["compact"] and method == "POST":
            return 200, {"compactedResourceVersion": str(c.compact())}
        if rest == ["actions"] and method == "POST":
            return 200, c.apply(body)
        if rest[0] == "secrets" and len(rest) == 3:
            if method == "PUT":

                def strings(key: str) -> dict[str, str]:
                    return {k: str(v) for k, v in (body.get(key) or {}).items()}

                s = clusters.new_secret(
                    c, rest[1], rest[2], strings("data"), strings("labels"), strings("annotations")
                )
                return 200, {"name": s.name, "namespace": s.namespace, "resourceVersion": str(s.rv)}
            if method == "DELETE":
                clusters.delete_secret(c, rest[1], rest[2])
                return 200, {"deleted": rest[2]}
    raise NotFound("no such control path")
