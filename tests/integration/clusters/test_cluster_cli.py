"""`nodewatch cluster add|list|remove|test` against kubesim and a real Redis (in-process CLI, real HTTP)."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml

from kubesim.testing import KubesimProcess
from worker.state import store as state_store

HUB, NS = "sim-1", "nodewatch"


@pytest.fixture(scope="module")
def sim() -> Iterator[KubesimProcess]:
    with KubesimProcess(clusters=3, nodes=2, pods_per_node=1, speed=0) as proc:
        yield proc


def token_of(kubeconfig: Path) -> str:
    return str(yaml.safe_load(kubeconfig.read_text())["users"][0]["user"]["token"])


def test_cluster_test_says_what_works_and_what_is_missing(
    sim: KubesimProcess, run: Callable[..., tuple[int, str]], write_config: Callable[..., Path]
) -> None:
    cfg = write_config({"clusters": [{"name": "two", "kubeconfig": str(sim.kubeconfigs["sim-2"])}]})
    sim.control.set_token_permissions("sim-2", deny=["nodes/proxy", "metrics.k8s.io"])
    try:
        code, out = run("cluster", "test", "two", "--config", str(cfg))
        assert code == 0, out
        lines = {
            ln.split()[1] + " " + ln.split()[2]: ln.split()[0] for ln in out.splitlines() if "  " in ln[:8]
        }
        assert lines["list nodes"] == "ok" and lines["list pods"] == "ok" and lines["list events"] == "ok"
        assert lines["list nodes.metrics.k8s.io"] == "miss" and lines["get nodes/proxy"] == "miss"
        assert "reachable: API server" in out and "some figures unavailable" in out
        sim.control.set_token_permissions("sim-2", deny=["list:pods"])
        code, out = run("cluster", "test", "two", "--config", str(cfg))
        assert code == 1 and "FAIL  list pods" in out and "scans will fail" in out
        sim.control.fault("sim-2", "unauthorized")
        code, out = run("cluster", "test", "two", "--config", str(cfg))
        assert code == 1 and "credentials rejected (HTTP 401" in out
    finally:
        sim.control.set_token_permissions("sim-2", deny=[])
        sim.control.clear_faults("sim-2")
    assert token_of(sim.kubeconfigs["sim-2"]) not in out


def test_add_list_remove_in_directory_mode(
    sim: KubesimProcess,
    run: Callable[..., tuple[int, str]],
    write_config: Callable[..., Path],
    tmp_path: Path,
    redis_client: redis.Redis,
) -> None:
    d = tmp_path / "clusters"
    cfg = write_config({"clustersDir": str(d)})
    code, out = run(
        "cluster", "add", "prod", "--kubeconfig", str(sim.kubeconfigs["sim-2"]), "--config", str(cfg)
    )
    assert code == 0 and "file" in out and "created" in out, out
    assert stat.S_IMODE((d / "prod.yaml").stat().st_mode) == 0o600
    insecure = yaml.safe_load(sim.kubeconfigs["sim-3"].read_text())
    insecure["clusters"][0]["cluster"]["insecure-skip-tls-verify"] = True
    (tmp_path / "lab.yaml").write_text(yaml.safe_dump(insecure))
    code, out = run("cluster", "add", "lab", "--kubeconfig", str(tmp_path / "lab.yaml"), "--config", str(cfg))
    assert code == 0 and "warning: insecure-skip-tls-verify" in out
    store = state_store.Stores(redis_client).schedule
    store.record_scan("prod", {"started": 1000.0, "ended": 1000.4, "duration_s": 0.4, "lag_s": 0.25,
                               "outcome": "ok", "error": "", "nodes": 2})  # fmt: skip
    code, out = run("cluster", "list", "--config", str(cfg))
    assert code == 0, out
    prod = next(ln for ln in out.splitlines() if ln.startswith("prod "))
    lab = next(ln for ln in out.splitlines() if ln.startswith("lab "))
    assert "directory" in prod and " ok " in prod and " 2 " in prod and "0.2s" in prod, prod
    assert "not scanned yet" in lab and "insecure-skip-tls-verify" in lab
    code, js = run("cluster", "list", "--output", "json", "--config", str(cfg))
    rows = {r["name"]: r for r in json.loads(js)["clusters"]}
    assert rows["prod"]["nodes"] == 2 and rows["prod"]["lag_s"] == 0.25 and rows["prod"]["scans"] == 1
    code, out2 = run("cluster", "remove", "prod", "--config", str(cfg))
    assert code == 0 and not (d / "prod.yaml").exists()
    code, out3 = run("cluster", "remove", "prod", "--config", str(cfg))
    assert code == 1 and "no cluster named prod" in out3
    for text in (out, js, out2):
        assert (
            token_of(sim.kubeconfigs["sim-2"]) not in text and token_of(sim.kubeconfigs["sim-3"]) not in text
        )


def test_add_refuses_exec_plugins_bad_names_and_config_file_clusters(
    sim: KubesimProcess,
    run: Callable[..., tuple[int, str]],
    write_config: Callable[..., Path],
    tmp_path: Path,
) -> None:
    doc: dict[str, Any] = yaml.safe_load(sim.kubeconfigs["sim-2"].read_text())
    doc["users"][0]["user"] = {"exec": {"command": "aws", "args": ["eks", "get-token"]}}
    (tmp_path / "eks.yaml").write_text(yaml.safe_dump(doc))
    cfg = write_config({"clustersDir": str(tmp_path / "d"), "clusters": [{"name": "fixed"}]})
    code, out = run("cluster", "add", "eks", "--kubeconfig", str(tmp_path / "eks.yaml"), "--config", str(cfg))
    assert code == 2 and "exec plugin" in out and "allowExecPlugins" in out
    code, out = run(
        "cluster", "add", "Bad_Name!", "--kubeconfig", str(tmp_path / "eks.yaml"), "--config", str(cfg)
    )
    assert code == 2 and "DNS-style" in out
    code, out = run(
        "cluster", "add", "fixed", "--kubeconfig", str(sim.kubeconfigs["sim-2"]), "--config", str(cfg)
    )
    assert code == 2 and "config file" in out
    code, out = run(
        "cluster", "test", "eks", "--kubeconfig", str(tmp_path / "eks.yaml"), "--config", str(cfg)
    )
    assert code == 2 and "FAIL  kubeconfig" in out and "exec plugin" in out
    assert not (tmp_path / "d").exists()


def test_add_list_test_remove_in_secret_mode_and_a_hub_that_refuses_writes(
    sim: KubesimProcess, run: Callable[..., tuple[int, str]], write_config: Callable[..., Path]
) -> None:
    """The ops team's path: `cluster add` writes a kubeconfig Secret to the hub, every reader of the hub sees the
    cluster, `cluster remove` deletes the Secret. A hub that refuses the write is reported, not a traceback."""
    cfg = write_config({"hub": {"kubeconfig": str(sim.kubeconfigs[HUB]), "namespace": NS}})
    try:
        code, out = run(
            "cluster", "add", "three", "--kubeconfig", str(sim.kubeconfigs["sim-3"]), "--interval", "2m",
            "--labels", "env=stage", "--config", str(cfg),
        )  # fmt: skip
        assert code == 0 and f"cluster three: Secret {NS}/nodewatch-cluster-three created" in out, out
        code, out = run("cluster", "list", "--config", str(cfg))
        row = next(line for line in out.splitlines() if line.startswith("three "))
        assert code == 0 and " secret " in row, out
        code, out = run("cluster", "test", "three", "--config", str(cfg))
        assert code == 0 and f"secret, {NS}/nodewatch-cluster-three" in out, out
        # again: the Secret is replaced, not duplicated
        code, out = run(
            "cluster", "add", "three", "--kubeconfig", str(sim.kubeconfigs["sim-3"]), "--config", str(cfg)
        )
        assert code == 0 and "replaced" in out, out
        code, out = run("cluster", "remove", "three", "--config", str(cfg))
        assert code == 0 and f"Secret {NS}/nodewatch-cluster-three removed" in out, out
        code, out = run("cluster", "list", "--config", str(cfg))
        assert not any(line.startswith("three ") for line in out.splitlines()), out
        sim.control.set_token_permissions(HUB, deny=["create:secrets"])
        code, out = run(
            "cluster", "add", "three", "--kubeconfig", str(sim.kubeconfigs["sim-3"]), "--config", str(cfg)
        )
        assert code == 1 and f"cannot create Secret {NS}/nodewatch-cluster-three: HTTP 403" in out, out
        assert token_of(sim.kubeconfigs["sim-3"]) not in out
    finally:
        sim.control.set_token_permissions(HUB, deny=[])
