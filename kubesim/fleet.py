"""Builds realistic nodes and pods for a cluster: provider profiles, capacities in the formats kubelets use."""

from __future__ import annotations

import random
import string
import uuid
import zlib
from typing import Any

from kubesim import quantity
from kubesim.objects import Node, Pod, PodTemplate

PROVIDERS: dict[str, dict[str, Any]] = {
    "gke": {
        "kubelet": "v1.30.5-gke.1014001",
        "os": "Container-Optimized OS from Google",
        "kernel": "6.1.100+",
        "runtime": "containerd://1.7.22",
        "instance": "e2-standard-4",
        "region": "us-central1",
        "zones": ["us-central1-a", "us-central1-b", "us-central1-c"],
    },
    "eks": {
        "kubelet": "v1.30.4-eks-a737599",
        "os": "Amazon Linux 2",
        "kernel": "5.10.225-213.878.amzn2.x86_64",
        "runtime": "containerd://1.7.22",
        "instance": "m5.xlarge",
        "region": "us-east-1",
        "zones": ["us-east-1a", "us-east-1b", "us-east-1c"],
    },
    "aks": {
        "kubelet": "v1.29.8",
        "os": "Ubuntu 22.04.4 LTS",
        "kernel": "5.15.0-1071-azure",
        "runtime": "containerd://1.7.20-1",
        "instance": "Standard_D4s_v3",
        "region": "eastus",
        "zones": ["eastus-1", "eastus-2", "eastus-3"],
    },
    "kind": {
        "kubelet": "v1.31.0",
        "os": "Debian GNU/Linux 12 (bookworm)",
        "kernel": "6.5.0-21-generic",
        "runtime": "containerd://1.7.18",
        "instance": "",
        "region": "",
        "zones": [""],
    },
}

_IMAGES = [
    ("registry.k8s.io/kube-proxy", "v1.30.5", 29_036_540),
    ("docker.io/library/nginx", "1.27.2", 71_028_184),
    ("quay.io/prometheus/node-exporter", "v1.8.2", 11_342_129),
    ("docker.io/library/redis", "7.4.1", 45_012_771),
    ("registry.k8s.io/pause", "3.9", 321_520),
]


def new_uid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _suffix(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(n))


