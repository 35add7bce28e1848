"""The seed sketch's periodic scan, rebuilt as the reference that bench/bench_scan.py measures nodewatch against.

Copied from the Python monitor of the seed document (``node_monitor.py``, class ``NodeMonitor``), method for method
and with the same calls to the official ``kubernetes`` client, which builds a client model for every object:

- ``check_all_nodes``: ``CoreV1Api.list_node()`` (one request, all nodes), then ``get_node_metrics`` (one
  ``CustomObjectsApi.list_cluster_custom_object("metrics.k8s.io", "v1beta1", "nodes")``, mapped by node name), then
  for every node ``collect_node_metrics`` + ``evaluate_metrics``;
- ``collect_node_metrics``: cpu/memory capacity and pod capacity from the node model, usage from NodeMetrics, and
  **one** ``list_pod_for_all_namespaces(field_selector=f"spec.nodeName={node}")`` **per node** for the pod count;
  cpu % and memory % of capacity;
- ``parse_cpu`` / ``parse_memory``: the sketch's own quantity parsers, unchanged;
- ``evaluate_metrics``: cpu and memory against warning/critical (70/90 % by default, strictly greater), pods
  against 80 % of the pod capacity, and the per-node ``logger.debug(f"...")`` line (its f-string is formatted on
  every node even when debug logging is off, as in the sketch);
- the default config (``checkInterval``, ``thresholds``, ``alertCooldown``...).

Left out, on purpose:
- alert sending: ``send_alert`` (the 15-minute cooldown dict), ``send_slack`` and ``send_dingtalk``. What would be
  sent is returned as a list instead, so a scan does no network I/O beyond the API server;
- the node watch loop (``run`` / ``check_node``): each interval the sketch restarts a watch on nodes, which
  re-delivers every node as ADDED before ``check_all_nodes`` runs. Leaving it out makes this reference *cheaper*
  than the sketch (one node list less per interval), so a ratio against it flatters the sketch, never nodewatch;
- ``config.load_incluster_config()`` first: the reference reads the cluster from a kubeconfig path;
- the sketch's ``except Exception: log`` around the scan and around the metrics read: here a failed read raises,
  so a benchmark never times a scan that silently skipped its work.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from typing import Any

from kubernetes import client, config

DEFAULT_CONFIG: dict[str, Any] = {
    "checkInterval": 60,
    "logLevel": "info",
    "thresholds": {"cpuWarning": 70, "cpuCritical": 90, "memoryWarning": 70, "memoryCritical": 90},
    "alertCooldown": 15,
}

Alert = tuple[str, str, str]  # (alert_key, message, severity), what the sketch hands to send_alert


class SketchMonitor:
    """``NodeMonitor`` of the sketch, minus its watch loop and its senders (see the module docstring)."""

    def __init__(self, kubeconfig: str, user_config: dict[str, Any] | None = None) -> None:
        config.load_kube_config(config_file=kubeconfig)
        self.v1 = client.CoreV1Api()
        self.metrics_api = client.CustomObjectsApi()
        self.config = dict(DEFAULT_CONFIG)
        self.config.update(user_config or {})
        self.logger = logging.getLogger("sketch_reference")
        self.logger.setLevel(getattr(logging, self.config["logLevel"].upper()))
        self.nodes_checked = 0
        self.pods_counted = 0

    def check_all_nodes(self) -> list[Alert]:
        """One periodic scan: the sketch's ``check_all_nodes``; returns what it would have sent."""
        alerts: list[Alert] = []
        self.nodes_checked = self.pods_counted = 0
        nodes = self.v1.list_node()
        node_metrics = self.get_node_metrics()
        for node in nodes.items:
            metrics = self.collect_node_metrics(node, node_metrics)
            alerts.extend(self.evaluate_metrics(metrics))
            self.nodes_checked += 1
            self.pods_counted += metrics["pod_count"]
        return alerts

    def get_node_metrics(self) -> dict[str, Any]:
        metrics = self.metrics_api.list_cluster_custom_object(
            group="metrics.k8s.io", version="v1beta1", plural="nodes"
        )
        metrics_map = {}
        for item in metrics.get("items", []):
            node_name = item["metadata"]["name"]
            metrics_map[node_name] = item
        return metrics_map

    def collect_node_metrics(self, node: Any, node_metrics_map: dict[str, Any]) -> dict[str, Any]:
        node_name = node.metadata.name
        metrics = {
            "node_name": node_name,
            "cpu_capacity": 0,
            "cpu_usage": 0,
            "cpu_percent": 0,
            "memory_capacity": 0,
            "memory_usage": 0,
            "memory_percent": 0,
            "pod_count": 0,
            "pod_capacity": 0,
        }
        if node.status.capacity:
            if "cpu" in node.status.capacity:
                metrics["cpu_capacity"] = self.parse_cpu(node.status.capacity["cpu"])
            if "memory" in node.status.capacity:
                metrics["memory_capacity"] = self.parse_memory(node.status.capacity["memory"])
            if "pods" in node.status.capacity:
                metrics["pod_capacity"] = int(node.status.capacity["pods"])
        if node_name in node_metrics_map:
            usage = node_metrics_map[node_name].get("usage", {})
            if "cpu" in usage:
                metrics["cpu_usage"] = self.parse_cpu(usage["cpu"])
            if "memory" in usage:
                metrics["memory_usage"] = self.parse_memory(usage["memory"])
        # the sketch's pod count: one list request per node
        pods = self.v1.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={node_name}")
        metrics["pod_count"] = len(pods.items)
        if metrics["cpu_capacity"] > 0:
            metrics["cpu_percent"] = (metrics["cpu_usage"] / metrics["cpu_capacity"]) * 100
        if metrics["memory_capacity"] > 0:
            metrics["memory_percent"] = (metrics["memory_usage"] / metrics["memory_capacity"]) * 100
        return metrics

    def parse_cpu(self, cpu_str: str) -> int:
        """CPU quantity to millicores (the sketch's parser)."""
        if cpu_str.endswith("m"):
            return int(cpu_str[:-1])
        elif cpu_str.endswith("n"):
            return int(cpu_str[:-1]) // 1000000
        else:
            return int(float(cpu_str) * 1000)

    def parse_memory(self, mem_str: str) -> int:
        """Memory quantity to bytes (the sketch's parser)."""
        units = {
            "Ki": 1024,
            "Mi": 1024**2,
            "Gi": 1024**3,
            "Ti": 1024**4,
            "K": 1000,
            "M": 1000**2,
            "G": 1000**3,
            "T": 1000**4,
        }
        for unit, multiplier in units.items():
            if mem_str.endswith(unit):
                return int(mem_str[: -len(unit)]) * multiplier
        return int(mem_str)

    def evaluate_metrics(self, metrics: dict[str, Any]) -> list[Alert]:
        node_name = metrics["node_name"]
        thresholds = self.config["thresholds"]
        out: list[Alert] = []
        if metrics["cpu_percent"] > thresholds["cpuWarning"]:
            severity = "warning"
            if metrics["cpu_percent"] > thresholds["cpuCritical"]:
                severity = "critical"
            out.append(
                (
                    f"node_{node_name}_cpu_high",
                    f"节点 {node_name} CPU 使用率 {metrics['cpu_percent']:.2f}%",
                    severity,
                )
            )
        if metrics["memory_percent"] > thresholds["memoryWarning"]:
            severity = "warning"
            if metrics["memory_percent"] > thresholds["memoryCritical"]:
                severity = "critical"
            out.append(
                (
                    f"node_{node_name}_memory_high",
                    f"节点 {node_name} 内存使用率 {metrics['memory_percent']:.2f}%",
                    severity,
                )
            )
        if metrics["pod_capacity"] > 0:
            pod_percent = (metrics["pod_count"] / metrics["pod_capacity"]) * 100
            if pod_percent > 80:
                out.append(
                    (
                        f"node_{node_name}_pod_high",
                        f"节点 {node_name} Pod 数量 {metrics['pod_count']}/{metrics['pod_capacity']} "
                        f"({pod_percent:.0f}%)",
                        "warning",
                    )
                )
        self.logger.debug(
            f"Node {node_name}: "
            f"CPU {metrics['cpu_percent']:.2f}%, "
            f"Memory {metrics['memory_percent']:.2f}%, "
            f"Pods {metrics['pod_count']}/{metrics['pod_capacity']}"
        )
        return out


def main(argv: list[str] | None = None) -> int:
    """Run one scan by hand: ``python bench/sketch_reference.py --kubeconfig PATH``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kubeconfig", required=True)
    args = ap.parse_args(argv)
    monitor = SketchMonitor(args.kubeconfig)
    started = time.perf_counter()
    alerts = monitor.check_all_nodes()
    took = time.perf_counter() - started
    print(f"{monitor.nodes_checked} nodes, {monitor.pods_counted} pods, {len(alerts)} alerts, {took:.2f}s")
    for key, message, severity in alerts:
        print(f"  [{severity}] {key}: {message}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
