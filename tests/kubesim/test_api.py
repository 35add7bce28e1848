# mypy: disable-error-code="union-attr,index,operator,arg-type,type-var,misc"
"""kubesim over real HTTP with the official client: paging, selectors, Table, metrics, summary, errors."""

from __future__ import annotations

import base64
import json

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from kubesim.testing import KubesimProcess
from tests.kubesim.helpers import TABLE, api_client, raw_get


@pytest.fixture(scope="module")
def api(kubesim_server: KubesimProcess) -> client.ApiClient:
    return api_client(kubesim_server.kubeconfigs["test"])


def test_paging_over_1000_nodes(kubesim_factory) -> None:
    sim = kubesim_factory(nodes=1000, pods_per_node=0, speed=0)
    v1 = client.CoreV1Api(api_client(sim.kubeconfigs["sim-1"]))
    names: list[str] = []
    token = None
    pages = 0
    while True:
        page = v1.list_node(limit=100, _continue=token)
        pages += 1
        assert len(page.items) <= 100
        names += [n.metadata.name for n in page.items]
        token = page.metadata._continue
        if not token:
            assert page.metadata.remaining_item_count is None
            break
        assert page.metadata.remaining_item_count == 1000 - len(names)
    assert pages == 10
    assert len(set(names)) == 1000 and names == sorted(names)


def test_label_and_field_selectors_on_nodes(api: client.ApiClient) -> None:
    v1 = client.CoreV1Api(api)
    one = v1.list_node(field_selector="metadata.name=test-2")
    assert [n.metadata.name for n in one.items] == ["test-2"]
    zone_a = v1.list_node(label_selector="topology.kubernetes.io/zone=us-central1-a")
    assert [n.metadata.name for n in zone_a.items] == ["test-1"]
    assert (
        len(
            v1.list_node(
                label_selector="kubernetes.io/os in (linux),!node-role.kubernetes.io/control-plane"
            ).items
        )
        == 3
    )
    assert v1.read_node("test-3").metadata.name == "test-3"
    with pytest.raises(ApiException) as err:
        v1.read_node("missing")
    assert err.value.status == 404


def test_pod_field_selectors(kubesim_factory) -> None:
    sim = kubesim_factory(scenario="e2e", speed=0)
    v1 = client.CoreV1Api(api_client(sim.kubeconfigs["e2e"]))
    on_node = v1.list_pod_for_all_namespaces(field_selector="spec.nodeName=e2e-1")
    assert len(on_node.items) == 5 and {p.spec.node_name for p in on_node.items} == {"e2e-1"}
    evicted = sim.control.evict("e2e", "e2e-1", count=2)
    live = v1.list_pod_for_all_namespaces(field_selector="spec.nodeName=e2e-1,status.phase!=Failed")
    assert len(live.items) == 3 and not {p.metadata.name for p in live.items} & set(evicted)
    pending = sim.control.add_pending_pods("e2e", 2)
    unscheduled = v1.list_pod_for_all_namespaces(field_selector="spec.nodeName=,status.phase=Pending")
    assert sorted(p.metadata.name for p in unscheduled.items) == sorted(pending)
    assert len(v1.list_namespaced_pod("kube-system").items) == 3  # one kube-proxy per node
    with pytest.raises(ApiException) as err:
        v1.list_pod_for_all_namespaces(field_selector="spec.bogus=x")
    assert err.value.status == 400


def test_pod_table_has_node_column(api: client.ApiClient) -> None:
    status, table = raw_get(api, "/api/v1/pods", TABLE, [("limit", 10)])
    assert status == 200 and table["kind"] == "Table" and table["apiVersion"] == "meta.k8s.io/v1"
    columns = [c["name"] for c in table["columnDefinitions"]]
    assert (
        columns[:5] == ["Name", "Ready", "Status", "Restarts", "Age"]
        and "Node" in columns
        and "IP" in columns
    )
    node_i = columns.index("Node")
    assert len(table["rows"]) == 10 and table["metadata"]["continue"]
    for row in table["rows"]:
        assert len(row["cells"]) == len(columns)
        assert row["cells"][node_i] in {"test-1", "test-2", "test-3"}
        assert row["object"]["kind"] == "PartialObjectMetadata"
        assert row["cells"][0] == row["object"]["metadata"]["name"]
    _, rest = raw_get(
        api, "/api/v1/pods", TABLE, [("limit", 100), ("continue", table["metadata"]["continue"])]
    )
    assert len(table["rows"]) + len(rest["rows"]) == 15
    _, bare = raw_get(
        api, "/api/v1/pods", TABLE, [("includeObject", "None"), ("fieldSelector", "spec.nodeName=test-1")]
    )
    assert len(bare["rows"]) == 5 and "object" not in bare["rows"][0]


