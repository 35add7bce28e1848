"""Run kubesim as a real subprocess for tests, with a thin client of its control API."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

import requests


class KubesimError(RuntimeError):
    """kubesim did not start, or a control call failed."""


class Control:
    """The control API (/_sim) of one kubesim process; see kubesim/README.md for each call."""

    def __init__(self, url: str, token: str, ca_file: str | None = None) -> None:
        self.url = url.rstrip("/")
        self._session = requests.Session()
        self._session.headers["Authorization"] = f"Bearer {token}"
        self._verify: str | bool = (
            ca_file if ca_file else True
        )  # per request: REQUESTS_CA_BUNDLE beats Session.verify

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        resp = self._session.request(method, f"{self.url}{path}", json=body, timeout=30, verify=self._verify)
        if resp.status_code >= 300:
            raise KubesimError(f"{method} {path}: {resp.status_code} {resp.text[:300]}")
        return resp.json()

    # ---- nodes
    def set_node(
        self,
        cluster: str,
        node: str,
        *,
        cpu: float | dict[str, Any] | None = None,
        memory: float | dict[str, Any] | None = None,
        ready: str | bool | None = None,
        conditions: dict[str, Any] | None = None,
        taints: list[Any] | dict[str, Any] | None = None,
        labels: dict[str, str | None] | None = None,
        unschedulable: bool | None = None,
        disk: float | dict[str, Any] | None = None,
        **more: Any,
    ) -> dict[str, Any]:
        """Change a node; cpu/memory/disk are fractions of allocatable (or curve specs) that hold until changed."""
        body = {"cpu": cpu, "memory": memory, "ready": ready, "conditions": conditions, "taints": taints,
                "labels": labels, "unschedulable": unschedulable, "disk": disk, **more}  # fmt: skip
        return self.call(
            "POST", f"/clusters/{cluster}/nodes/{node}", {k: v for k, v in body.items() if v is not None}
        )

    def node(self, cluster: str, node: str) -> dict[str, Any]:
        return self.call("GET", f"/clusters/{cluster}/nodes/{node}")

    def add_node(self, cluster: str, name: str, **spec: Any) -> dict[str, Any]:
        """spec: group, capacity {cpu, memory, disk, pods}, labels, taints, usage, pods_per_node."""
        return self.call("PUT", f"/clusters/{cluster}/nodes/{name}", spec)

    def remove_node(self, cluster: str, name: str) -> None:
        self.call("DELETE", f"/clusters/{cluster}/nodes/{name}")

    # ---- pods and events
    def add_pods(self, cluster: str, node: str, count: int, cpu: str = "500m", memory: str = "1Gi",
                 phase: str = "Running", namespace: str = "default") -> list[str]:  # fmt: skip
        body = {"count": count, "cpu": cpu, "memory": memory, "phase": phase, "namespace": namespace}
        return list(self.call("POST", f"/clusters/{cluster}/nodes/{node}/pods", body)["pods"])

    def add_pending_pods(self, cluster: str, count: int, reason_message: str | None = None) -> list[str]:
        return list(
            self.call("POST", f"/clusters/{cluster}/pending", {"count": count, "message": reason_message})[
                "pods"
            ]
        )

    def evict(self, cluster: str, node: str, count: int = 1, resource: str = "memory") -> list[str]:
        return list(
            self.call(
                "POST", f"/clusters/{cluster}/nodes/{node}/evict", {"count": count, "resource": resource}
            )["pods"]
        )

    # ---- faults, permissions, history
    def fault(self, cluster: str, kind: str, **kw: Any) -> None:
        """kinds: http500 (code, rate, path), slow (delay_s), hang (max_s), timeout (delay_s),
        metrics_absent, metrics_stale, unauthorized; `path` limits a fault to paths containing it."""
        self.call("POST", f"/clusters/{cluster}/faults", {"kind": kind, **kw})

    def clear_faults(self, cluster: str) -> None:
        self.call("DELETE", f"/clusters/{cluster}/faults")

    def set_token_permissions(self, cluster: str, deny: Iterable[str] = ()) -> None:
        """deny: e.g. "nodes/proxy", "metrics.k8s.io", "pods", "watch:nodes", "nodes.metrics.k8s.io"."""
        self.call("PUT", f"/clusters/{cluster}/permissions", {"deny": list(deny)})

    def compact(self, cluster: str) -> str:
        """Expire every older resourceVersion and continue token (410 afterwards)."""
        return str(self.call("POST", f"/clusters/{cluster}/compact")["compactedResourceVersion"])

    def action(self, cluster: str, **action: Any) -> dict[str, Any]:
        """Any timeline action, applied now (see the scenario format)."""
        return self.call("POST", f"/clusters/{cluster}/actions", action)

    def put_secret(self, cluster: str, namespace: str, name: str, data: dict[str, str],
                   labels: dict[str, str] | None = None, annotations: dict[str, str] | None = None) -> None:  # fmt: skip
        body = {"data": data, "labels": labels or {}, "annotations": annotations or {}}
        self.call("PUT", f"/clusters/{cluster}/secrets/{namespace}/{name}", body)

    def delete_secret(self, cluster: str, namespace: str, name: str) -> None:
        self.call("DELETE", f"/clusters/{cluster}/secrets/{namespace}/{name}")

    # ---- clock
    def advance(self, seconds: float) -> float:
        """Step the simulated clock; due timeline entries are applied before this returns. Returns sim epoch."""
        return float(self.call("POST", "/clock", {"advance": seconds})["epoch"])

    def set_speed(self, speed: float) -> None:
        self.call("POST", "/clock", {"speed": speed})

    def now(self) -> float:
        """Simulated time as a Unix epoch (float seconds)."""
        return float(self.call("GET", "/clock")["epoch"])

    def t(self) -> float:
        """Scenario seconds since start."""
        return float(self.call("GET", "/clock")["t"])

    def cluster(self, cluster: str) -> dict[str, Any]:
        return self.call("GET", f"/clusters/{cluster}")

    # ---- traffic
    def traffic(self, cluster: str) -> dict[str, Any]:
        """Requests and response bytes since start or the last reset: {requests, bytes (as sent, after gzip),
        raw_bytes (before gzip), by_path: {nodes|pods|metrics_nodes|metrics_pods|summary|events|other: {...}}}."""
        return self.call("GET", f"/clusters/{cluster}/traffic")

    def reset_traffic(self, cluster: str) -> dict[str, Any]:
        """Zero the counters; returns what they held."""
        return self.call("DELETE", f"/clusters/{cluster}/traffic")


class KubesimProcess:
    """`with KubesimProcess(...) as sim:` — kubesim on a free port; kubeconfigs in a temp dir."""

    def __init__(
        self,
        scenario: str | Path | None = None,
        clusters: int = 1,
        nodes: int = 3,
        pods_per_node: int = 5,
        tls: bool = False,
        speed: float = 1.0,
        seed: int = 1,
        extra_args: Iterable[str] = (),
        start_timeout: float = 60.0,
    ) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="kubesim-")
        self.kubeconfig_dir = Path(self._tmp.name) / "kubeconfigs"
        args = [sys.executable, "-m", "kubesim", "serve", "--port", "0", "--kubeconfig-dir", str(self.kubeconfig_dir),
                "--speed", str(speed), "--seed", str(seed)]  # fmt: skip
        if scenario is not None:
            args += ["--scenario", str(scenario)]
        else:
            args += [
                "--clusters",
                str(clusters),
                "--nodes",
                str(nodes),
                "--pods-per-node",
                str(pods_per_node),
            ]
        if tls:
            args.append("--tls")
        self.args = args + list(extra_args)
        self.start_timeout = start_timeout
        self.proc: subprocess.Popen[str] | None = None
        self.base_url = ""
        self.control_url = ""
        self.kubeconfigs: dict[str, Path] = {}
        self.control: Control
        self._stderr: list[str] = []

    def start(self) -> KubesimProcess:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            self.args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        lines: queue.Queue[str] = queue.Queue()
        assert self.proc.stdout is not None and self.proc.stderr is not None
        stdout, stderr = self.proc.stdout, self.proc.stderr

        def pump_stdout() -> None:
            for text in stdout:
                lines.put(text)

        threading.Thread(target=pump_stdout, daemon=True).start()
        threading.Thread(target=lambda: self._stderr.extend(stderr), daemon=True).start()
        deadline = time.monotonic() + self.start_timeout
        while True:
            try:
                line = lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                self.stop()
                raise KubesimError(
                    f"kubesim not ready in {self.start_timeout}s: {''.join(self._stderr)[-2000:]}"
                ) from None
            if line.startswith("kubesim ready"):
                break
        fields = dict(part.split("=", 1) for part in line.split()[2:])
        self.base_url, self.control_url = fields["url"], fields["control"]
        self.kubeconfigs = {p.stem: p for p in sorted(self.kubeconfig_dir.glob("*.yaml"))}
        self.ca_file: str | None = None
        if self.base_url.startswith("https"):
            import base64

            import yaml

            first = yaml.safe_load(next(iter(self.kubeconfigs.values())).read_text())
            ca = Path(self._tmp.name) / "ca.crt"
            ca.write_bytes(base64.b64decode(first["clusters"][0]["cluster"]["certificate-authority-data"]))
            self.ca_file = str(ca)
        self.control = Control(self.control_url, fields["token"], self.ca_file)
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._tmp.cleanup()

    def __enter__(self) -> KubesimProcess:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
