"""Many clusters on real parts: Secrets on a kubesim "hub", real Redis, real `nodewatch worker` and `beat`.

Clusters are added and removed while everything runs (no restart), a 401 cluster becomes one "credentials
rejected" alert, an exec-plugin kubeconfig is refused with its reason, and a hung API server does not delay the
other clusters. Waits are polls with deadlines on scan records and received messages.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml

from chatsim.testing import ChatSim
from kubesim.testing import KubesimProcess
from tests.configs import immediate
from tests.conftest import Proc, start_worker
from tests.polling import status, wait
from worker.state.store import Stores

pytestmark = pytest.mark.slow

HUB, NS = "sim-1", "nodewatch"
LABEL = {"nodewatch.io/cluster": "true"}
SLACK_TOKEN = "clustersE2eSlackToken0001"


@pytest.fixture()
def sim(kubesim_factory: Callable[..., KubesimProcess]) -> KubesimProcess:
    s = kubesim_factory(clusters=4, nodes=2, pods_per_node=0)
    for c in ("sim-2", "sim-3", "sim-4"):
        for i in (1, 2):
            s.control.set_node(c, f"{c}-pool-{i}", cpu=0.2, memory=0.2, ready="True")
    return s


@pytest.fixture()
def chat() -> Iterator[ChatSim]:
    with ChatSim() as c:
        yield c


def base_config(sim: KubesimProcess, chat: ChatSim, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "checkInterval": 2,
        "dispatchTick": 0.5,
        "alertCooldown": 60,
        "language": "en",
        "scanFailuresBeforeAlert": 2,
        "collect": {"requestTimeout": 1.5},
        "notify": {"minRetryDelay": 0.5, "maxRetryDelay": 2},
        "hub": {"kubeconfig": str(sim.kubeconfigs[HUB]), "namespace": NS},
        "slack": {"webhookURL": chat.slack_url(SLACK_TOKEN)},
    }
    data.update(extra)
    return immediate(data)


def history(r: redis.Redis, cluster: str) -> list[dict[str, Any]]:
    return Stores(r).schedule.scan_history(cluster)


def texts(chat: ChatSim) -> list[str]:
    return [json.dumps(m["body"], ensure_ascii=False) for m in chat.messages("slack")]


def start(nodewatch_proc: Callable[..., Proc], cfg: Path) -> None:
    start_worker(nodewatch_proc, cfg, concurrency=3)
    nodewatch_proc("beat", config=cfg)


def put(sim: KubesimProcess, name: str, cluster: str) -> None:
    text = sim.kubeconfigs[cluster].read_text()
    sim.control.put_secret(HUB, NS, f"nodewatch-cluster-{name}", {"kubeconfig": text}, LABEL)


def test_secret_cluster_added_scanned_then_removed_and_its_alert_closed(
    sim: KubesimProcess,
    chat: ChatSim,
    write_config: Callable[..., Path],
    nodewatch_proc: Callable[..., Proc],
    redis_client: redis.Redis,
) -> None:
    put(sim, "three", "sim-3")  # present from the start: once it is scanned, everything is up
    cfg = write_config(base_config(sim, chat))
    start(nodewatch_proc, cfg)
    wait(lambda: status(redis_client, "three").get("outcome") == "ok", 30, "first cluster scanned")
    put(sim, "two", "sim-2")
    t0 = time.time()
    wait(lambda: status(redis_client, "two").get("outcome") == "ok", 15, "added cluster scanned")
    assert time.time() - t0 < 2 + 0.5 + 1  # within one interval (+ one dispatch tick, + the scan itself)
    assert status(redis_client, "two")["nodes"] == "2"
    sim.control.set_node("sim-2", "sim-2-pool-1", ready="False")
    chat.wait_for(1, "slack", timeout=30)
    assert "sim-2-pool-1" in texts(chat)[0]
    sim.control.delete_secret(HUB, NS, "nodewatch-cluster-two")
    chat.wait_for(2, "slack", timeout=30)
    resolved = texts(chat)[1]
    assert "sim-2-pool-1" in resolved and "the cluster was removed" in resolved, resolved
    assert "Ready again" not in resolved, resolved  # it did not recover: its cluster went away
    assert Stores(redis_client).alerts.load("two") == {}
    n = int(status(redis_client, "two").get("scans", 0))  # the forget task deletes a removed cluster's record
    time.sleep(5)  # a negative: two and a half intervals in which no scan may happen
    assert int(status(redis_client, "two").get("scans", 0)) == n
    assert len(chat.messages("slack")) == 2


def test_401_cluster_is_one_credentials_rejected_alert_then_one_recovery(
    sim: KubesimProcess,
    chat: ChatSim,
    write_config: Callable[..., Path],
    nodewatch_proc: Callable[..., Proc],
    redis_client: redis.Redis,
) -> None:
    put(sim, "three", "sim-3")
    sim.control.set_node("sim-3", "sim-3-pool-2", cpu=0.97)  # a node alert that must not "resolve" meanwhile
    cfg = write_config(base_config(sim, chat))
    start(nodewatch_proc, cfg)
    chat.wait_for(1, "slack", timeout=30)
    sim.control.fault("sim-3", "unauthorized")
    chat.wait_for(2, "slack", timeout=30)
    alert = texts(chat)[1]
    assert "credentials" in alert.lower() and "three" in alert, alert
    assert status(redis_client, "three")["outcome"] == "credentials_rejected"
    seen = int(status(redis_client, "three")["scans"])
    wait(lambda: int(status(redis_client, "three")["scans"]) >= seen + 3, 20, "failing scans go on")
    assert len(chat.messages("slack")) == 2  # one alert, no repeat, no false "cpu resolved"
    sim.control.clear_faults("sim-3")
    chat.wait_for(3, "slack", timeout=30)
    recovered = texts(chat)[2]
    assert "RESOLVED" in recovered.upper() and "sim-3-pool-2" not in recovered, recovered


def test_hung_cluster_does_not_delay_the_others_and_exec_plugin_is_refused(
    sim: KubesimProcess,
    chat: ChatSim,
    write_config: Callable[..., Path],
    nodewatch_proc: Callable[..., Proc],
    redis_client: redis.Redis,
    tmp_path: Path,
) -> None:
    d = tmp_path / "clusters"
    d.mkdir()
    for c in ("sim-2", "sim-3", "sim-4"):
        (d / f"{c}.yaml").write_text(sim.kubeconfigs[c].read_text())
    marker = tmp_path / "plugin-ran"
    exec_doc = yaml.safe_load(sim.kubeconfigs["sim-2"].read_text())
    exec_doc["users"][0]["user"] = {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1",
                                             "command": "/bin/sh", "args": ["-c", f"touch {marker}"]}}  # fmt: skip
    (d / "eks.yaml").write_text(yaml.safe_dump(exec_doc))
    sim.control.fault("sim-4", "hang", max_s=120)
    cfg = write_config(base_config(sim, chat, clustersDir=str(d), hub={"secrets": False}))
    start(nodewatch_proc, cfg)
    t0 = time.time()
    wait(
        lambda: all(int(status(redis_client, c).get("scans", 0)) >= 5 for c in ("sim-2", "sim-3")),
        40,
        "scans",
    )
    for c in ("sim-2", "sim-3"):
        recent = [h for h in history(redis_client, c) if h["started"] > t0 + 3]  # after worker warm-up
        assert recent and all(h["outcome"] == "ok" for h in recent)
        assert max(h["lag_s"] for h in recent) < 2.0, (
            c,
            [h["lag_s"] for h in recent],
        )  # never an interval late
    hung = wait(lambda: status(redis_client, "sim-4").get("outcome"), 20, "hung cluster recorded")
    # cut at collect.requestTimeout (1.5 s, inside the 2 s scan budget); the record names host:port and cause
    assert hung == "unreachable", status(redis_client, "sim-4")
    host_port = sim.base_url.split("//", 1)[1]
    assert f"{host_port}: no answer in time" in status(redis_client, "sim-4")["error"]
    eks = wait(lambda: status(redis_client, "eks"), 20, "exec cluster recorded")
    assert (
        eks["outcome"] == "config_error"
        and "exec plugin" in eks["error"]
        and "allowExecPlugins" in eks["error"]
    )
    assert not marker.exists()
    sim.control.clear_faults("sim-4")