def test_node_metrics_shape_and_values(kubesim_factory) -> None:
    sim = kubesim_factory(scenario="e2e", speed=0)
    api = api_client(sim.kubeconfigs["e2e"])
    sim.control.set_node("e2e", "e2e-2", cpu=0.5, memory=0.75)
    node = client.CoreV1Api(api).read_node("e2e-2")
    metrics = client.CustomObjectsApi(api)
    listed = metrics.list_cluster_custom_object("metrics.k8s.io", "v1beta1", "nodes")
    assert listed["kind"] == "NodeMetricsList" and len(listed["items"]) == 3
    one = metrics.get_cluster_custom_object("metrics.k8s.io", "v1beta1", "nodes", "e2e-2")
    assert one["window"] == "30s" and one["timestamp"].endswith("Z")
    cpu, mem = one["usage"]["cpu"], one["usage"]["memory"]
    assert cpu.endswith("n") and mem.endswith("Ki")
    alloc_milli = int(node.status.allocatable["cpu"].rstrip("m"))
    alloc_ki = int(node.status.allocatable["memory"].rstrip("Ki"))
    assert int(cpu[:-1]) == pytest.approx(alloc_milli * 1e6 * 0.5, rel=1e-3)
    assert int(mem[:-2]) == pytest.approx(alloc_ki * 0.75, rel=1e-3)
    pods = metrics.list_namespaced_custom_object("metrics.k8s.io", "v1beta1", "kube-system", "pods")
    assert pods["kind"] == "PodMetricsList" and len(pods["items"]) == 3
    assert all(c["usage"]["cpu"].endswith("n") for p in pods["items"] for c in p["containers"])


def test_stats_summary_shape(kubesim_factory) -> None:
    sim = kubesim_factory(scenario="e2e", speed=0)
    api = api_client(sim.kubeconfigs["e2e"])
    sim.control.set_node("e2e", "e2e-3", disk=0.8)
    status, summary = raw_get(api, "/api/v1/nodes/e2e-3/proxy/stats/summary")
    assert status == 200
    node = summary["node"]
    assert node["nodeName"] == "e2e-3"
    for key in ("availableBytes", "usageBytes", "workingSetBytes"):
        assert isinstance(node["memory"][key], int)
    for fs in (node["fs"], node["runtime"]["imageFs"]):
        assert {
            "capacityBytes",
            "usedBytes",
            "availableBytes",
            "inodes",
            "inodesFree",
            "inodesUsed",
        } <= fs.keys()
        assert fs["inodes"] == fs["inodesFree"] + fs["inodesUsed"]
    assert node["fs"]["usedBytes"] / node["fs"]["capacityBytes"] == pytest.approx(0.8, abs=1e-6)
    assert node["fs"]["usedBytes"] + node["fs"]["availableBytes"] == node["fs"]["capacityBytes"]
    assert node["rlimit"]["maxpid"] > node["rlimit"]["curproc"] > 0
    assert len(summary["pods"]) == 5


def test_events_for_failed_scheduling_and_eviction(kubesim_factory) -> None:
    sim = kubesim_factory(scenario="e2e", speed=0)
    v1 = client.CoreV1Api(api_client(sim.kubeconfigs["e2e"]))
    sim.control.add_pending_pods("e2e", 1)
    sim.control.add_pending_pods("e2e", 1, "0/3 nodes are available: 3 Insufficient memory.")
    sim.control.evict("e2e", "e2e-1", 1)
    events = v1.list_event_for_all_namespaces().items
    failed = [e for e in events if e.reason == "FailedScheduling"]
    assert len(failed) == 2 and failed[0].message.startswith("0/3 nodes are available: 3 Insufficient cpu")
    assert failed[1].message == "0/3 nodes are available: 3 Insufficient memory."
    evicted = [e for e in events if e.reason == "Evicted"]
    assert len(evicted) == 1 and evicted[0].type == "Warning" and evicted[0].involved_object.kind == "Pod"
    assert "low on resource: memory" in evicted[0].message
    namespace = evicted[0].metadata.namespace
    assert len(v1.list_namespaced_event(namespace, field_selector="reason=Evicted").items) == 1


def test_401_for_missing_or_wrong_token(kubesim_server: KubesimProcess) -> None:
    host = api_client(kubesim_server.kubeconfigs["test"]).configuration.host
    wrong = client.Configuration(host=host, api_key={"BearerToken": "Bearer wrong-token"})
    with pytest.raises(ApiException) as err:
        client.CoreV1Api(client.ApiClient(wrong)).list_node()
    assert err.value.status == 401 and '"reason":"Unauthorized"' in err.value.body
    with pytest.raises(ApiException) as err:
        client.CoreV1Api(client.ApiClient(client.Configuration(host=host))).list_node()
    assert err.value.status == 401


def test_403_for_a_denied_permission(kubesim_factory) -> None:
    sim = kubesim_factory(scenario="e2e", speed=0)
    api = api_client(sim.kubeconfigs["e2e"])
    sim.control.set_token_permissions("e2e", deny=["nodes/proxy", "metrics.k8s.io"])
    status, body = raw_get(api, "/api/v1/nodes/e2e-1/proxy/stats/summary")
    assert status == 403 and body["reason"] == "Forbidden"
    assert 'cannot get resource "nodes/proxy" in API group ""' in body["message"]
    with pytest.raises(ApiException) as err:
        client.CustomObjectsApi(api).list_cluster_custom_object("metrics.k8s.io", "v1beta1", "nodes")
    assert err.value.status == 403
    assert len(client.CoreV1Api(api).list_node().items) == 3  # the rest stays allowed
    sim.control.set_token_permissions("e2e", deny=[])
    assert raw_get(api, "/api/v1/nodes/e2e-1/proxy/stats/summary")[0] == 200


