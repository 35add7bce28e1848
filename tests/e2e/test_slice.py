"""The first slice end to end on real parts: beat -> dispatch -> scan (kubesim over HTTP) -> notify (chatsim).

Real Redis, real ``nodewatch worker`` / ``nodewatch beat`` processes, kubesim as a subprocess, chat receivers over
HTTP. Waits are on events (a message arriving, a scan being recorded), never fixed sleeps.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from chatsim.testing import ChatSim
from tests.configs import immediate
from tests.conftest import Proc, start_worker
from worker.state.store import Stores

pytestmark = pytest.mark.slow

CLUSTER = "sim-1"
NODES = [f"{CLUSTER}-pool-{i}" for i in (1, 2, 3)]
DING_TOKEN, DING_SECRET = "e2edingtoken0001", "SECe2e0123456789abcdef"
SLACK_TOKEN, WECOM_KEY = "e2eslacktoken0001", "e2e-wecom-key-0001"


@pytest.fixture()
def chat() -> Iterator[ChatSim]:
    with ChatSim() as c:
        c.register_dingtalk(DING_TOKEN, DING_SECRET)
        yield c


@pytest.fixture()
def sim(kubesim_factory: Callable[..., Any]) -> Any:
    s = kubesim_factory(clusters=1, nodes=3, pods_per_node=0)
    for node in NODES:
        s.control.set_node(CLUSTER, node, cpu=0.2, memory=0.2, ready="True")
    return s


def config(sim: Any, chat: ChatSim, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "checkInterval": 1,
        "dispatchTick": 1,
        "alertCooldown": 60,  # minutes: nothing may repeat during a test
        "logLevel": "info",
        "language": "en",
        "clusters": [{"name": CLUSTER, "kubeconfig": str(sim.kubeconfigs[CLUSTER])}],
        "notify": {"minRetryDelay": 0.5, "maxRetryDelay": 2},
        "dingtalk": {"webhookURL": chat.dingtalk_url(DING_TOKEN), "secret": DING_SECRET},
        "slack": {"webhookURL": chat.slack_url(SLACK_TOKEN)},
        "wecom": {"webhookURL": chat.wecom_url(WECOM_KEY)},
    }
    data.update(extra)
    return immediate(data)


def scans(r: redis.Redis) -> int:
    return int(Stores(r).schedule.scan_status(CLUSTER).get("scans") or 0)


def wait_scans(r: redis.Redis, at_least: int, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while scans(r) < at_least:
        assert time.time() < deadline, f"only {scans(r)} scans recorded after {timeout}s"
        time.sleep(0.1)


def texts(chat: ChatSim, channel: str) -> list[str]:
    return [json.dumps(m["body"], ensure_ascii=False) for m in chat.messages(channel)]


@pytest.fixture()
def running(
    sim: Any,
    chat: ChatSim,
    write_config: Callable[..., Path],
    nodewatch_proc: Callable[..., Proc],
    redis_client: redis.Redis,
) -> Callable[..., Path]:
    def start(**extra: Any) -> Path:
        cfg = write_config(config(sim, chat, **extra))
        start_worker(nodewatch_proc, cfg)
        nodewatch_proc("beat", config=cfg)
        wait_scans(redis_client, 1)
        return cfg

    return start


def test_not_ready_one_message_per_channel_then_one_resolved(
    running: Callable[..., Path], sim: Any, chat: ChatSim, redis_client: redis.Redis
) -> None:
    running()
    assert chat.messages() == []  # calm cluster: nothing to say
    sim.control.set_node(CLUSTER, NODES[0], ready="False")
    chat.wait_for(1, "dingtalk", timeout=30)
    firing = texts(chat, "dingtalk")[0]
    assert NODES[0] in firing and "Ready" in firing
    # the receiver verified the signature (chatsim answers 310000 otherwise, and then nothing is recorded)
    seen = scans(redis_client)
    wait_scans(redis_client, seen + 4)  # still NotReady for several scans: the cooldown holds
    assert len(chat.messages("dingtalk")) == 1
    sim.control.set_node(CLUSTER, NODES[0], ready="True")
    chat.wait_for(2, "dingtalk", timeout=30)
    resolved = texts(chat, "dingtalk")[1]
    assert NODES[0] in resolved and "RESOLVED" in resolved.upper()
    seen = scans(redis_client)
    wait_scans(redis_client, seen + 3)
    assert len(chat.messages("dingtalk")) == 2
    # Slack and WeCom got the same two
    assert len(chat.messages("slack")) == 2 and len(chat.messages("wecom")) == 2


def test_cpu_critical_reaches_slack_and_wecom_once_then_resolves(
    running: Callable[..., Path], sim: Any, chat: ChatSim, redis_client: redis.Redis
) -> None:
    running()
    sim.control.set_node(CLUSTER, NODES[1], cpu=0.97)
    chat.wait_for(1, "slack", timeout=30)
    chat.wait_for(1, "wecom", timeout=30)
    for channel in ("slack", "wecom"):
        (text,) = texts(chat, channel)
        assert NODES[1] in text and "97" in text
    seen = scans(redis_client)
    wait_scans(redis_client, seen + 4)
    assert len(chat.messages("slack")) == 1 and len(chat.messages("wecom")) == 1
    sim.control.set_node(CLUSTER, NODES[1], cpu=0.3)
    chat.wait_for(2, "slack", timeout=30)
    chat.wait_for(2, "wecom", timeout=30)
    assert "RESOLVED" in texts(chat, "slack")[1].upper()


@pytest.mark.parametrize(
    ("channel", "fault"),
    [
        ("dingtalk", {"errcode": 130101, "errmsg": "send too fast"}),
        ("slack", {"status": 429, "body": "rate_limited", "retry_after": 1}),
        ("wecom", {"errcode": 45009, "errmsg": "api freq out of limit"}),
    ],
)
def test_rate_limited_channel_is_retried_later_not_dropped_not_hammered(
    running: Callable[..., Path], sim: Any, chat: ChatSim, channel: str, fault: dict[str, Any]
) -> None:
    chat.fault(channel, times=1, **fault)
    running()
    t0 = time.time()
    sim.control.set_node(CLUSTER, NODES[2], cpu=0.95)
    (msg,) = chat.wait_for(1, channel, timeout=30)
    assert NODES[2] in json.dumps(msg["body"], ensure_ascii=False)
    attempts = chat.attempts(channel)
    assert attempts[0] != "accepted" and attempts[1:] == ["accepted"]  # exactly one retry
    assert msg["time"] - t0 >= 0.9  # it waited (Retry-After / errcode delay, capped at maxRetryDelay=2 s)


def test_two_beats_schedule_each_scan_once(
    sim: Any,
    chat: ChatSim,
    write_config: Callable[..., Path],
    nodewatch_proc: Callable[..., Proc],
    redis_client: redis.Redis,
) -> None:
    cfg = write_config(config(sim, chat, checkInterval=2))
    start_worker(nodewatch_proc, cfg)
    nodewatch_proc("beat", config=cfg)
    nodewatch_proc("beat", config=cfg)
    wait_scans(redis_client, 2)
    t0, n0 = time.time(), scans(redis_client)
    wait_scans(redis_client, n0 + 5, timeout=40)
    elapsed = time.time() - t0
    history = Stores(redis_client).schedule.scan_history(CLUSTER)
    starts = sorted(float(h["started"]) for h in history)
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    # one scan per 2 s interval: doubled scheduling would show gaps near 0 s and twice the count
    assert min(gaps[1:]) > 1.0, gaps
    assert scans(redis_client) - n0 <= elapsed / 2 + 2


def test_two_workers_never_scan_one_cluster_at_once(
    sim: Any,
    chat: ChatSim,
    write_config: Callable[..., Path],
    nodewatch_proc: Callable[..., Proc],
    redis_client: redis.Redis,
    redis_url: str,
) -> None:
    cfg = write_config(config(sim, chat))
    start_worker(nodewatch_proc, cfg, name="w1")
    start_worker(nodewatch_proc, cfg, name="w2")
    sim.control.fault(CLUSTER, "slow", delay_s=1.5)
    from worker.app import make_app

    app = make_app(redis_url)
    for _ in range(6):
        app.send_task("tasks.scan_cluster", args=[CLUSTER, None], queue="scan")
    deadline = time.time() + 40
    schedule = Stores(redis_client).schedule
    while not schedule.scan_history(CLUSTER) or schedule.locked(CLUSTER):
        assert time.time() < deadline
        time.sleep(0.2)
    history = schedule.scan_history(CLUSTER)
    spans = sorted((float(h["started"]), float(h["ended"])) for h in history)
    for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
        assert start >= end, f"overlapping scans: {spans}"
    assert len(spans) < 6  # the ones that found the lock taken were skipped, not run in parallel
