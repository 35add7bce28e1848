"""Replay through the real scan path: kubesim on a manual clock, real Redis, ``worker.pipeline.run_scan``."""

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
from worker.replay import engine, tables
from worker.state import keys
from worker.state.store import Stores

NODEWATCH = str(Path(sys.executable).with_name("nodewatch"))

# 40 minutes: rt-1 CPU 97 % from 5 to 25 min (an incident), rt-2 Unknown from 10 to 20 min (an incident),
# rt-3 one 2-minute spike at 30 min (no incident, but the sketch pages on it)
SCENARIO = {
    "seed": 4,
    "start": "2026-01-05T00:00:00Z",
    "replay": {"hours": 40 / 60},
    "clusters": [
        {
            "name": "rt",
            "provider": "kind",
            "kubelet": {"status_update_seconds": 30},
            "node_groups": [
                {
                    "name": "pool",
                    "names": ["rt-1", "rt-2", "rt-3"],
                    "pods_per_node": 2,
                    "usage": {"cpu": 0.3, "memory": 0.4, "disk": 0.3},
                }
            ],
            "timeline": [
                {"at": 300, "node": "rt-1", "cpu": 0.97},
                {"at": 1500, "node": "rt-1", "cpu": 0.3},
                {"at": 600, "node": "rt-2", "ready": "Unknown"},
                {"at": 1200, "node": "rt-2", "ready": "True"},
                {"at": 1800, "node": "rt-3", "cpu": 0.97},
                {"at": 1920, "node": "rt-3", "cpu": 0.3},
            ],
        }
    ],
}


@pytest.fixture()
def scenario_file(tmp_path: Path) -> Path:
    path = tmp_path / "replay-test.yaml"
    path.write_text(yaml.safe_dump(SCENARIO))
    return path


def test_replay_scores_nodewatch_and_the_baseline(scenario_file: Path, redis_client: redis.Redis) -> None:
    cfg = settings.parse({}, env={})
    scenario = engine.load_scenario(str(scenario_file), None)
    assert scenario.hours == pytest.approx(40 / 60)
    report = engine.run(cfg, scenario, Stores(redis_client), run_scan)

    assert report.steps == 40
    found = {(i.node, i.metric): (i.start - report.t0, i.duration) for i in report.found}
    assert set(found) == {("rt-1", "cpu"), ("rt-2", "ready")}
    assert found[("rt-1", "cpu")][1] == pytest.approx(1200, abs=120)
    assert found[("rt-2", "ready")][1] == pytest.approx(600, abs=120)

    nw = report.nodewatch
    assert (nw.incidents, nw.detected, nw.missed) == (2, 2, 0)
    # the default for-durations: CPU pages after 540 s at critical, Unknown after 150 s (one scan later each at
    # most), so the median of the two delays is at most (600 + 210) / 2; rt-3's 2-minute spike never pages
    assert nw.median_detection_delay_s is not None and 150 <= nw.median_detection_delay_s <= 405
    assert nw.by_rule_kind == {
        "cpu_usage:firing": 1,
        "cpu_usage:resolved": 1,
        "node_unknown:firing": 1,
        "node_unknown:resolved": 1,
    }
    # the sketch: rt-1 at 5 and 20 min (15-minute cooldown), rt-2 once, rt-3's spike once; never a resolve
    base = report.baseline
    assert (base.incidents, base.detected, base.missed, base.notifications) == (2, 2, 0, 4)
    assert base.by_rule_kind == {"cpu_usage:firing": 3, "node_not_ready:firing": 1}

    peak = report.memory_peak
    assert peak.fingerprints >= 1 and peak.bytes_per_fingerprint is not None
    assert peak.by_family["alerts"]["keys"] == 1
    assert report.to_json()["nodewatch"]["missed"] == 0
    rows = tables.table([("nodewatch", [report])]).splitlines()
    # 40 minutes of 3 nodes: 0.1 machine-days; both incidents paged, none already open
    assert rows[2].startswith("| replay-test | 0.666667 | 0.1 | nodewatch | 2 | 2 | 0 | 0 | 4 | 2 | 48 |")
    # the CPU crossing reaches NodeMetrics at its next 15-s scrape, one scan later: delays 60 and 0 s; rt-3's
    # spike is the sketch's noise episode; the floor: two incidents of two metrics need four messages, 48 per
    # machine-day, what nodewatch sent
    assert (
        rows[3]
        == "| replay-test | 0.666667 | 0.1 | sketch | 2 | 2 | 0 | 0 | 4 | 2 | 48 | 3 (1) | 60 | 0 | 30 | 48 |"
    )
    assert "sketch notifications by rule:kind: cpu_usage:firing 3, node_not_ready:firing 1" in tables.details(
        report
    )


