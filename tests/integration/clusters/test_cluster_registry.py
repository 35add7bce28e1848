"""The cluster registry against a real kubesim "hub" serving Secrets: sources merged, watch applied, failures kept.

kubesim's cluster ``sim-1`` plays the hub (its Secret API holds kubeconfig Secrets); ``sim-2``/``sim-3`` are the
watched clusters. No HTTP layer is mocked.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml

from kubesim.testing import KubesimError, KubesimProcess
from tests.configs import immediate
from worker import clusters, settings
from worker.clusters import kubeconfig, secrets
from worker.pipeline import run_scan
from worker.state.store import Stores

HUB, NS = "sim-1", "nodewatch"
LABEL = {"nodewatch.io/cluster": "true"}


@pytest.fixture(scope="module")
def sim() -> Iterator[KubesimProcess]:
    with KubesimProcess(clusters=3, nodes=2, pods_per_node=1, speed=0) as proc:
        yield proc


@pytest.fixture()
def hub(sim: KubesimProcess) -> Iterator[KubesimProcess]:
    yield sim
    for name in ("nodewatch-cluster-prod", "nodewatch-cluster-stage", "broken", "nodewatch-cluster-bad-name",
                 "nodewatch-cluster-annotated"):  # fmt: skip
        try:
            sim.control.delete_secret(HUB, NS, name)
        except KubesimError:  # absent: nothing to clean
            pass
    sim.control.clear_faults(HUB)


def cfg_for(sim: KubesimProcess, **extra: Any) -> settings.Settings:
    hub = {"kubeconfig": str(sim.kubeconfigs[HUB]), "namespace": NS} | extra.pop("hub", {})
    return settings.parse({"hub": hub, **extra}, env={})


def wait_for(pred: Callable[[], Any], timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = pred()
        if got:
            return got
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def put(sim: KubesimProcess, name: str, cluster: str, **data: str) -> None:
    sim.control.put_secret(HUB, NS, name, {"kubeconfig": sim.kubeconfigs[cluster].read_text(), **data}, LABEL)


def test_secret_added_changed_removed_seen_through_one_list_and_a_watch(hub: KubesimProcess) -> None:
    cfg = cfg_for(hub, hub={"labelSelector": "nodewatch.io/cluster=true", "resyncSeconds": 3600})
    assert clusters.registry(cfg) == []  # the hub is configured: no in-cluster fallback
    src = secrets.source(cfg.hub, False)
    lists = src.lists
    put(hub, "nodewatch-cluster-prod", "sim-2")
    spec = wait_for(lambda: clusters.find(cfg, "prod"))
    assert spec.source == "secret" and spec.origin == f"{NS}/nodewatch-cluster-prod"
    assert spec.kubeconfig_text and "kubeconfig_text" not in repr(spec)  # held, never shown
    api1 = clusters.api_client(spec)
    assert clusters.api_client(spec) is api1  # cached while the Secret is unchanged
    # changed Secret (now pointing at sim-3): a new version, a new client, the other cluster's nodes
    put(hub, "nodewatch-cluster-prod", "sim-3")
    changed = wait_for(lambda: (s := clusters.find(cfg, "prod")) and s.version != spec.version and s)
    api2 = clusters.api_client(changed)
    assert api2 is not api1
    from kubernetes.client import CoreV1Api

    names = {n.metadata.name for n in CoreV1Api(api2).list_node().items if n.metadata}
    assert names == {"sim-3-pool-1", "sim-3-pool-2"}
    hub.control.delete_secret(HUB, NS, "nodewatch-cluster-prod")
    wait_for(lambda: clusters.find(cfg, "prod") is None)
    assert src.lists == lists + (0 if lists else 1)  # every change came through the watch, not a re-list


def test_unlabelled_and_broken_secrets(hub: KubesimProcess) -> None:
    cfg = cfg_for(hub, hub={"watch": False})
    hub.control.put_secret(HUB, NS, "nodewatch-cluster-stage", {"kubeconfig": "x"}, {})  # no label: not ours
    hub.control.put_secret(HUB, NS, "broken", {"context": "a"}, LABEL)
    hub.control.put_secret(HUB, NS, "nodewatch-cluster-bad-name", {"kubeconfig": "x"}, LABEL)
    reg = clusters.load(cfg)
    assert [s.name for s in reg.specs] == ["bad-name"]  # its kubeconfig fails at client build, not here
    assert any("broken" in p and "no data key 'kubeconfig'" in p for p in reg.problems), reg.problems
    with pytest.raises(clusters.ClusterConfigError, match="bad-name: kubeconfig has no clusters"):
        clusters.api_client(reg.specs[0])


def test_hub_failure_keeps_the_last_good_list_and_never_reads_as_empty(hub: KubesimProcess) -> None:
    cfg = cfg_for(hub, hub={"watch": False, "namespace": "nw-failure"})
    hub.control.put_secret(
        HUB, "nw-failure", "nodewatch-cluster-prod", {"kubeconfig": "clusters: [x]"}, LABEL
    )
    try:
        assert [s.name for s in clusters.registry(cfg)] == ["prod"]
        hub.control.fault(HUB, "unauthorized")
        reg = clusters.load(cfg)
        assert reg.stale and [s.name for s in reg.specs] == ["prod"]
        fresh = settings.parse({"hub": {**cfg.hub.model_dump(by_alias=True), "requestTimeout": 2.5}}, env={})
        with pytest.raises(clusters.ClusterSourceError, match="HTTP 401"):
            clusters.load(fresh)  # a process that never read the hub: an error, not "no clusters"
    finally:
        hub.control.clear_faults(HUB)
        hub.control.delete_secret(HUB, "nw-failure", "nodewatch-cluster-prod")


def test_annotations_give_name_display_interval_labels_profile() -> None:
    def b64(s: str) -> str:
        return base64.b64encode(s.encode()).decode()

    obj = {
        "metadata": {
            "name": "anything",
            "namespace": NS,
            "resourceVersion": "7",
            "annotations": {
                "nodewatch.io/name": "prod-eu",
                "nodewatch.io/display-name": "Production EU",
                "nodewatch.io/interval": "2m",
                "nodewatch.io/labels": "env=prod, region=eu-west-1,team=payments",
                "nodewatch.io/threshold-profile": "strict",
            },
        },
        "data": {"kubeconfig": b64("clusters: []"), "context": b64("admin@prod\n")},
    }
    c = secrets.from_secret(obj)
    assert (c.name, c.display_name, c.interval, c.context, c.threshold_profile) == (
        "prod-eu", "Production EU", 120.0, "admin@prod", "strict"
    )  # fmt: skip
    assert c.labels == {"env": "prod", "region": "eu-west-1", "team": "payments"}
    obj["metadata"]["annotations"]["nodewatch.io/interval"] = "soon"  # type: ignore[index]
    with pytest.raises(ValueError, match="anything: not a duration"):
        secrets.from_secret(obj)


def test_annotated_secret_reaches_the_rules_through_list_and_watch(
    hub: KubesimProcess, redis_client: redis.Redis
) -> None:
    """The annotations of a Secret added at run time name the cluster, set its interval and labels, and pick
    the threshold profile that a scan of that cluster then uses."""
    cfg = settings.parse(
        immediate({"hub": {"kubeconfig": str(hub.kubeconfigs[HUB]), "namespace": NS},
                   "thresholdProfiles": {"strict": {"cpuWarning": 50, "cpuCritical": 95}}}),
        env={},
    )  # fmt: skip
    assert clusters.registry(cfg) == []
    annotations = {
        "nodewatch.io/name": "payments-eu",
        "nodewatch.io/interval": "2m",
        "nodewatch.io/labels": "env=prod,team=payments",
        "nodewatch.io/threshold-profile": "strict",
    }
    kc = hub.kubeconfigs["sim-2"].read_text()
    hub.control.put_secret(HUB, NS, "nodewatch-cluster-annotated", {"kubeconfig": kc}, LABEL, annotations)
    spec = wait_for(lambda: clusters.find(cfg, "payments-eu"))
    assert (spec.interval, spec.labels, spec.threshold_profile) == (
        120.0, {"env": "prod", "team": "payments"}, "strict"
    )  # fmt: skip
    hub.control.set_node("sim-2", "sim-2-pool-1", cpu=0.6, memory=0.2, ready="True")
    hub.control.set_node("sim-2", "sim-2-pool-2", cpu=0.2, memory=0.2, ready="True")
    hub.control.advance(20)  # past metrics-server's next scrape
    result = run_scan(Stores(redis_client), cfg, spec, time.time())
    hot = {(f.node, f.rule): f for f in result.findings if f.severity is not None and f.rule == "cpu_usage"}
    # 60 % is below the default warning (70) but above the profile's (50)
    assert set(hot) == {("sim-2-pool-1", "cpu_usage")} and hot[("sim-2-pool-1", "cpu_usage")].threshold == 50
    sent = result.messages
    assert [(n.cluster, n.node, n.rule) for n in sent if n] == [("payments-eu", "sim-2-pool-1", "cpu_usage")]


def test_sources_merge_config_first_then_directory_then_secrets(hub: KubesimProcess, tmp_path: Path) -> None:
    d = tmp_path / "clusters"
    d.mkdir()
    (d / "stage.yaml").write_text(hub.kubeconfigs["sim-2"].read_text())
    (d / "prod.yaml").write_text(hub.kubeconfigs["sim-2"].read_text())
    (d / "Bad Name.yaml").write_text("x")
    (d / "..data").mkdir()  # a mounted Secret volume's bookkeeping: ignored
    put(hub, "nodewatch-cluster-prod", "sim-3")
    cfg = cfg_for(
        hub,
        hub={"watch": False},
        clustersDir=str(d),
        clusters=[{"name": "stage", "kubeconfig": str(hub.kubeconfigs["sim-3"]), "interval": 5}],
    )
    reg = clusters.load(cfg)
    got = {s.name: (s.source, s.interval) for s in reg.specs}
    assert got == {"stage": ("config", 5.0), "prod": ("directory", 60.0)}
    assert any("stage" in p and "already given by config file" in p for p in reg.problems)
    assert any("prod" in p and "nodewatch-cluster-prod" in p for p in reg.problems)
    assert any("Bad Name" in p for p in reg.problems)
    missing = cfg_for(hub, hub={"secrets": False}, clustersDir=str(tmp_path / "not-mounted"))
    with pytest.raises(clusters.ClusterSourceError, match="does not exist"):
        clusters.load(missing)


EXEC_KUBECONFIG = {
    "apiVersion": "v1",
    "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1", "insecure-skip-tls-verify": True}}],
    "users": [{"name": "eks-user", "user": {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1",
                                                      "command": "/bin/sh", "args": ["-c", "touch MARKER"]}}}],
    "contexts": [{"name": "c", "context": {"cluster": "c", "user": "eks-user"}}],
    "current-context": "c",
}  # fmt: skip


def test_exec_plugin_refused_with_its_reason_and_insecure_tls_warned(tmp_path: Path) -> None:
    marker = tmp_path / "plugin-ran"
    doc = yaml.safe_dump(EXEC_KUBECONFIG).replace("MARKER", str(marker))
    path = tmp_path / "eks.yaml"
    path.write_text(doc)
    spec = clusters.ClusterSpec("eks", 60, str(path))
    with pytest.raises(clusters.ClusterConfigError) as err:
        clusters.api_client(spec)
    msg = str(err.value)
    assert "eks-user" in msg and "exec plugin" in msg and "allowExecPlugins" in msg
    assert "touch" not in msg and "/bin/sh" not in msg
    ws = clusters.warnings(spec)
    assert any("insecure-skip-tls-verify" in w for w in ws) and any("exec plugin" in w for w in ws)
    assert not marker.exists()  # refused before anything ran
    clusters.api_client(spec, allow_exec=True)  # allowed on request: the client runs the command
    assert marker.exists()


def test_kubeconfig_errors_never_echo_the_file(tmp_path: Path) -> None:
    token = "tok-" + "s3cr3t" * 4
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"clusters: [{{name: c, cluster: {{server: x}}}}]\nusers: [{{name: u, user: {{token: {token}}}}}]\n"
                   "contexts: [{name: c, context: {cluster: c, user: nobody}}]\ncurrent-context: c\n")  # fmt: skip
    spec = clusters.ClusterSpec("bad", 60, str(bad), context="missing")
    with pytest.raises(clusters.ClusterConfigError) as err:
        clusters.api_client(spec)
    assert token not in str(err.value)
    assert clusters.warnings(spec) == ["context 'missing' not found in kubeconfig"]
    assert kubeconfig.digest("a", None, False) != kubeconfig.digest("a", "ctx", False)
