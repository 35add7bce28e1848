"""`nodewatch cluster kubeconfig-for` against kubesim over TLS: the read-only identity is created through the API
(ServiceAccount, ClusterRole and binding, a service-account-token Secret the token controller fills), the kubeconfig
written with that token reads nodes and pods and is refused everything else, and a second run changes nothing."""

from __future__ import annotations

import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException

from kubesim.testing import KubesimProcess

HUB, WATCHED, NS = "sim-1", "sim-2", "nodewatch"


@pytest.fixture(scope="module")
def sim() -> Iterator[KubesimProcess]:
    with KubesimProcess(clusters=2, nodes=2, pods_per_node=1, speed=0, tls=True) as proc:
        yield proc


def token_of(kubeconfig: Path) -> str:
    return str(yaml.safe_load(kubeconfig.read_text())["users"][0]["user"]["token"])


def api(kubeconfig: Path) -> k8s_client.ApiClient:
    return k8s_config.new_client_from_config(config_file=str(kubeconfig))


def test_kubeconfig_for_creates_a_read_only_identity_and_writes_its_kubeconfig(
    sim: KubesimProcess,
    run: Callable[..., tuple[int, str]],
    write_config: Callable[..., Path],
    tmp_path: Path,
) -> None:
    admin = sim.kubeconfigs[WATCHED]
    cfg = write_config({"checkInterval": 60})
    out_file = tmp_path / "prod.yaml"
    code, out = run(
        "cluster", "kubeconfig-for", "--context", WATCHED, "--kubeconfig", str(admin), "--name", "prod",
        "--output", str(out_file), "--config", str(cfg),
    )  # fmt: skip
    assert code == 0, out
    for line in ("ServiceAccount kube-system/nodewatch-reader created", "ClusterRole nodewatch-reader created",
                 "ClusterRoleBinding nodewatch-reader created", "Secret kube-system/nodewatch-reader-token created",
                 f"cluster prod: kubeconfig written to {out_file} (mode 0600)"):  # fmt: skip
        assert line in out, out
    assert "nodewatch-kubelet-reader" not in out  # nodes/proxy only when asked
    assert stat.S_IMODE(out_file.stat().st_mode) == 0o600
    doc = yaml.safe_load(out_file.read_text())
    token = token_of(out_file)
    assert token and token != token_of(admin) and token not in out
    assert doc["current-context"] == "prod" and doc["clusters"][0]["cluster"]["server"].endswith(
        f"/clusters/{WATCHED}"
    )
    assert (
        "certificate-authority-data" in doc["clusters"][0]["cluster"]
    )  # the token Secret's ca.crt: TLS verified

    # the objects, as the API serves them
    rbac = k8s_client.RbacAuthorizationV1Api(api(admin))
    role = rbac.read_cluster_role("nodewatch-reader")
    assert {(tuple(r.api_groups), tuple(r.resources), tuple(r.verbs)) for r in role.rules} == {
        (("",), ("nodes", "pods", "events"), ("get", "list", "watch")),
        (("metrics.k8s.io",), ("nodes", "pods"), ("get", "list")),
    }
    binding = rbac.read_cluster_role_binding("nodewatch-reader")
    assert [(s.kind, s.name, s.namespace) for s in binding.subjects] == [
        ("ServiceAccount", "nodewatch-reader", "kube-system")
    ]
    secret = k8s_client.CoreV1Api(api(admin)).read_namespaced_secret("nodewatch-reader-token", "kube-system")
    assert secret.type == "kubernetes.io/service-account-token"
    assert {"token", "ca.crt", "namespace"} <= set(secret.data)

    # the new identity reads what scans read, and nothing else
    reader = k8s_client.CoreV1Api(api(out_file))
    assert len(reader.list_node().items) == 2
    assert reader.list_pod_for_all_namespaces().items
    with pytest.raises(ApiException) as denied:
        reader.list_namespaced_secret("kube-system")
    assert (
        denied.value.status == 403
        and "system:serviceaccount:kube-system:nodewatch-reader" in denied.value.body
    )
    with pytest.raises(ApiException) as denied:
        k8s_client.RbacAuthorizationV1Api(api(out_file)).create_cluster_role(
            {
                "metadata": {"name": "escalate"},
                "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}],
            }
        )
    assert denied.value.status == 403

    code, out = run("cluster", "test", "prod", "--kubeconfig", str(out_file), "--config", str(cfg))
    assert code == 0 and "scans will work" in out and "miss  get nodes/proxy" in out, out
    code, out = run("scan", "--kubeconfig", str(out_file), "--once", "--config", str(cfg))
    assert code in (0, 1) and "cluster prod (cli): 2 node(s)" in out and f"{WATCHED}-pool-2  True" in out, out

    # again, with nodes/proxy: nothing duplicated, the token kept, the kubelet grant added
    code, out = run(
        "cluster", "kubeconfig-for", "--context", WATCHED, "--kubeconfig", str(admin), "--name", "prod",
        "--output", str(out_file), "--kubelet-proxy", "--config", str(cfg),
    )  # fmt: skip
    assert code == 0, out
    assert (
        "ServiceAccount kube-system/nodewatch-reader kept" in out
        and "ClusterRole nodewatch-reader updated" in out
    )
    assert "ClusterRole nodewatch-kubelet-reader created" in out
    assert token_of(out_file) == token
    code, out = run("cluster", "test", "prod", "--kubeconfig", str(out_file), "--config", str(cfg))
    assert code == 0 and "ok    get nodes/proxy" in out, out