def make_node(
    rng: random.Random,
    cluster: str,
    name: str,
    group: str,
    index: int,
    spec: dict[str, Any],
    provider: str,
    created_at: float,
    slots: dict[str, Any],
) -> Node:
    """A node as a kubelet of `provider` registers it; `spec` is the node group's scenario entry."""
    prof = PROVIDERS.get(provider, PROVIDERS["gke"])
    cap = spec.get("capacity", {})
    cores = quantity.parse(cap.get("cpu", 4))
    cpu_milli = int(cores * 1000)
    mem_bytes = quantity.to_bytes(cap.get("memory", "16Gi"))
    disk_bytes = quantity.to_bytes(cap.get("disk", "100Gi"))
    pods_max = int(cap.get("pods", 110))
    reserved_milli = 80 if cpu_milli <= 4000 else 80 + (cpu_milli - 4000) // 40
    alloc_milli = cpu_milli - reserved_milli
    cap_ki = int(mem_bytes / 1024 * 0.977)
    alloc_ki = int(cap_ki * 0.91) - 102400
    disk_ki = int(disk_bytes / 1024 * 0.984)  # what the filesystem leaves of the disk
    alloc_disk = int(disk_ki * 1024 * 0.92)
    arch = str(spec.get("arch", "amd64"))
    zone = prof["zones"][index % len(prof["zones"])]
    instance = str(spec.get("instance_type", prof["instance"]))
    labels = {
        "beta.kubernetes.io/arch": arch,
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": arch,
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
    }
    if instance:
        labels["node.kubernetes.io/instance-type"] = instance
        labels["beta.kubernetes.io/instance-type"] = instance
    if zone:
        labels["topology.kubernetes.io/region"] = prof["region"]
        labels["topology.kubernetes.io/zone"] = zone
        labels["failure-domain.beta.kubernetes.io/region"] = prof["region"]
        labels["failure-domain.beta.kubernetes.io/zone"] = zone
    ip = f"10.{(index // 250) % 250}.{index % 250}.{10 + zlib.crc32(cluster.encode()) % 200}"
    if provider == "gke":
        labels["cloud.google.com/gke-nodepool"] = group
        labels["cloud.google.com/machine-family"] = instance.split("-")[0]
        labels["cloud.google.com/gke-os-distribution"] = "cos"
        provider_id = f"gce://sim-project/{zone}/{name}"
    elif provider == "eks":
        labels["eks.amazonaws.com/nodegroup"] = group
        labels["eks.amazonaws.com/capacityType"] = "ON_DEMAND"
        provider_id = f"aws:///{zone}/i-0{rng.getrandbits(64):016x}"[:-1]
    elif provider == "aks":
        labels["kubernetes.azure.com/agentpool"] = group
        labels["kubernetes.azure.com/mode"] = "user"
        provider_id = (
            f"azure:///subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/mc_{cluster}"
            f"/providers/Microsoft.Compute/virtualMachineScaleSets/aks-{group}-vmss/virtualMachines/{index}"
        )
    else:
        provider_id = f"kind://docker/{cluster}/{name}"
    for role in spec.get("roles", []):
        labels[f"node-role.kubernetes.io/{role}"] = ""
    labels.update({k: str(v) for k, v in (spec.get("labels") or {}).items()})
    capacity = {
        "cpu": quantity.cpu_cores(cpu_milli),
        "ephemeral-storage": f"{disk_ki}Ki",
        "hugepages-1Gi": "0",
        "hugepages-2Mi": "0",
        "memory": f"{cap_ki}Ki",
        "pods": str(pods_max),
    }
    allocatable = {
        "cpu": f"{alloc_milli}m",
        "ephemeral-storage": str(alloc_disk),
        "hugepages-1Gi": "0",
        "hugepages-2Mi": "0",
        "memory": f"{alloc_ki}Ki",
        "pods": str(pods_max),
    }
    if provider == "eks":
        capacity["attachable-volumes-aws-ebs"] = allocatable["attachable-volumes-aws-ebs"] = "25"
    extra: list[dict[str, str]] = []
    if provider == "eks":
        extra.append({"type": "InternalDNS", "address": f"ip-{ip.replace('.', '-')}.ec2.internal"})
    if spec.get("external_ip", provider in ("gke", "eks")):
        extra.append(
            {"type": "ExternalIP", "address": f"34.{index % 250}.{(index // 250) % 250}.{7 + index % 200}"}
        )
    images = [
        {"names": [f"{repo}@sha256:{rng.getrandbits(256):064x}", f"{repo}:{tag}"], "sizeBytes": size}
        for repo, tag, size in _IMAGES
    ]
    return Node(
        name=name,
        uid=new_uid(rng),
        group=group,
        created_at=created_at,
        labels=labels,
        annotations={
            "node.alpha.kubernetes.io/ttl": "0",
            "volumes.kubernetes.io/controller-managed-attach-detach": "true",
            "kubeadm.alpha.kubernetes.io/cri-socket": "unix:///run/containerd/containerd.sock",
        },
        capacity=capacity,
        allocatable=allocatable,
        cpu_milli=alloc_milli,
        memory_bytes=alloc_ki * 1024,
        disk_bytes=disk_ki * 1024,
        pods_max=pods_max,
        provider_id=provider_id,
        pod_cidr=f"10.{64 + (index // 256) % 64}.{index % 256}.0/24",
        internal_ip=ip,
        node_info={
            "architecture": arch,
            "bootID": new_uid(rng),
            "containerRuntimeVersion": prof["runtime"],
            "kernelVersion": prof["kernel"],
            "kubeProxyVersion": prof["kubelet"],
            "kubeletVersion": prof["kubelet"],
            "machineID": f"{rng.getrandbits(128):032x}",
            "operatingSystem": "linux",
            "osImage": prof["os"],
            "systemUUID": new_uid(rng),
        },
        images=images,
        slots=slots,
        user_taints=[dict(t) for t in spec.get("taints", [])],
        unschedulable=bool(spec.get("unschedulable", False)),
        extra_addresses=extra,
    )


def _container(
    name: str, image: str, requests: dict[str, str] | None, limits: dict[str, str] | None = None
) -> dict[str, Any]:
    resources: dict[str, Any] = {}
    if requests:
        resources["requests"] = requests
    if limits:
        resources["limits"] = limits
    return {
        "name": name,
        "image": image,
        "resources": resources,
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
        "imagePullPolicy": "IfNotPresent",
    }


