"""Predictive alerts in the replay, end to end: kubesim's kubelet evicts at its hard threshold, the replay reads
the crossings as exhaustions and scores nodewatch and node-mixin's rule against them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis
import yaml

from worker import settings
from worker.pipeline import run_scan
from worker.replay import engine, forecasts
from worker.state.store import Stores

NODEWATCH = str(Path(sys.executable).with_name("nodewatch"))
H = 3600.0

# 4 hours: pf-fast fills nodefs 10 points an hour from 60 %, so it reaches the eviction line (90 % used) at 3 h;
# pf-flat holds at 70 %. node-mixin's warning (available < 40 % and the 6-h line empty within 24 h) holds from the
# second scan on pf-fast and fires an hour later; nothing holds on pf-flat.
SCENARIO = {
    "seed": 5,
    "start": "2026-01-05T00:00:00Z",
    "replay": {"hours": 4, "disk": True},
    "clusters": [
        {
            "name": "pf",
            "provider": "kind",
            "kubelet": {"eviction": True},
            "node_groups": [
                {
                    "name": "pool",
                    "names": ["pf-fast", "pf-flat"],
                    "pods_per_node": 3,
                    "usage": {"cpu": 0.3, "memory": 0.4, "disk": 0.7, "imagefs": 0.3},
                }
            ],
            "timeline": [{"at": 0, "node": "pf-fast", "disk": {"fill": {"from": 0.6, "rate_per_hour": 0.1}}}],
        }
    ],
}


@pytest.fixture()
def scenario_file(tmp_path: Path) -> Path:
    path = tmp_path / "predict-test.yaml"
    path.write_text(yaml.safe_dump(SCENARIO))
    return path


@pytest.mark.slow
def test_exhaustions_lead_time_and_false_alarms(scenario_file: Path, redis_client: redis.Redis) -> None:
    cfg = settings.parse({}, env={})
    assert not cfg.collect.disk_stats  # the scenario's replay.disk turns the Summary on
    report = engine.run(cfg, engine.load_scenario(str(scenario_file), None), Stores(redis_client), run_scan)

    assert set(report.forecasts) == {"nodefs"}
    base = report.forecasts["nodefs"]["baseline"]
    nw = report.forecasts["nodefs"]["nodewatch"]
    assert base is not None and nw is not None
    # one crossing, at 3 h (kubesim's 10-s housekeeping), seen the same by both policies
    assert (base.exhaustions, nw.exhaustions) == (1, 1)
    # the warning fires at the scan 1 h after the first one that held (the second scan: two samples to fit)
    assert (base.predicted, base.false_alarms) == (1, 0)
    assert base.median_lead_time_s == pytest.approx(3 * H - 2 * 60 - H, abs=15)
    doc = report.to_json()["predictions"]["nodefs"]
    assert doc["baseline"]["exhaustions"] == 1 and doc["baseline"]["predicted"] == 1
    rows = forecasts.table([(report.scenario, report.forecasts)]).splitlines()
    assert rows[3].startswith("| predict-test | nodefs | baseline | 1 | 1 | 70") and rows[3].endswith(
        "| 1 | 0 | 0 |"
    )


@pytest.mark.slow
def test_cli_shows_memory_as_not_applicable_for_the_baseline(tmp_path: Path, redis_url: str) -> None:
    leak = json.loads(json.dumps(SCENARIO))
    leak["replay"]["hours"] = 1
    leak["clusters"][0]["timeline"] = [
        {"at": 0, "node": "pf-fast", "memory": {"fill": {"from": 1.05, "rate_per_hour": 0.1}}}
    ]
    path = tmp_path / "predict-leak-test.yaml"
    path.write_text(yaml.safe_dump(leak))
    env = dict(os.environ, REDIS_URL=redis_url)
    env.pop("NODEWATCH_CONFIG", None)
    out = subprocess.run(
        [NODEWATCH, "replay", "--scenario", str(path), "-o", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    doc = json.loads(out.stdout)["predictions"]
    assert doc["memory"]["baseline"] == "n/a"
    assert doc["memory"]["nodewatch"]["exhaustions"] == 1