def test_kubeconfig_for_stores_the_kubeconfig_in_the_hub(
    sim: KubesimProcess, run: Callable[..., tuple[int, str]], write_config: Callable[..., Path]
) -> None:
    cfg = write_config({"hub": {"kubeconfig": str(sim.kubeconfigs[HUB]), "namespace": NS}})
    code, out = run(
        "cluster", "kubeconfig-for", "--context", WATCHED, "--kubeconfig", str(sim.kubeconfigs[WATCHED]),
        "--name", "edge", "--store-as-secret", "--config", str(cfg),
    )  # fmt: skip
    assert code == 0 and f"cluster edge: hub Secret {NS}/nodewatch-cluster-edge created" in out, out
    code, out = run("cluster", "test", "edge", "--config", str(cfg))
    assert code == 0 and "scans will work" in out, out
    code, out = run("cluster", "list", "--config", str(cfg))
    assert any(line.startswith("edge ") and " secret " in line for line in out.splitlines()), out
    run("cluster", "remove", "edge", "--config", str(cfg))


def test_kubeconfig_for_says_what_is_wrong(
    sim: KubesimProcess,
    run: Callable[..., tuple[int, str]],
    write_config: Callable[..., Path],
    tmp_path: Path,
) -> None:
    cfg = write_config({"checkInterval": 60})
    admin = str(sim.kubeconfigs[WATCHED])
    code, out = run("cluster", "kubeconfig-for", "--context", "nope", "--kubeconfig", admin, "--output",
                    str(tmp_path / "x.yaml"), "--config", str(cfg))  # fmt: skip
    assert code == 3 and "context nope" in out and not (tmp_path / "x.yaml").exists(), out
    code, out = run(
        "cluster", "kubeconfig-for", "--context", WATCHED, "--kubeconfig", admin, "--config", str(cfg)
    )
    assert code == 2 and "give --output FILE, --store-as-secret" in out, out
    code, out = run("cluster", "kubeconfig-for", "--context", WATCHED, "--kubeconfig", admin, "--store-as-secret",
                    "--config", str(cfg))  # fmt: skip
    assert code == 2 and "needs the hub" in out, out
    sim.control.set_token_permissions(WATCHED, deny=["create:clusterroles.rbac.authorization.k8s.io"])
    try:
        code, out = run("cluster", "kubeconfig-for", "--context", WATCHED, "--kubeconfig", admin, "--name", "x",
                        "--output", str(tmp_path / "x.yaml"), "--config", str(cfg))  # fmt: skip
        assert code == 3 and "cannot create ClusterRole nodewatch-reader: HTTP 403" in out, out
        assert not (tmp_path / "x.yaml").exists()
    finally:
        sim.control.set_token_permissions(WATCHED, deny=[])