def test_discovery_and_version(api: client.ApiClient) -> None:
    assert client.VersionApi(api).get_code().git_version.startswith("v1.30")
    groups = client.ApisApi(api).get_api_versions()
    assert {g.name for g in groups.groups} == {
        "metrics.k8s.io",
        "authorization.k8s.io",
        "coordination.k8s.io",
    }
    resources = client.CoreV1Api(api).get_api_resources()
    assert {"nodes", "pods", "events", "nodes/proxy"} <= {r.name for r in resources.resources}


def test_secret_create_replace_delete_answer_like_the_api_server(kubesim_factory) -> None:
    """What `nodewatch cluster add/remove` does to a hub: create, replace (with resourceVersion), delete."""
    sim = kubesim_factory(clusters=1, nodes=1, pods_per_node=0, speed=0)
    v1 = client.CoreV1Api(api_client(sim.kubeconfigs["sim-1"]))
    body = client.V1Secret(
        metadata=client.V1ObjectMeta(name="s1", labels={"a": "b"}, annotations={"note": "x"}),
        string_data={"kubeconfig": "clusters: []"},
    )
    made = v1.create_namespaced_secret("hub", body)
    assert made.metadata.name == "s1" and made.metadata.labels == {"a": "b"}
    assert made.metadata.annotations == {"note": "x"}
    got = v1.read_namespaced_secret("s1", "hub")
    assert base64.b64decode(got.data["kubeconfig"]).decode() == "clusters: []"
    with pytest.raises(ApiException) as err:
        v1.create_namespaced_secret("hub", body)
    assert err.value.status == 409 and json.loads(err.value.body)["reason"] == "AlreadyExists"
    got.data = {"kubeconfig": base64.b64encode(b"clusters: [1]").decode()}
    replaced = v1.replace_namespaced_secret("s1", "hub", got)
    assert int(replaced.metadata.resource_version) > int(got.metadata.resource_version)
    with pytest.raises(ApiException) as err:  # got's resourceVersion is stale now
        v1.replace_namespaced_secret("s1", "hub", got)
    assert err.value.status == 409 and json.loads(err.value.body)["reason"] == "Conflict"
    status = v1.delete_namespaced_secret("s1", "hub")
    assert status["status"] == "Success" and status["details"]["name"] == "s1"  # the client types it "object"
    with pytest.raises(ApiException) as err:
        v1.delete_namespaced_secret("s1", "hub")
    assert err.value.status == 404
    sim.control.set_token_permissions("sim-1", deny=["create:secrets"])
    with pytest.raises(ApiException) as err:
        v1.create_namespaced_secret("hub", body)
    assert (
        err.value.status == 403
        and 'cannot create resource "secrets"' in json.loads(err.value.body)["message"]
    )


def test_configz_answers_like_a_kubelet_with_the_nodes_own_overrides(kubesim_factory) -> None:
    sim = kubesim_factory(scenario="e2e", speed=0)
    api = api_client(sim.kubeconfigs["e2e"])
    status, body = raw_get(api, "/api/v1/nodes/e2e-1/proxy/configz")
    assert status == 200 and set(body) == {"kubeletconfig"}
    config = body["kubeletconfig"]
    assert config["evictionHard"] == {
        "imagefs.available": "15%", "imagefs.inodesFree": "5%", "memory.available": "100Mi",
        "nodefs.available": "10%", "nodefs.inodesFree": "5%",
    }  # fmt: skip
    assert (config["imageGCHighThresholdPercent"], config["imageGCLowThresholdPercent"]) == (85, 80)
    assert config["maxPods"] == 110
    sim.control.set_node(
        "e2e",
        "e2e-1",
        kubelet_config={"evictionHard": {"nodefs.available": "15%"}, "imageGCHighThresholdPercent": 70},
    )
    config = raw_get(api, "/api/v1/nodes/e2e-1/proxy/configz")[1]["kubeletconfig"]
    assert config["evictionHard"]["nodefs.available"] == "15%"
    assert config["evictionHard"]["memory.available"] == "100Mi"  # a deep merge: the rest stays
    assert config["imageGCHighThresholdPercent"] == 70
    assert (
        raw_get(api, "/api/v1/nodes/e2e-2/proxy/configz")[1]["kubeletconfig"]["imageGCHighThresholdPercent"]
        == 85
    )
    sim.control.set_token_permissions("e2e", deny=["nodes/proxy"])
    assert raw_get(api, "/api/v1/nodes/e2e-1/proxy/configz")[0] == 403
    sim.control.set_node("e2e", "e2e-3", ready="Unknown")
    sim.control.set_token_permissions("e2e", deny=[])
    assert raw_get(api, "/api/v1/nodes/e2e-3/proxy/configz")[0] == 503  # the kubelet is down
