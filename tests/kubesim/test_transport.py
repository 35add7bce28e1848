# mypy: disable-error-code="union-attr,index,operator,arg-type,type-var,misc"
"""TLS, faults, many clusters in one process, kubectl, the CLI's lifecycle, Secrets and access reviews."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests
import urllib3
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from kubesim import tlsutil
from kubesim.testing import KubesimProcess
from tests.kubesim.helpers import api_client, raw_get


def test_tls_verified_with_the_generated_ca_and_refused_with_another(kubesim_factory, tmp_path: Path) -> None:
    sim = kubesim_factory(scenario="e2e", tls=True, speed=0)
    assert sim.base_url.startswith("https://")
    api = api_client(sim.kubeconfigs["e2e"])
    assert api.configuration.verify_ssl and api.configuration.ssl_ca_cert
    assert len(client.CoreV1Api(api).list_node().items) == 3
    other_ca, _, _ = tlsutil.make_ca_and_cert(tmp_path / "other")
    conf = client.Configuration(host=api.configuration.host, api_key=dict(api.configuration.api_key))
    conf.ssl_ca_cert = str(other_ca)
    conf.retries = 0
    with pytest.raises(urllib3.exceptions.MaxRetryError) as err:
        client.CoreV1Api(client.ApiClient(conf)).list_node()
    assert isinstance(err.value.reason, urllib3.exceptions.SSLError)
    assert "certificate verify failed" in str(err.value.reason)


def test_faults(kubesim_factory) -> None:
    sim = kubesim_factory(scenario="e2e", speed=0)
    api = api_client(sim.kubeconfigs["e2e"])
    v1 = client.CoreV1Api(api)
    metrics = client.CustomObjectsApi(api)
    sim.control.fault("e2e", "http500")
    with pytest.raises(ApiException) as err:
        v1.list_node()
    assert err.value.status == 500 and json.loads(err.value.body)["reason"] == "InternalError"
    sim.control.clear_faults("e2e")
    sim.control.fault("e2e", "http500", code=429, path="/apis/metrics.k8s.io")
    assert len(v1.list_node().items) == 3
    with pytest.raises(ApiException) as err:
        metrics.list_cluster_custom_object("metrics.k8s.io", "v1beta1", "nodes")
    assert err.value.status == 429 and err.value.headers["Retry-After"] == "1"
    sim.control.clear_faults("e2e")
    sim.control.fault("e2e", "slow", delay_s=0.5)
    started = time.monotonic()
    v1.list_node()
    assert time.monotonic() - started >= 0.5
    sim.control.clear_faults("e2e")
    sim.control.fault("e2e", "hang", path="/api/v1/nodes")
    with pytest.raises(urllib3.exceptions.MaxRetryError) as hung:
        v1.list_node(_request_timeout=0.3)
    assert isinstance(hung.value.reason, urllib3.exceptions.ReadTimeoutError)
    sim.control.clear_faults("e2e")
    sim.control.fault("e2e", "metrics_absent")
    with pytest.raises(ApiException) as err:
        metrics.list_cluster_custom_object("metrics.k8s.io", "v1beta1", "nodes")
    assert err.value.status == 404
    assert "metrics.k8s.io" not in {g.name for g in client.ApisApi(api).get_api_versions().groups}
    sim.control.clear_faults("e2e")
    sim.control.fault("e2e", "unauthorized")
    with pytest.raises(ApiException) as err:
        v1.list_node()
    assert err.value.status == 401
    sim.control.clear_faults("e2e")
    assert len(metrics.list_cluster_custom_object("metrics.k8s.io", "v1beta1", "nodes")["items"]) == 3


def test_many_clusters_on_one_port(kubesim_factory) -> None:
    sim = kubesim_factory(clusters=60, nodes=2, pods_per_node=1, speed=0)
    assert len(sim.kubeconfigs) == 60
    for name in ("sim-01", "sim-33", "sim-60"):
        nodes = client.CoreV1Api(api_client(sim.kubeconfigs[name])).list_node().items
        assert [n.metadata.name for n in nodes] == [f"{name}-pool-1", f"{name}-pool-2"]
    other = api_client(sim.kubeconfigs["sim-02"]).configuration.api_key["BearerToken"]
    conf = client.Configuration(
        host=api_client(sim.kubeconfigs["sim-01"]).configuration.host, api_key={"BearerToken": other}
    )
    with pytest.raises(ApiException) as err:  # one cluster's token is no good for another
        client.CoreV1Api(client.ApiClient(conf)).list_node()
    assert err.value.status == 401


def test_control_api_needs_its_token(kubesim_server: KubesimProcess) -> None:
    assert requests.get(kubesim_server.control_url + "/clock", timeout=5).status_code == 401
    assert kubesim_server.control.t() >= 0


def test_cli_exits_cleanly_on_sigterm(tmp_path: Path) -> None:
    sim = KubesimProcess(scenario="e2e").start()
    assert sim.proc is not None
    sim.proc.send_signal(signal.SIGTERM)
    assert sim.proc.wait(timeout=10) == 0
    sim.stop()


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")
def test_kubectl_get_nodes_wide_and_top(kubesim_factory) -> None:
    sim = kubesim_factory(scenario="e2e", tls=True, speed=0)  # kubectl sends bearer tokens over TLS only
    kc = str(sim.kubeconfigs["e2e"])
    sim.control.set_node("e2e", "e2e-2", cpu=0.5, ready="False")
    wide = subprocess.run(
        ["kubectl", "--kubeconfig", kc, "get", "nodes", "-o", "wide"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert wide.returncode == 0, wide.stderr
    lines = wide.stdout.splitlines()
    assert lines[0].split()[:6] == ["NAME", "STATUS", "ROLES", "AGE", "VERSION", "INTERNAL-IP"]
    assert lines[2].split()[:2] == ["e2e-2", "NotReady"]
    top = subprocess.run(
        ["kubectl", "--kubeconfig", kc, "top", "nodes"], capture_output=True, text=True, timeout=30
    )
    assert top.returncode == 0, top.stderr
    rows = {line.split()[0]: line.split() for line in top.stdout.splitlines()[1:]}
    assert rows["e2e-2"][2] == "50%" and rows["e2e-1"][2] == "20%"
    pods = subprocess.run(
        ["kubectl", "--kubeconfig", kc, "get", "pods", "-A", "-o", "wide"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert pods.returncode == 0 and "NODE" in pods.stdout.splitlines()[0] and "e2e-3" in pods.stdout
    raw = subprocess.run(["kubectl", "--kubeconfig", kc, "get", "--raw", "/api/v1/nodes/e2e-1/proxy/stats/summary"],
                         capture_output=True, text=True, timeout=30)  # fmt: skip
    assert (
        raw.returncode == 0 and json.loads(raw.stdout)["node"]["nodeName"] == "e2e-1"
    )  # --raw drops the path prefix


def test_secrets_and_self_subject_access_review(kubesim_factory) -> None:
    sim = kubesim_factory(scenario="e2e", speed=0)
    api = api_client(sim.kubeconfigs["e2e"])
    v1 = client.CoreV1Api(api)
    rv = v1.list_namespaced_secret("nodewatch").metadata.resource_version
    sim.control.put_secret(
        "e2e", "nodewatch", "cluster-a", {"kubeconfig": "x"}, {"nodewatch.io/kubeconfig": "true"}
    )
    sim.control.put_secret("e2e", "other", "unrelated", {"k": "v"})
    sim.control.delete_secret("e2e", "nodewatch", "cluster-a")
    events = []
    for event in watch.Watch().stream(
        v1.list_namespaced_secret, "nodewatch", resource_version=rv, timeout_seconds=2
    ):
        events.append((event["type"], event["object"].metadata.name))
        if len(events) == 2:
            break
    assert events == [("ADDED", "cluster-a"), ("DELETED", "cluster-a")]
    sim.control.put_secret(
        "e2e", "nodewatch", "cluster-b", {"kubeconfig": "y"}, {"nodewatch.io/kubeconfig": "true"}
    )
    listed = v1.list_namespaced_secret("nodewatch", label_selector="nodewatch.io/kubeconfig=true").items
    assert [s.metadata.name for s in listed] == ["cluster-b"]
    sim.control.set_token_permissions("e2e", deny=["nodes/proxy"])
    authz = client.AuthorizationV1Api(api)
    review = {"spec": {"resourceAttributes": {"verb": "get", "resource": "nodes", "subresource": "proxy"}}}
    assert authz.create_self_subject_access_review(review).status.allowed is False
    review["spec"]["resourceAttributes"]["subresource"] = ""
    assert authz.create_self_subject_access_review(review).status.allowed is True
    assert raw_get(api, "/api/v1/nodes/e2e-1/proxy/stats/summary")[0] == 403
