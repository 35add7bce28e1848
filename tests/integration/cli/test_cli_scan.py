"""``nodewatch scan`` as a user runs it (a subprocess) against kubesim, with no Redis anywhere: every configured
cluster or one, named as configured, judged with its threshold profile, and an exit code a script can use."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubesim.testing import KubesimProcess
from tests.conftest import NODEWATCH, ROOT
from worker import localredis

PROD, STAGE = "sim-1", "sim-2"


@pytest.fixture(scope="module")
def sim() -> Iterator[KubesimProcess]:
    with KubesimProcess(clusters=2, nodes=3, pods_per_node=0, speed=0) as proc:
        for cluster in (PROD, STAGE):
            for i in (1, 2, 3):
                proc.control.set_node(cluster, f"{cluster}-pool-{i}", cpu=0.3, memory=0.2, ready="True")
        proc.control.set_node(PROD, f"{PROD}-pool-1", cpu=0.97)
        proc.control.advance(20)  # past metrics-server's next scrape
        yield proc


@pytest.fixture()
def config(sim: KubesimProcess, write_config: Callable[..., Path]) -> Path:
    return write_config(
        {
            "clusters": [
                {"name": "prod-eu", "kubeconfig": str(sim.kubeconfigs[PROD])},
                {"name": "stage", "kubeconfig": str(sim.kubeconfigs[STAGE]), "thresholdProfile": "strict"},
            ],
            "thresholdProfiles": {"strict": {"cpuWarning": 20}},
        }
    )


def scan(*argv: str) -> subprocess.CompletedProcess[str]:
    # nothing listens on this Redis: a scan must not need one
    env = dict(os.environ, REDIS_URL=f"redis://127.0.0.1:{localredis.free_port()}/0")
    env.pop("NODEWATCH_CONFIG", None)
    return subprocess.run(
        [NODEWATCH, "scan", *argv], env=env, capture_output=True, text=True, timeout=90, cwd=ROOT
    )


def findings(doc: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(row["node"], f["rule"], f["severity"]) for row in doc["nodes"] for f in row["findings"]}


def test_every_configured_cluster_by_its_name_and_exit_1_on_a_critical_finding(config: Path) -> None:
    out = scan("--config", str(config), "-o", "json")
    assert out.returncode == 1, out.stderr
    docs = {d["cluster"]: d for d in json.loads(out.stdout)["clusters"]}
    assert set(docs) == {"prod-eu", "stage"}
    assert (f"{PROD}-pool-1", "cpu_usage", "critical") in findings(docs["prod-eu"])
    # stage's profile puts the warning line at 20 %: its 30 % nodes warn; prod-eu's defaults do not
    assert {(n, r, s) for n, r, s in findings(docs["stage"])} == {
        (f"{STAGE}-pool-{i}", "cpu_usage", "warning") for i in (1, 2, 3)
    }
    assert (f"{PROD}-pool-2", "cpu_usage", "warning") not in findings(docs["prod-eu"])

    table = scan("--config", str(config))
    assert table.returncode == 1
    assert "cluster prod-eu (config): 3 node(s)" in table.stdout and "cluster stage (config)" in table.stdout
    assert f"critical {PROD}-pool-1:" in " ".join(table.stdout.split())


def test_one_cluster_by_name_and_exit_0_without_critical(config: Path) -> None:
    out = scan("--config", str(config), "--cluster", "stage", "--output", "yaml")
    assert out.returncode == 0, out.stderr
    doc = yaml.safe_load(out.stdout)
    assert doc["cluster"] == "stage" and len(doc["nodes"]) == 3 and "critical" not in out.stdout
    wide = scan("--config", str(config), "--cluster", "stage", "-o", "wide")
    assert wide.returncode == 0 and wide.stdout.splitlines()[1].split()[-5:] == [
        "PODS%", "CPU-LIM%", "MEM-LIM%", "INODES%", "IMAGEFS%"
    ], wide  # fmt: skip


def test_an_ad_hoc_kubeconfig_is_named_by_its_context_or_name(sim: KubesimProcess) -> None:
    out = scan("--kubeconfig", str(sim.kubeconfigs[STAGE]), "-o", "json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["cluster"] == STAGE  # kubesim's context is named after its cluster
    out = scan("--kubeconfig", str(sim.kubeconfigs[PROD]), "--name", "lab", "-o", "json")
    assert out.returncode == 1 and json.loads(out.stdout)["cluster"] == "lab"


def test_bad_usage_and_config_exit_2_in_one_line(config: Path, tmp_path: Path) -> None:
    for argv, said in (
        (
            ["--config", str(config), "--cluster", "nosuch"],
            "no cluster named nosuch (configured: prod-eu, stage)",
        ),
        (["--kubeconfig", str(tmp_path / "none.yaml")], "cannot read kubeconfig"),
        (["--config", str(config), "--name", "x"], "--name names the cluster of --kubeconfig"),
        (["--output", "xml"], "invalid choice: 'xml'"),
    ):
        out = scan(*argv)
        assert out.returncode == 2, (argv, out.stdout, out.stderr)
        (line,) = out.stderr.splitlines()
        assert said in line and out.stdout == "", (argv, line)


def test_a_cluster_that_cannot_be_read_exits_3_and_the_others_are_still_shown(
    sim: KubesimProcess, config: Path
) -> None:
    sim.control.fault(STAGE, "unauthorized")
    try:
        one = scan("--config", str(config), "--cluster", "stage")
        every = scan("--config", str(config), "-o", "json")
    finally:
        sim.control.clear_faults(STAGE)
    assert one.returncode == 3 and one.stdout == ""
    (line,) = one.stderr.splitlines()
    assert line.startswith("nodewatch: scan of stage failed:") and "401" in line
    assert every.returncode == 1  # prod-eu's critical finding still counts
    docs = {d["cluster"]: d for d in json.loads(every.stdout)["clusters"]}
    assert "401" in docs["stage"]["error"] and docs["prod-eu"]["nodes"]
