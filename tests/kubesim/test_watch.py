# mypy: disable-error-code="union-attr,index,operator,arg-type,type-var,misc"
"""Watch streams, 410 Gone for expired resourceVersions and continue tokens, bookmarks."""

from __future__ import annotations

import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from tests.kubesim.helpers import api_client


def test_watch_sees_a_change_after_the_list(kubesim_factory) -> None:
    sim = kubesim_factory(scenario="e2e", speed=0)
    v1 = client.CoreV1Api(api_client(sim.kubeconfigs["e2e"]))
    rv = v1.list_node().metadata.resource_version
    sim.control.set_node("e2e", "e2e-2", ready="False")
    sim.control.remove_node("e2e", "e2e-3")
    events = []
    for event in watch.Watch().stream(v1.list_node, resource_version=rv, timeout_seconds=2):
        events.append((event["type"], event["object"].metadata.name))
        if len(events) == 2:
            break
    assert events == [("MODIFIED", "e2e-2"), ("DELETED", "e2e-3")]


def test_watch_from_now_streams_initial_objects_then_changes(kubesim_factory) -> None:
    sim = kubesim_factory(scenario="e2e", speed=0)
    v1 = client.CoreV1Api(api_client(sim.kubeconfigs["e2e"]))
    stream = watch.Watch().stream(v1.list_node, timeout_seconds=5)
    initial = [next(stream) for _ in range(3)]
    assert [(e["type"], e["object"].metadata.name) for e in initial] == [
        ("ADDED", "e2e-1"), ("ADDED", "e2e-2"), ("ADDED", "e2e-3"),
    ]  # fmt: skip
    sim.control.set_node("e2e", "e2e-1", taints=[{"key": "dedicated", "value": "db", "effect": "NoSchedule"}])
    event = next(stream)
    assert event["type"] == "MODIFIED" and event["object"].spec.taints[0].key == "dedicated"
    stream.close()


def test_watch_with_a_stale_resource_version_gets_410(kubesim_factory) -> None:
    sim = kubesim_factory(scenario="e2e", speed=0)
    v1 = client.CoreV1Api(api_client(sim.kubeconfigs["e2e"]))
    rv = v1.list_node().metadata.resource_version
    sim.control.compact("e2e")
    with pytest.raises(ApiException) as err:
        for _ in watch.Watch().stream(v1.list_node, resource_version=rv, timeout_seconds=2):
            pass
    assert err.value.status == 410


def test_expired_continue_token_gets_410(kubesim_factory) -> None:
    sim = kubesim_factory(scenario="e2e", speed=0)
    v1 = client.CoreV1Api(api_client(sim.kubeconfigs["e2e"]))
    token = v1.list_pod_for_all_namespaces(limit=4).metadata._continue
    assert token
    assert len(v1.list_pod_for_all_namespaces(limit=100, _continue=token).items) == 11
    sim.control.compact("e2e")
    with pytest.raises(ApiException) as err:
        v1.list_pod_for_all_namespaces(limit=4, _continue=token)
    assert err.value.status == 410 and '"reason":"Expired"' in err.value.body


def test_bookmarks_when_asked(kubesim_factory) -> None:
    sim = kubesim_factory(scenario="e2e", speed=0, extra_args=["--bookmark-interval", "0.2"])
    v1 = client.CoreV1Api(api_client(sim.kubeconfigs["e2e"]))
    rv = v1.list_node().metadata.resource_version
    w = watch.Watch()
    kinds = []
    for event in w.stream(v1.list_node, resource_version=rv, allow_watch_bookmarks=True, timeout_seconds=3):
        kinds.append(event["type"])
        break
    assert kinds == ["BOOKMARK"] and int(w.resource_version) >= int(rv)


def test_pod_watch_filtered_by_node(kubesim_factory) -> None:
    sim = kubesim_factory(scenario="e2e", speed=0)
    v1 = client.CoreV1Api(api_client(sim.kubeconfigs["e2e"]))
    rv = v1.list_pod_for_all_namespaces().metadata.resource_version
    sim.control.add_pods("e2e", "e2e-1", 1)
    added = sim.control.add_pods("e2e", "e2e-2", 2)
    seen = []
    for event in watch.Watch().stream(
        v1.list_pod_for_all_namespaces,
        resource_version=rv,
        field_selector="spec.nodeName=e2e-2",
        timeout_seconds=2,
    ):
        seen.append(event["object"].metadata.name)
        if len(seen) == 2:
            break
    assert seen == added
