"""deploy/'s Grafana dashboard and Prometheus rules speak of metrics /metrics really exposes, in PromQL that
Prometheus accepts (promtool, from Debian's prometheus package, when installed)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml
from prometheus_client import generate_latest

from worker import metrics
from worker.state.store import Stores

ROOT = Path(__file__).resolve().parents[3]
DASHBOARD = ROOT / "deploy" / "grafana" / "nodewatch.json"
RULES = ROOT / "deploy" / "prometheus" / "nodewatch-rules.yaml"
METRIC = re.compile(r"\bnodewatch_[a-z0-9_]+")
SUFFIXES = {
    "counter": ("",),  # the text format names a counter with its _total
    "histogram": ("_bucket", "_sum", "_count"),
    "gauge": ("",),
}


def exposed(client: redis.Redis) -> set[str]:
    """Every sample name the exposition can carry (from its TYPE lines: they are there with no data too)."""
    text = generate_latest(metrics.registry(Stores(client))).decode()
    names = set()
    for name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M):
        names.update(name + s for s in SUFFIXES[kind])
    return names


def dashboard_exprs() -> list[str]:
    doc = json.loads(DASHBOARD.read_text())
    out = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if k in ("expr", "definition") and isinstance(v, str):
                    out.append(v)
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(doc)
    return out


def rule_exprs() -> list[str]:
    return [r["expr"] for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]]


def test_every_metric_the_dashboard_and_rules_query_is_exposed(redis_client: redis.Redis) -> None:
    names = exposed(redis_client)
    assert "nodewatch_node_cpu_usage_ratio" in names and "nodewatch_scan_duration_seconds_bucket" in names
    exprs = dashboard_exprs() + rule_exprs()
    assert len(exprs) > 30
    for expr in exprs:
        used = set(METRIC.findall(expr))
        assert used, f"no nodewatch metric in {expr!r}"
        assert used <= names, f"{expr!r} names {sorted(used - names)}, not in /metrics"


def test_the_dashboard_covers_the_four_views() -> None:
    doc = json.loads(DASHBOARD.read_text())
    rows = [p["title"] for p in doc["panels"] if p["type"] == "row"]
    assert rows == ["Fleet overview", "Cluster $cluster: nodes", "Scan health", "Notifications"]
    assert {v["name"] for v in doc["templating"]["list"]} == {"datasource", "cluster", "node_group"}


def test_promtool_accepts_the_rules_and_every_dashboard_query(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        if os.environ.get("CI"):
            pytest.fail("promtool is not installed: .ci/run installs Debian's prometheus package")
        pytest.skip("promtool not installed (bash .ci/install-prometheus)")
    out = subprocess.run([promtool, "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    # the dashboard's queries as recording rules, Grafana's variables given a value
    exprs = [e.replace("$cluster", "sim-1").replace("$node_group", ".*") for e in dashboard_exprs()]
    exprs = [e for e in exprs if not e.startswith("label_values(")]
    rules = {
        "groups": [
            {"name": "dashboard", "rules": [{"record": f"q{i}", "expr": e} for i, e in enumerate(exprs)]}
        ]
    }
    path = tmp_path / "dashboard-rules.yaml"
    path.write_text(yaml.safe_dump(rules))
    out = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
