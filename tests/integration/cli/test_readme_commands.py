"""Every README block marked ``<!-- runnable -->`` runs as written and prints what the README shows.

The commands run in bash, as a reader types them, with ``nodewatch`` on the PATH, ``$REDIS_URL`` a Redis of the
test's own and ``$NODEWATCH_CONFIG=config.yaml`` (README "On call" says to export them, as the demo prints them),
over what real scans wrote: a kubesim cluster ``prod-eu`` (nodes node-5..7, node-7 at 97 % CPU) scanned once a
minute for the last 16 minutes by ``pipeline.scan_cluster``, the scan task's own function. The output is compared
line by line after the values that vary from run to run are masked the same way on both sides: times, the
distance to them, silence ids, figures, column padding. Headers, states, reasons, counts and exit codes stay.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml

from tests.conftest import NODEWATCH, ROOT
from worker import settings
from worker.pipeline import scan_cluster
from worker.state.store import Stores

pytestmark = pytest.mark.slow

SCENARIO = {
    "seed": 1,
    "clusters": [
        {
            "name": "prod-eu",
            "provider": "gke",
            "node_groups": [
                {
                    "name": "pool",
                    "names": ["node-5", "node-6", "node-7"],
                    "capacity": {"cpu": 4, "memory": "16Gi", "disk": "100Gi", "pods": 110},
                    "pods_per_node": 5,
                    "usage": {"cpu": 0.20, "memory": 0.20, "disk": 0.20, "imagefs": 0.20},
                }
            ],
        }
    ],
}
SCANS = 16  # node-7 at 97 %: pending 3 scans (the evidence rule), firing on the 4th, 12 scans in its cooldown

MASKS = [
    (re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d (?:[A-Z]{2,5}|[+-]\d\d:\d\d)"), "<DATE>"),
    (re.compile(r"\b\d\d:\d\d:\d\d\b"), "<TIME>"),
    (re.compile(r"\b(?:in )?\d+[dhms](?:\d+[hms])?(?: ago)?\b"), "<SPAN>"),
    (re.compile(r"\bs-[0-9a-f]{8}\b"), "<SILENCE>"),
    (re.compile(r"\b\d+\.\d+\b"), "<N>"),
    (re.compile(r"top pods by (cpu|memory) usage: .*"), r"top pods by \1 usage: <PODS>"),
]


def mask(text: str) -> list[str]:
    out = []
    for line in text.rstrip("\n").splitlines():
        for pattern, token in MASKS:
            line = pattern.sub(token, line)
        out.append(" ".join(line.split()))
    return out


def runnable_blocks(readme: str) -> list[list[tuple[str, str]]]:
    """(command, expected output) pairs of each ```console block that follows a ``<!-- runnable -->`` line."""
    blocks = re.findall(r"<!-- runnable[^>]*-->\n```console\n(.*?)```", readme, re.S)
    out = []
    for body in blocks:
        pairs: list[tuple[str, str]] = []
        for line in body.splitlines():
            if line.startswith("$ "):
                pairs.append((line[2:], ""))
            else:
                command, expected = pairs[-1]
                pairs[-1] = (command, expected + line + "\n")
        out.append(pairs)
    return out


@pytest.fixture()
def prod_eu(
    kubesim_factory: Callable[..., Any], redis_client: redis.Redis, redis_url: str, tmp_path: Path
) -> dict[str, str]:
    scenario = tmp_path / "prod-eu.yaml"
    scenario.write_text(yaml.safe_dump(SCENARIO))
    sim = kubesim_factory(scenario=scenario)
    sim.control.set_node("prod-eu", "node-7", cpu=0.97)
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "clusters": [{"name": "prod-eu", "kubeconfig": str(sim.kubeconfigs["prod-eu"])}],
                "slack": {"webhookURL": "https://hooks.slack.com/services/T000/B000/XXXX"},
            }
        )
    )
    cfg = settings.load(str(config), env={})
    stores = Stores(redis_client)
    start = time.time() - 60 * SCANS
    for i in range(SCANS):
        sim.control.advance(20)  # past metrics-server's next scrape, as between two real scans
        at = start + 60 * i
        scan_cluster(stores, cfg, "prod-eu", at, clock=lambda at=at: at)  # type: ignore[misc]
    return {"cwd": str(tmp_path), "REDIS_URL": redis_url}


def test_every_runnable_readme_command_prints_what_the_readme_shows(prod_eu: dict[str, str]) -> None:
    blocks = runnable_blocks((ROOT / "README.md").read_text(encoding="utf-8"))
    assert blocks and all(blocks), "README.md: no <!-- runnable --> console block"
    env = dict(os.environ, REDIS_URL=prod_eu["REDIS_URL"], NODEWATCH_CONFIG="config.yaml")
    env["PATH"] = f"{Path(NODEWATCH).parent}:{env['PATH']}"
    failures = []
    for pairs in blocks:
        for command, expected in pairs:
            out = subprocess.run(
                ["bash", "-c", command],
                env=env,
                cwd=prod_eu["cwd"],
                capture_output=True,
                text=True,
                timeout=120,
            )
            got = out.stdout + out.stderr
            if mask(got) != mask(expected):
                failures.append(f"$ {command}\n--- README shows:\n{expected}--- it prints:\n{got}")
    assert not failures, "\n\n".join(failures)
