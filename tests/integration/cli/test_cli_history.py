"""``nodewatch history CLUSTER NODE`` as a user runs it (a subprocess) over a real Redis holding history written
by the history store, as the scans write it: sparklines with min/max/last and the config's thresholds, the raw
series in json, and exit 1 in one line when there is no history."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from tests.conftest import NODEWATCH, ROOT
from worker.cli.history import BARS, points, sparkline
from worker.model.history import Series
from worker.state.store import Stores

CLUSTER, NODE = "prod-eu", "node-1"


def history(redis_url: str, config: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, REDIS_URL=redis_url)
    env.pop("NODEWATCH_CONFIG", None)
    return subprocess.run(
        [NODEWATCH, "--config", str(config), "history", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


@pytest.fixture()
def recorded(redis_client: redis.Redis, write_config: Callable[..., Path]) -> tuple[Path, list[float]]:
    """Ten scans a minute apart ending now: node-1's cpu climbing 10 -> 55 %, its disk flat at 40 %."""
    stores = Stores(redis_client)
    start = float(int(time.time()) - 600)
    times = [start + 60 * i for i in range(10)]
    for i, t in enumerate(times):
        stores.history.record(CLUSTER, t, {NODE: {"cpu": 10.0 + 5 * i, "nodefs": 40.0}})
    config = write_config({"thresholds": {"cpuWarning": 65, "cpuCritical": 85}})
    return config, times


def test_table_draws_a_sparkline_with_min_max_last_and_thresholds(
    redis_url: str, recorded: tuple[Path, list[float]]
) -> None:
    config, _ = recorded
    out = history(redis_url, config, CLUSTER, NODE)
    assert out.returncode == 0, out.stderr
    rows = {line.split()[0]: line.split() for line in out.stdout.split("\n\n")[0].splitlines()[2:]}
    assert rows["cpu"][1:] == ["▁▂▃▃▄▅▆▆▇█", "10.0%", "55.0%", "55.0%", "65.0%", "85.0%"]
    assert rows["nodefs"][1:] == ["▁" * 10, "40.0%", "40.0%", "40.0%", "80.0%", "88.0%"]
    assert rows["memory"][1:] == ["(no", "data)", "-", "-", "-", "70.0%", "90.0%"]
    assert rows["cpu_requests"][-2:] == ["-", "-"]  # requests alert on headroom, not on a percentage

    one = history(redis_url, config, CLUSTER, NODE, "--metric", "cpu", "--since", "5m")
    assert one.returncode == 0, one.stderr
    (cpu,) = one.stdout.splitlines()[2:]
    assert cpu.split()[0] == "cpu" and len(cpu.split()[1]) in (4, 5)  # the last five minutes' scans only


def test_json_is_the_raw_series_in_epoch_seconds(redis_url: str, recorded: tuple[Path, list[float]]) -> None:
    config, times = recorded
    out = history(redis_url, config, CLUSTER, NODE, "--metric", "cpu", "-o", "json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["cluster"] == CLUSTER and doc["node"] == NODE and list(doc["metrics"]) == ["cpu"]
    cpu = doc["metrics"]["cpu"]
    assert cpu["fine"] == [[t, 10.0 + 5 * i] for i, t in enumerate(times)]
    assert (cpu["warning"], cpu["critical"]) == (65.0, 85.0)


def test_no_history_is_exit_1_in_one_line(redis_url: str, recorded: tuple[Path, list[float]]) -> None:
    config, _ = recorded
    for argv, said in (
        ((CLUSTER, "node-9"), "no history of node 'node-9' in cluster 'prod-eu'; nodes with history: node-1"),
        (("nowhere", NODE), "no history of cluster 'nowhere'"),
    ):
        out = history(redis_url, config, *argv)
        assert out.returncode == 1, out
        assert out.stdout == "" and len(out.stderr.splitlines()) == 1 and said in out.stderr, out.stderr


def test_older_buckets_come_before_the_scan_samples_without_overlap() -> None:
    s = Series(
        fine=[(1000.0, 5.0), (1060.0, 6.0)], coarse=[(450.0, 1.0, 2.0), (750.0, 3.0, 4.0), (1050.0, 5.5, 6.0)]
    )
    assert points(s) == [
        (450.0, 1.0),
        (750.0, 3.0),
        (1000.0, 5.0),
        (1060.0, 6.0),
    ]  # 900-1200 overlaps: left out
    assert points(Series(coarse=[(450.0, 1.0, 2.0)])) == [(450.0, 1.0)]


def test_sparkline_scales_min_to_max_and_squeezes_long_series() -> None:
    assert sparkline([0, 7]) == BARS[0] + BARS[-1]
    assert sparkline([3, 3, 3]) == BARS[0] * 3
    assert sparkline([float(i) for i in range(600)], width=60) == sparkline([float(i) for i in range(60)])
    assert sparkline([]) == ""


@pytest.mark.slow
def test_the_prediction_is_shown_next_to_the_history(
    redis_url: str, redis_client: redis.Redis, write_config: Callable[..., Path]
) -> None:
    """Three days of scans every 5 minutes: the root disk filling 0.5 %/h to 80 % now (the kubelet's line, 90 %,
    in ~20 h: a warning), pod slots flat at 70 % (nothing to predict), cpu (nothing the kubelet runs out of)."""
    stores = Stores(redis_client)
    now = float(int(time.time()))
    hours = 72
    for i in range(hours * 12 + 1):
        t = now - hours * 3600 + 300 * i
        fill = 80.0 - 0.5 * (now - t) / 3600
        stores.history.record(CLUSTER, t, {NODE: {"nodefs": fill, "pods": 70.0, "cpu": 20.0}})
    config = write_config({})
    out = history(redis_url, config, CLUSTER, NODE)
    assert out.returncode == 0, out.stderr
    footer = out.stdout.split("time to the kubelet's line (as the scans predict it):\n")[1].splitlines()
    said = {line.split()[0]: line.split(None, 1)[1] for line in footer}
    assert re.match(r"line 90.0% \(nodefs.available<10%, kubelet defaults\): ~(19|20)h", said["nodefs"]), said
    assert "+0.50 pt/h" in said["nodefs"] and "-> warning (within 24.0 h" in said["nodefs"]
    assert said["pods"].startswith(
        "line 100.0% (no pod slot left, kubelet defaults): no prediction, not_rising"
    )
    assert "cpu" not in said  # cpu is compressible: nothing to run out of

    out = history(redis_url, config, CLUSTER, NODE, "--metric", "nodefs", "-o", "json")
    assert out.returncode == 0, out.stderr
    p = json.loads(out.stdout)["metrics"]["nodefs"]["prediction"]
    assert p["rule"] == "nodefs_fill_predicted" and p["severity"] == "warning"
    assert p["eta_s"] == pytest.approx(20 * 3600, rel=0.05)
    assert p["eta_low_s"] <= p["eta_s"] <= p["eta_high_s"] and p["confidence"] > 0.9
    assert (p["limit"], p["signal"], p["limit_source"]) == (90.0, "nodefs.available<10%", "kubelet defaults")
