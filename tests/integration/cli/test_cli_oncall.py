"""The on-call commands as a person runs them at 3 a.m. (subprocesses, exit codes and output), over a real Redis
holding what real scans of a kubesim cluster wrote (``pipeline.scan_cluster``, the scan task's own function, on
a clock ten minutes in the past): headers and ``-o wide|json|yaml`` on every list, human times in tables and
epochs in json, no false all-clear (no config, another Redis, no Redis, an unknown cluster), ``alerts why`` as a
story, and what ``config check`` catches."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml

from tests.conftest import NODEWATCH, ROOT
from worker import localredis, settings
from worker.model import fingerprint
from worker.pipeline import scan_cluster
from worker.state.store import Stores

CLUSTER = "sim-1"
HOT = f"{CLUSTER}-pool-1"
EPOCH = re.compile(r"\b1\d{9}\b")


def nodewatch(*argv: str, redis_url: str, config: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, REDIS_URL=redis_url)
    env.pop("NODEWATCH_CONFIG", None)
    extra = ["--config", str(config)] if config else []
    return subprocess.run(
        [NODEWATCH, *argv, *extra], env=env, capture_output=True, text=True, timeout=90, cwd=ROOT
    )


def one_line_error(out: subprocess.CompletedProcess[str], code: int) -> str:
    assert out.returncode == code, out
    (line,) = out.stderr.splitlines()
    assert line.startswith("nodewatch: ") and "Traceback" not in out.stderr
    return line


@pytest.fixture()
def fleet(
    kubesim_factory: Callable[..., Any], redis_client: redis.Redis, write_config: Callable[..., Path]
) -> Iterator[tuple[Path, str]]:
    """sim-1 scanned 11 times a minute apart ending now: pool-1 at 97 % CPU from the second scan, so its
    cpu_usage is pending for two scans, fires on the third, then sits in its hour-long cooldown for seven. (The
    why-stream's times are when the decisions were written: here all within a few seconds.)"""
    sim = kubesim_factory(clusters=1, nodes=3, pods_per_node=0)
    for i in (1, 2, 3):
        sim.control.set_node(CLUSTER, f"{CLUSTER}-pool-{i}", cpu=0.1, memory=0.1, ready="True")
    config = write_config(
        {
            "clusters": [{"name": CLUSTER, "kubeconfig": str(sim.kubeconfigs[CLUSTER])}],
            "alertCooldown": 60,
            "thresholds": {"usageFor": 120, "usageWarningFor": 120},
            "slack": {"webhookURL": "http://127.0.0.1:9/services/T/B/x"},
        }
    )
    cfg = settings.load(str(config), env={})
    stores = Stores(redis_client)
    start = time.time() - 600
    for i in range(11):
        if i == 1:
            sim.control.set_node(CLUSTER, HOT, cpu=0.97)
        sim.control.advance(20)  # past metrics-server's next scrape, as between two real scans
        at = start + 60 * i
        scan_cluster(stores, cfg, CLUSTER, at, clock=lambda at=at: at)  # type: ignore[misc]
    yield config, fingerprint(CLUSTER, HOT, "cpu_usage")


def test_alerts_list_has_a_header_human_times_and_epochs_in_json(
    fleet: tuple[Path, str], redis_url: str
) -> None:
    config, fp = fleet
    table = nodewatch("alerts", "list", redis_url=redis_url, config=config)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["FINGERPRINT", "CLUSTER", "NODE", "RULE", "STATUS", "SINCE", "FLAGS"]
    (row,) = [line for line in lines if line.startswith(fp)]
    assert f"{CLUSTER}  {HOT}  cpu_usage  firing/critical" in re.sub(r" +", "  ", row)
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC \(\d+m ago\)", row) and not EPOCH.search(table.stdout)
    assert lines[-1] == "1 alert(s) in 1 cluster(s)"

    wide = nodewatch("alerts", "list", "-o", "wide", redis_url=redis_url, config=config)
    assert wide.stdout.splitlines()[0].split()[-5:] == ["FIRED", "LAST", "SEEN", "LAST", "SENT"]
    doc = json.loads(nodewatch("alerts", "list", "-o", "json", redis_url=redis_url, config=config).stdout)
    as_yaml = yaml.safe_load(
        nodewatch("alerts", "list", "-o", "yaml", redis_url=redis_url, config=config).stdout
    )
    assert doc == as_yaml
    (alert,) = doc["alerts"]
    assert alert["fingerprint"] == fp and isinstance(alert["since"], float) and alert["since"] > 1e9


def test_alerts_why_tells_a_story_and_an_unknown_fingerprint_is_exit_1(
    fleet: tuple[Path, str], redis_url: str
) -> None:
    config, fp = fleet
    out = nodewatch("alerts", "why", fp, redis_url=redis_url, config=config)
    assert out.returncode == 0, out.stderr
    head, *story = out.stdout.splitlines()
    assert head.startswith(f"{fp}: {CLUSTER} {HOT} cpu_usage is firing critical since ")
    states = [line.split()[1] for line in story]
    assert states == ["pending", "firing", "firing"], out.stdout
    assert "pending until" in story[0] and "×2 until" in story[0]  # two scans pending: one line
    assert "message firing: started firing" in story[1]
    assert re.search(r"in cooldown \(repeat interval\) ×7 until \d\d:\d\d:\d\d$", story[2]), story[2]
    assert not EPOCH.search(out.stdout)
    doc = json.loads(nodewatch("alerts", "why", fp, "-o", "json", redis_url=redis_url, config=config).stdout)
    assert len(doc["decisions"]) == 10 and all(d["at"] > 1e9 for d in doc["decisions"])

    line = one_line_error(nodewatch("alerts", "why", "0123abcd", redis_url=redis_url, config=config), 1)
    assert "no alert 0123abcd" in line and CLUSTER in line
    line = one_line_error(nodewatch("alerts", "ack", "0123abcd", redis_url=redis_url, config=config), 1)
    assert "no open alert 0123abcd" in line


def test_no_false_all_clear(
    fleet: tuple[Path, str], redis_url: str, write_config: Callable[..., Path]
) -> None:
    config, _ = fleet
    # no config: the in-cluster default is no cluster this Redis knows
    line = one_line_error(nodewatch("alerts", "list", redis_url=redis_url), 3)
    assert "nothing recorded of in-cluster" in line and f"Redis at {redis_url} ($REDIS_URL)" in line
    assert "no config file (give --config FILE or set $NODEWATCH_CONFIG)" in line
    # a cluster that is neither configured nor known
    line = one_line_error(
        nodewatch("alerts", "list", "--cluster", "nosuch", redis_url=redis_url, config=config), 2
    )
    assert f"no cluster named nosuch: not configured (config {config}: {CLUSTER})" in line
    # another cluster in the file, never scanned: said on stderr, the known one still listed
    both = write_config(
        {"clusters": [{"name": CLUSTER, "kubeconfig": "/x"}, {"name": "later", "kubeconfig": "/y"}]},
        "both.yaml",
    )
    out = nodewatch("alerts", "list", redis_url=redis_url, config=both)
    assert out.returncode == 0 and out.stderr == "nodewatch: nothing recorded yet (not scanned) of: later\n"


@pytest.fixture()
def empty_db() -> Iterator[str]:
    """A Redis database of its own that no nodewatch has used: a wrong $REDIS_URL."""
    with localredis.find_or_start(env_url="") as r:
        yield r.url


@pytest.mark.parametrize(
    "argv",
    [["alerts", "list"], ["silence", "list"], ["deadletters", "list"], ["alerts", "why", "ab12"]],
    ids=["alerts", "silences", "deadletters", "why"],
)
def test_a_redis_without_nodewatch_state_is_exit_3(
    argv: list[str], empty_db: str, write_config: Callable[..., Path]
) -> None:
    config = write_config({"clusters": [{"name": "prod", "kubeconfig": "/x"}]})
    line = one_line_error(nodewatch(*argv, redis_url=empty_db, config=config), 3)
    assert f"Redis at {empty_db} ($REDIS_URL)" in line and f"config {config}" in line


@pytest.mark.parametrize(
    "argv",
    [
        ["alerts", "list"],
        ["alerts", "why", "ab12"],
        ["alerts", "ack", "ab12"],
        ["silence", "list"],
        ["deadletters", "list"],
        ["cluster", "list"],
        ["silence", "add", "--node", "x", "--author", "me", "--comment", "c", "--duration", "1h"],
    ],
    ids=["alerts", "why", "ack", "silences", "deadletters", "clusters", "silence-add"],
)
def test_redis_down_is_one_line_with_the_password_masked(
    argv: list[str], write_config: Callable[..., Path]
) -> None:
    config = write_config({"clusters": [{"name": "prod", "kubeconfig": "/x"}]})
    down = f"redis://:hunter2@127.0.0.1:{localredis.free_port()}/0"
    out = nodewatch(*argv, redis_url=down, config=config)
    assert out.returncode == 3, out
    err = out.stderr.splitlines()[-1]
    assert err.startswith("nodewatch: ") and "Traceback" not in out.stderr and "hunter2" not in out.stderr
    assert "redis://:**@127.0.0.1" in err and "Connection refused" in err


def test_every_list_takes_wide_and_prints_a_header(fleet: tuple[Path, str], redis_url: str) -> None:
    config, _ = fleet
    added = nodewatch("silence", "add", "--node", "web-*", "--duration", "1h30m", "--author", "me",
                      "--comment", "load test", redis_url=redis_url, config=config)  # fmt: skip
    assert added.returncode == 0 and re.search(r"silences until .* UTC \(in 1h(29|30)m\)", added.stdout), (
        added
    )
    heads = {
        "silence": ["ID", "UNTIL", "MATCHERS", "BY", "COMMENT", "STARTED"],
        "deadletters": ["AT", "RECEIVER", "CLUSTER", "NOTIFICATION", "REASON"],
        "cluster": ["NAME", "SOURCE", "INTERVAL", "LAST", "SCAN", "STATUS", "NODES", "LAG", "FIRING", "WARNINGS",
                    "LABELS", "PROFILE", "SCANS", "DURATION", "ORIGIN"],
    }  # fmt: skip
    for verb, want in heads.items():
        out = nodewatch(verb, "list", "-o", "wide", redis_url=redis_url, config=config)
        assert out.returncode == 0, (verb, out.stderr)
        assert out.stdout.splitlines()[0].split() == want
    clusters = nodewatch("cluster", "list", redis_url=redis_url, config=config).stdout.splitlines()
    cells = clusters[1].split()
    assert (
        cells[:3] == [CLUSTER, "config", "1m"]
        and re.fullmatch(r"\d+s", cells[3])
        and cells[4:6] == ["ago", "ok"]
    )


def test_cluster_list_without_redis_shows_the_config_and_exits_3(write_config: Callable[..., Path]) -> None:
    config = write_config({"clusters": [{"name": "prod", "kubeconfig": "/x"}]})
    out = nodewatch(
        "cluster", "list", redis_url=f"redis://127.0.0.1:{localredis.free_port()}/0", config=config
    )
    assert out.returncode == 3 and out.stdout.splitlines()[1].split()[:3] == ["prod", "config", "1m"]
    (line,) = out.stderr.splitlines()
    assert line.startswith("nodewatch: scan records unavailable: cannot use Redis at redis://127.0.0.1:")


CHECKS = [
    ({"thresholds": {"cpuWarning": 95, "cpuCritical": 90}}, 2,
     "error: thresholds: cpuWarning 95 is not below cpuCritical 90: the warning would never fire"),
    ({"clusters": [{"name": "a", "kubeconfig": "/x", "thresholds": {"memoryWarning": 90}}]}, 2,
     "error: clusters.0.thresholds (a): memoryWarning 90 is not below memoryCritical 90"),
    ({"nodeGroups": [{"name": "g", "matchLabels": {"a": "b"}, "thresholds": {"podsCritical": 70}}]}, 2,
     "error: nodeGroups.0.thresholds (g): podsWarning 80 is not below podsCritical 70"),
    ({"thresholdProfiles": {"strict": {"nodefsWarning": 90}}}, 2,
     "error: thresholdProfiles.strict: nodefsWarning 90 is not below nodefsCritical 88"),
    ({"route": {"receiver": "slack", "repeatInterval": 4}}, 0,
     "warning: route.repeatInterval: 4 has no unit and reads as 4 minutes; write 4m"),
    ({"alertCooldown": 3600}, 0, "warning: alertCooldown: 3600 is in minutes (2.5 days)"),
    ({"thresholds": {"usageFor": 9}}, 0, "warning: thresholds.usageFor: 9 is in seconds; if you meant minutes, write 9m"),
    ({"slack": {}}, 0, "warning: receivers: none configured"),
    ({"route": {"receiver": "pagerduty"}}, 2, "route: unknown receiver 'pagerduty' (configured: slack)"),
    ({"noise": {"inhibit": [{"sourceRules": ["disk_ful"], "targetRules": ["disk_pressure"]}]}}, 2,
     "key 'noise.inhibit.0.sourceRules.0': unknown rule 'disk_ful'"),
    ({"thresholds": {"usageFor": "5 minutes"}}, 2, "key 'thresholds.usageFor'"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("data", "code", "said"), CHECKS, ids=[re.sub(r"\W+", "-", c[2])[:40] for c in CHECKS]
)
def test_config_check_catches_what_a_person_gets_wrong(
    data: dict[str, Any], code: int, said: str, write_config: Callable[..., Path]
) -> None:
    if "slack" not in data:
        data = {**data, "slack": {"webhookURL": "https://hooks.slack.com/services/T/B/x"}}
    path = write_config(data)
    out = nodewatch("config", "check", str(path), redis_url="redis://127.0.0.1:9/0")
    assert out.returncode == code, out
    assert said in out.stdout + out.stderr, out
    assert "Traceback" not in out.stderr and len(out.stderr.splitlines()) <= 1


def test_config_check_says_what_it_loaded_in_one_screen(write_config: Callable[..., Path]) -> None:
    path = write_config(
        {
            "clusters": [{"name": "prod-eu", "kubeconfig": "/x"}, {"name": "prod-us", "kubeconfig": "/y"}],
            "slack": {"webhookURL": "https://hooks.slack.com/services/T/B/x"},
            "receivers": [{"name": "ops", "kind": "webhook", "url": "https://example.com/hook"}],
            "route": {"receiver": "slack", "routes": [{"severities": ["critical"], "receivers": ["ops"]}]},
        }
    )
    out = nodewatch("config", "check", str(path), redis_url="redis://127.0.0.1:9/0")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) <= 24
    assert lines[1] == "clusters:  prod-eu, prod-us" and lines[2] == "receivers: slack (slack), ops (webhook)"
    assert lines[3] == "routes:    route: everything -> slack"
    assert lines[4].strip() == "route.routes.0: severities=critical -> ops"
    assert lines[-1] == "config OK" and "hooks.slack.com" not in out.stdout

    bare = nodewatch("config", "check", redis_url="redis://127.0.0.1:9/0")
    assert bare.returncode == 0 and "receivers: none: nothing will be delivered" in bare.stdout
    assert "file:      none (all defaults; give --config FILE or set $NODEWATCH_CONFIG)" in bare.stdout


def test_cluster_test_says_in_words_why_a_cluster_is_unreachable(write_config: Callable[..., Path]) -> None:
    port = localredis.free_port()
    kubeconfig = write_config(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "c", "cluster": {"server": f"https://127.0.0.1:{port}"}}],
            "users": [{"name": "u", "user": {"token": "abc"}}],
            "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u"}}],
            "current-context": "ctx",
        },
        "kube.yaml",
    )
    config = write_config({"clusters": [{"name": "prod", "kubeconfig": str(kubeconfig)}]})
    out = nodewatch("cluster", "test", "prod", redis_url="redis://127.0.0.1:9/0", config=config)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert f"FAIL  reachable: unreachable: 127.0.0.1:{port}: [Errno 111] Connection refused" in out.stdout
    assert "MaxRetryError" not in out.stdout
