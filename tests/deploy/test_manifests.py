"""The Kubernetes manifests (deploy/kubernetes): every kustomization renders, every object validates strictly
against two Kubernetes versions, and the properties a reviewer would check by hand hold in every overlay."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.conftest import KUSTOMIZATIONS, OVERLAYS, ROOT, pod_specs, render
from worker import clusters, settings

KUBERNETES_VERSIONS = ("1.29.0", "1.33.0")  # the oldest supported upstream at the time, and a recent one
VALIDATE = Path(sys.executable).parent / "kubernetes-validate"
READ_VERBS = {"get", "list", "watch"}
HUB_NAMESPACE = "nodewatch"


def validate(path: Path, version: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VALIDATE), "--strict", "--quiet", "-k", version, str(path)],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_object_validates_strictly(kustomization: str, version: str, tmp_path: Path) -> None:
    docs = render(kustomization)
    assert docs, f"{kustomization} rendered nothing"
    out = tmp_path / "rendered.yaml"
    out.write_text(yaml.safe_dump_all(docs))
    proc = validate(out, version)
    assert proc.returncode == 0, f"{kustomization} against {version}:\n{proc.stdout}{proc.stderr}"


def test_strict_validation_rejects_a_misspelt_field(tmp_path: Path) -> None:
    """The validator bites: a field Kubernetes does not know (a typo of readinessProbe) fails --strict."""
    deployment = _by(render("overlays/central-hub"), "Deployment", "nodewatch-worker")
    bad = yaml.safe_load(yaml.safe_dump(deployment))
    container = bad["spec"]["template"]["spec"]["containers"][0]
    container["readinesProbe"] = container.pop("readinessProbe")
    out = tmp_path / "bad.yaml"
    out.write_text(yaml.safe_dump(bad))
    proc = validate(out, KUBERNETES_VERSIONS[-1])
    assert proc.returncode != 0 and "readinesProbe" in proc.stdout + proc.stderr


def _containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [*spec.get("initContainers", []), *spec["containers"]]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_is_locked_down(overlay: str) -> None:
    for where, spec in pod_specs(render(overlay)):
        pod_sc = spec.get("securityContext", {})
        assert not spec.get("hostNetwork") and not spec.get("hostPID") and not spec.get("hostIPC"), where
        assert not [v for v in spec.get("volumes", []) if "hostPath" in v], where
        assert pod_sc.get("seccompProfile", {}).get("type") == "RuntimeDefault", where
        for c in _containers(spec):
            sc = {**pod_sc, **c.get("securityContext", {})}
            name = f"{where} container {c['name']}"
            assert sc.get("runAsNonRoot") is True and sc.get("runAsUser", 0) != 0, f"{name}: may run as root"
            assert c["securityContext"].get("allowPrivilegeEscalation") is False, (
                f"{name}: privilege escalation"
            )
            assert c["securityContext"].get("readOnlyRootFilesystem") is True, f"{name}: writable root fs"
            assert not c["securityContext"].get("privileged"), name
            assert c["securityContext"].get("capabilities", {}).get("drop") == ["ALL"], (
                f"{name}: capabilities"
            )
            limits, requests = c["resources"].get("limits", {}), c["resources"].get("requests", {})
            assert {"cpu", "memory"} <= limits.keys() and {"cpu", "memory"} <= requests.keys(), (
                f"{name}: resources"
            )
            image = c["image"]
            assert ":" in image.rsplit("/", 1)[-1] and not image.endswith(":latest"), f"{name}: image {image}"
            assert c.get("readinessProbe"), f"{name}: no readiness probe"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_no_role_grants_more_than_reading(overlay: str) -> None:
    for d in render(overlay):
        if d["kind"] not in ("Role", "ClusterRole"):
            continue
        for rule in d.get("rules", []):
            name = f"{d['kind']}/{d['metadata']['name']}"
            assert set(rule["verbs"]) <= READ_VERBS, f"{name}: verbs {rule['verbs']}"
            assert "*" not in rule.get("resources", []) and "*" not in rule.get("apiGroups", []), name
            if "secrets" in rule.get("resources", []):
                assert d["kind"] == "Role" and d["metadata"]["namespace"] == HUB_NAMESPACE, (
                    f"{name}: Secrets readable outside the hub's namespace"
                )
            if "nodes/proxy" in rule.get("resources", []):
                assert "kubelet" in overlay, f"{name}: nodes/proxy outside an optional kubelet overlay"


def test_nodes_proxy_is_granted_only_by_the_optional_overlays() -> None:
    def grants(overlay: str) -> bool:
        return any(
            "nodes/proxy" in rule.get("resources", [])
            for d in render(overlay) if d["kind"] == "ClusterRole" for rule in d["rules"]
        )  # fmt: skip

    assert grants("watched-kubelet") and grants("overlays/single-cluster-kubelet")
    assert (
        not grants("watched") and not grants("overlays/single-cluster") and not grants("overlays/central-hub")
    )
    text = (ROOT / "deploy/kubernetes/watched-kubelet/kustomization.yaml").read_text()
    assert "sensitive" in text and "configz" in text


def _by(docs: tuple[dict[str, Any], ...], kind: str, name: str) -> dict[str, Any]:
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"].startswith(name)]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


@pytest.mark.parametrize("overlay", ["overlays/single-cluster", "overlays/central-hub"])
def test_the_hub_is_deployed_as_the_issue_says(overlay: str) -> None:
    docs = render(overlay)
    assert _by(docs, "Namespace", HUB_NAMESPACE)
    worker = _by(docs, "Deployment", "nodewatch-worker")
    assert worker["spec"]["replicas"] >= 2
    pdb = _by(docs, "PodDisruptionBudget", "nodewatch-worker")
    assert (
        pdb["spec"]["selector"]["matchLabels"].items()
        <= worker["spec"]["template"]["metadata"]["labels"].items()
    )
    (wc,) = worker["spec"]["template"]["spec"]["containers"]
    assert wc["args"][:2] == ["nodewatch", "worker"]
    # liveness proves consumption: the heartbeat of the consumer loop, not the PID
    assert wc["livenessProbe"]["exec"]["command"][:3] == ["nodewatch", "health", "--worker"]
    assert wc["readinessProbe"]["exec"]["command"][:3] == ["nodewatch", "health", "--worker"]
    beat = _by(docs, "Deployment", "nodewatch-beat")
    assert beat["spec"]["replicas"] == 1 and beat["spec"]["strategy"]["type"] == "Recreate"
    # the config: a generated ConfigMap mounted as a directory (no subPath: updates reach the pods' file)
    config = _by(docs, "ConfigMap", "nodewatch-config")
    env = _by(docs, "ConfigMap", "nodewatch-env")
    for where, spec in pod_specs(docs):
        for c in _containers(spec):
            assert not [m for m in c.get("volumeMounts", []) if m.get("subPath")], f"{where}: subPath mount"
    config_path = env["data"]["NODEWATCH_CONFIG"]
    mounts = {m["mountPath"]: m["name"] for m in wc["volumeMounts"]}
    volumes = {v["name"]: v for v in worker["spec"]["template"]["spec"]["volumes"]}
    assert volumes[mounts[str(Path(config_path).parent)]]["configMap"]["name"] == config["metadata"]["name"]
    assert Path(config_path).name in config["data"]
    # Redis: AOF on a volume, never evicting
    redis = _by(docs, "StatefulSet", "redis")
    (rc,) = redis["spec"]["template"]["spec"]["containers"]
    args = " ".join(rc["args"])
    assert "--appendonly yes" in args and "--maxmemory-policy noeviction" in args
    (claim,) = redis["spec"]["volumeClaimTemplates"]
    assert {"name": claim["metadata"]["name"], "mountPath": "/data"} in rc["volumeMounts"]
    # Flower and the dashboard: Services, and passwords only from Secrets (no default anywhere)
    flower = _by(docs, "Deployment", "nodewatch-flower")["spec"]["template"]["spec"]["containers"][0]
    (auth,) = [e for e in flower["env"] if e["name"] == "FLOWER_BASIC_AUTH"]
    assert "secretKeyRef" in auth["valueFrom"] and "value" not in auth
    dashboard = _by(docs, "Deployment", "nodewatch-dashboard")["spec"]["template"]["spec"]["containers"][0]
    assert dashboard["args"][:2] == ["nodewatch", "dashboard"]
    assert any("secretRef" in e for e in dashboard["envFrom"])
    assert (
        _by(docs, "Service", "flower") and _by(docs, "Service", "dashboard") and _by(docs, "Service", "redis")
    )
    assert not [d for d in docs if d["kind"] == "Secret"], "a Secret with defaults ships in the manifests"
    assert _by(docs, "NetworkPolicy", "default-deny-ingress")["spec"]["podSelector"] == {}


def _config(overlay: str) -> settings.Settings:
    data = _by(render(overlay), "ConfigMap", "nodewatch-config")["data"]["config.yaml"]
    return settings.parse(yaml.safe_load(data), f"{overlay}/config.yaml", env={})


def test_single_cluster_watches_its_own_cluster_and_the_hub_reads_secrets() -> None:
    single = _config("overlays/single-cluster")
    assert [s.source for s in clusters.registry(single)] == ["in-cluster"]
    assert not [d for d in render("overlays/single-cluster") if d["kind"] in ("Role", "RoleBinding")]
    hub = _config("overlays/central-hub")
    assert hub.hub.enabled and not hub.clusters
    assert _config("overlays/single-cluster-kubelet").collect.disk_stats


def test_the_watched_identity_has_a_token_secret() -> None:
    docs = render("watched")
    sa = _by(docs, "ServiceAccount", "nodewatch-reader")
    token = _by(docs, "Secret", "nodewatch-reader-token")
    assert token["type"] == "kubernetes.io/service-account-token"
    assert token["metadata"]["annotations"]["kubernetes.io/service-account.name"] == sa["metadata"]["name"]
    binding = _by(docs, "ClusterRoleBinding", "nodewatch-reader")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": sa["metadata"]["name"], "namespace": sa["metadata"]["namespace"]}
    ]


@pytest.mark.parametrize(("overlay", "kubelet"), [("watched", False), ("watched-kubelet", True)])
def test_kubeconfig_for_creates_what_the_watched_manifests_hold(overlay: str, kubelet: bool) -> None:
    """`nodewatch cluster kubeconfig-for` and `kubectl apply -k deploy/kubernetes/watched` make the same identity."""
    from worker.clusters import provision

    def shape(d: dict[str, Any]) -> tuple[str, str, str]:
        keep = {k: d[k] for k in ("rules", "roleRef", "subjects", "type") if k in d}
        ann = (d["metadata"].get("annotations") or {}).get("kubernetes.io/service-account.name", "")
        return d["kind"], d["metadata"]["name"], yaml.safe_dump(keep) + ann

    made = {shape(body) for _, body in provision.Identity("kube-system", kubelet_proxy=kubelet).objects()}
    assert made == {shape(d) for d in render(overlay)}


def _nodewatch_commands() -> list[tuple[str, list[str]]]:
    from tests.deploy.test_compose import compose

    found: list[tuple[str, list[str]]] = []
    for overlay in OVERLAYS:
        for where, spec in pod_specs(render(overlay)):
            for c in _containers(spec):
                found += (
                    [(f"{overlay} {where} args", c["args"])] if c.get("args", [""])[0] == "nodewatch" else []
                )
                for probe in ("readinessProbe", "livenessProbe"):
                    cmd = c.get(probe, {}).get("exec", {}).get("command", [])
                    found += [(f"{overlay} {where} {probe}", cmd)] if cmd[:1] == ["nodewatch"] else []
    for name, service in compose()["services"].items():
        if service.get("command", [""])[0] == "nodewatch":
            found.append((f"compose {name}", service["command"]))
        test = service.get("healthcheck", {}).get("test", [])
        if test[1:2] == ["nodewatch"]:
            found.append((f"compose {name} healthcheck", test[1:]))
    return found


def test_every_nodewatch_command_in_the_manifests_and_compose_parses() -> None:
    """What the pods and containers run is a command line nodewatch accepts (dashboard included)."""
    from worker import cli

    commands = _nodewatch_commands()
    assert {argv[1] for _, argv in commands} >= {"worker", "beat", "flower", "dashboard", "health"}
    for where, argv in commands:
        try:
            cli.build_parser().parse_args(argv[1:])
        except SystemExit as exc:
            pytest.fail(f"{where}: `{' '.join(argv)}` is refused by nodewatch's parser (exit {exc.code})")