def workload_templates(rng: random.Random, count: int) -> list[PodTemplate]:
    """Workloads with the request shapes real clusters show: sidecars, init containers, overhead, SI units."""
    shapes: list[dict[str, Any]] = [
        {
            "c": [
                (
                    "app",
                    "docker.io/library/nginx:1.27.2",
                    {"cpu": "100m", "memory": "128Mi"},
                    {"memory": "256Mi"},
                )
            ]
        },
        {
            "c": [
                ("api", "ghcr.io/sim/api:2.4.1", {"cpu": "0.5", "memory": "512Mi"}, None),
                ("log-shipper", "docker.io/fluent/fluent-bit:3.1", {"cpu": "10m", "memory": "5M"}, None),
            ]
        },
        {
            "c": [("worker", "ghcr.io/sim/worker:1.9.0", {"cpu": "250m", "memory": "1Gi"}, None)],
            "i": [("migrate", "ghcr.io/sim/worker:1.9.0", {"cpu": "1", "memory": "64Mi"}, None)],
        },
        {
            "c": [
                (
                    "db",
                    "docker.io/library/redis:7.4.1",
                    {"cpu": "1", "memory": "2Gi"},
                    {"cpu": "1", "memory": "2Gi"},
                )
            ]
        },
        {
            "c": [("sandboxed", "ghcr.io/sim/untrusted:0.3", {"cpu": "200m", "memory": "256Mi"}, None)],
            "o": {"cpu": "250m", "memory": "120Mi"},
        },
        {"c": [("batch", "docker.io/library/busybox:1.36", None, None)]},
        {"c": [("cache", "docker.io/library/memcached:1.6", {"cpu": "1500m", "memory": "1.5Gi"}, None)]},
    ]
    names = [
        "web",
        "api",
        "worker",
        "redis",
        "sandbox",
        "batch",
        "cache",
        "checkout",
        "search",
        "auth",
        "billing",
    ]
    namespaces = ["default", "shop", "payments", "monitoring"]
    out = []
    for i in range(count):
        shape = shapes[i % len(shapes)]
        app = names[i % len(names)] + ("" if i < len(names) else f"-{i}")
        hash_ = "".join(rng.choice(string.hexdigits.lower()[:16]) for _ in range(9)).replace("0", "7")
        owner = f"{app}-{hash_}"
        out.append(
            PodTemplate(
                app=namespaces[i % len(namespaces)] + "/" + app,
                owner_kind="ReplicaSet",
                owner_name=owner,
                owner_uid=new_uid(rng),
                labels={"app.kubernetes.io/name": app, "pod-template-hash": hash_},
                containers=tuple(_container(*c) for c in shape["c"]),
                init_containers=tuple(_container(*c) for c in shape.get("i", [])),
                overhead=shape.get("o"),
                runtime_class="gvisor" if shape.get("o") else None,
            )
        )
    return out


def daemonset_template(rng: random.Random) -> PodTemplate:
    return PodTemplate(
        app="kube-system/kube-proxy",
        owner_kind="DaemonSet",
        owner_name="kube-proxy",
        owner_uid=new_uid(rng),
        labels={
            "k8s-app": "kube-proxy",
            "controller-revision-hash": "6f8b6d9c5d",
            "pod-template-generation": "1",
        },
        containers=(_container("kube-proxy", "registry.k8s.io/kube-proxy:v1.30.5", {"cpu": "100m"}),),
        priority_class="system-node-critical",
    )


def custom_template(rng: random.Random, app: str, namespace: str, cpu: str, memory: str) -> PodTemplate:
    hash_ = f"{rng.getrandbits(36):09x}"
    return PodTemplate(
        app=f"{namespace}/{app}",
        owner_kind="ReplicaSet",
        owner_name=f"{app}-{hash_}",
        owner_uid=new_uid(rng),
        labels={"app.kubernetes.io/name": app, "pod-template-hash": hash_},
        containers=(
            _container(app, f"ghcr.io/sim/{app}:1.0", {"cpu": cpu, "memory": memory}, {"memory": memory}),
        ),
    )


def make_pod(
    rng: random.Random, tpl: PodTemplate, node: Node | None, created_at: float, seq: int, phase: str
) -> Pod:
    namespace, _ = tpl.app.split("/", 1)
    name = f"{tpl.owner_name}-{_suffix(rng, 5)}"
    ip = ""
    host_ip = ""
    if node is not None:
        base = node.pod_cidr.rsplit(".", 1)[0]
        ip = f"{base}.{2 + seq % 250}"
        host_ip = node.internal_ip
    pod = Pod(namespace, name, new_uid(rng), tpl, created_at, node.name if node else "", phase, ip, host_ip)
    pod.usage_factor = 0.5 + rng.random()
    return pod
