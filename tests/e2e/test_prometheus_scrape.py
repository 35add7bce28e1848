"""Acceptance: a real Prometheus (Debian's package; .ci/install-prometheus) scrapes a worker's /metrics
(``nodewatch worker --metrics-port``) while beat and that worker scan kubesim into a real Redis; a PromQL query of
a node gauge through Prometheus's HTTP API returns the value kubesim set."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
import yaml

from tests.configs import immediate
from tests.conftest import Proc
from tests.polling import status, wait

pytestmark = pytest.mark.slow

CLUSTER = "sim-1"
NODE = f"{CLUSTER}-pool-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def prometheus_bin() -> str:
    found = shutil.which("prometheus")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("prometheus is not installed: .ci/run installs it (.ci/install-prometheus)")
        pytest.skip("prometheus not installed (bash .ci/install-prometheus)")
    return found


@pytest.fixture()
def prometheus(prometheus_bin: str, tmp_path: Path) -> Iterator[Callable[[int], str]]:
    procs: list[subprocess.Popen[bytes]] = []

    def start(target_port: int) -> str:
        config = tmp_path / "prometheus.yml"
        config.write_text(
            yaml.safe_dump(
                {
                    "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
                    "scrape_configs": [
                        {
                            "job_name": "nodewatch",
                            "static_configs": [{"targets": [f"127.0.0.1:{target_port}"]}],
                        }
                    ],
                }
            )
        )
        port = free_port()
        log = (tmp_path / "prometheus.log").open("wb")
        procs.append(
            subprocess.Popen(
                [
                    prometheus_bin,
                    f"--config.file={config}",
                    f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        )
        return f"http://127.0.0.1:{port}"

    yield start
    for p in procs:
        p.terminate()
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)


def query(base: str, promql: str) -> list[dict[str, Any]]:
    try:
        got = requests.get(f"{base}/api/v1/query", params={"query": promql}, timeout=5)
    except requests.ConnectionError:
        return []  # still starting
    if got.status_code != 200:
        return []
    return list(got.json()["data"]["result"])


def test_prometheus_scrapes_the_node_gauge_kubesim_set(
    kubesim_factory: Callable[..., Any],
    write_config: Callable[..., Path],
    nodewatch_proc: Callable[..., Proc],
    redis_client: redis.Redis,
    prometheus: Callable[[int], str],
) -> None:
    sim = kubesim_factory(clusters=1, nodes=2, pods_per_node=1)
    sim.control.set_node(CLUSTER, NODE, cpu=0.37, memory=0.55)
    cfg = write_config(
        immediate(
            {
                "checkInterval": 2,
                "dispatchTick": 1,
                "language": "en",
                "clusters": [{"name": CLUSTER, "kubeconfig": str(sim.kubeconfigs[CLUSTER])}],
            }
        )  # fmt: skip
    )
    metrics_port = free_port()
    nodewatch_proc("worker", "--concurrency", "2", "--hostname", "w1@%h", "--metrics-port", str(metrics_port),
                   config=cfg, ready="ready.")  # fmt: skip
    nodewatch_proc("beat", config=cfg)
    wait(lambda: status(redis_client, CLUSTER).get("outcome") == "ok", 60, "a first scan of the cluster")
    base = prometheus(metrics_port)
    promql = f'nodewatch_node_cpu_usage_ratio{{cluster="{CLUSTER}",node="{NODE}"}}'
    (series,) = wait(lambda: query(base, promql), 60, f"Prometheus answering {promql}", every=0.5)
    assert series["metric"]["job"] == "nodewatch"  # (an empty node_group label is no label in Prometheus)
    assert float(series["value"][1]) == pytest.approx(0.37, abs=0.002)
    # the watchdog's figure: every cluster's last scan time, fresh
    (last,) = wait(lambda: query(base, f'time() - nodewatch_last_scan_timestamp{{cluster="{CLUSTER}"}}'), 30,
                   "nodewatch_last_scan_timestamp in Prometheus", every=0.5)  # fmt: skip
    assert float(last["value"][1]) < 30