def test_replay_starts_from_nothing_on_a_used_database(
    scenario_file: Path, redis_client: redis.Redis
) -> None:
    """State left by an earlier run of the same cluster is cleared, so the figures do not depend on it."""
    store = Stores(redis_client)
    redis_client.set(keys.cooldown("rt", "0123456789abcdef"), "1")
    redis_client.set(keys.cooldown("other", "0123456789abcdef"), "1")
    cfg = settings.parse({}, env={})
    report = engine.run(cfg, engine.load_scenario(str(scenario_file), 0.1), store, run_scan, speed=720)
    assert report.steps == 6
    assert report.wall_s >= 6 * 60 / 720  # --speed 720: six 60-second scans take at least half a second
    assert redis_client.exists(
        keys.cooldown("other", "0123456789abcdef")
    )  # another cluster's keys are left alone
    assert not redis_client.exists(keys.cooldown("rt", "0123456789abcdef"))


def test_cli_prints_json(scenario_file: Path, redis_url: str) -> None:
    env = dict(os.environ, REDIS_URL=redis_url)
    env.pop("NODEWATCH_CONFIG", None)
    out = subprocess.run(
        [
            NODEWATCH,
            "replay",
            "--scenario",
            str(scenario_file),
            "--speed",
            "max",
            "--output",
            "json",
            "--hours",
            "0.25",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    doc = json.loads(out.stdout)
    assert doc["steps"] == 15 and doc["redis"] == "REDIS_URL"
    assert set(doc["nodewatch"]) >= {
        "incidents",
        "detected",
        "missed",
        "notifications",
        "notifications_per_incident",
        "median_detection_delay_s",
    }
    assert doc["baseline"]["notifications"] == 2  # rt-1 crossed at 5 min, rt-2 went Unknown at 10 min


@pytest.mark.slow
def test_cli_compares_two_policies_on_the_same_scenario(
    scenario_file: Path, redis_url: str, tmp_path: Path
) -> None:
    """`--compare CONFIG`: the same scenario replayed under each policy, one table; here a policy that waits 15
    minutes misses rt-2's 10-minute outage that the defaults page."""
    slow = tmp_path / "slow.yaml"
    slow.write_text("thresholds: {usageFor: 900, notReadyFor: 900}\nnoise: {evidence: null}\n")
    env = dict(os.environ, REDIS_URL=redis_url)
    env.pop("NODEWATCH_CONFIG", None)
    out = subprocess.run(
        [NODEWATCH, "replay", "--scenario", str(scenario_file), "--compare", str(slow), "--hours", "0.5"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    rows = [line.split(" | ") for line in out.stdout.splitlines() if line.startswith("| replay-test")]
    assert [(r[3], r[4], r[7]) for r in rows] == [
        ("nodewatch", "2", "0"),
        ("slow", "2", "1"),
        ("sketch", "2", "0"),
    ]


def test_cli_rejects_a_missing_scenario(tmp_path: Path) -> None:
    out = subprocess.run(
        [NODEWATCH, "replay", "--scenario", str(tmp_path / "nope.yaml")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 2 and "no scenario" in out.stderr


def test_a_long_incident_is_repeated_on_the_simulated_clock(
    scenario_file: Path, redis_client: redis.Redis
) -> None:
    """The cooldown key is a Redis TTL, which a replay outruns: rt-1's 20-minute incident, with a 5-minute
    ``alertCooldown``, is repeated every 5 simulated minutes (the replay expires the key on its clock), not never."""
    cfg = settings.parse({"alertCooldown": 5}, env={})
    report = engine.run(cfg, engine.load_scenario(str(scenario_file), None), Stores(redis_client), run_scan)
    kinds = report.nodewatch.by_rule_kind
    # fires ~9-10 min after its start at 5 min, repeats at +5 and +10 min, resolves after 25 min + keepFiringFor
    assert kinds["cpu_usage:firing"] == 1
    assert kinds.get("cpu_usage:repeat", 0) in (2, 3), kinds
    assert kinds["cpu_usage:resolved"] == 1
