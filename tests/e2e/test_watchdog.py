"""The watchdog on real processes: a cluster that stops being scanned pages once (cluster_not_scanned) through
chatsim, and resolves once scans resume. Two ways to stop scanning: its scan lock held (beat still ticks: the
dispatcher's pass notices), and beat stopped (the worker's own timer notices). Real Redis, kubesim, ``nodewatch
worker`` / ``beat`` processes; waits on events, not sleeps."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from chatsim.testing import ChatSim
from tests.configs import immediate
from tests.conftest import Proc, start_worker
from tests.polling import status, wait
from worker.state import keys

pytestmark = pytest.mark.slow

CLUSTER = "sim-1"
TOKEN = "watchdogslacktoken0001"


@pytest.fixture()
def chat() -> Iterator[ChatSim]:
    with ChatSim() as c:
        yield c


def config(sim: Any, chat: ChatSim, **watchdog: Any) -> dict[str, Any]:
    return immediate(
        {
            "checkInterval": 1,
            "dispatchTick": 1,
            "language": "en",
            "clusters": [{"name": CLUSTER, "kubeconfig": str(sim.kubeconfigs[CLUSTER])}],
            "slack": {"webhookURL": chat.slack_url(TOKEN)},
            "watchdog": {"staleIntervals": 3, "minStale": 0, "checkEvery": 1, **watchdog},
        }
    )


def texts(chat: ChatSim) -> list[str]:
    return [json.dumps(m["body"], ensure_ascii=False) for m in chat.messages("slack")]


def about_watchdog(chat: ChatSim) -> tuple[list[str], list[str]]:
    mine = [t for t in texts(chat) if "not scanned this cluster" in t or "scans this cluster again" in t]
    return [t for t in mine if "RESOLVED" not in t], [t for t in mine if "RESOLVED" in t]


def scans(r: redis.Redis) -> int:
    return int(status(r, CLUSTER).get("scans") or 0)


@pytest.fixture()
def running(
    kubesim_factory: Callable[..., Any],
    chat: ChatSim,
    write_config: Callable[..., Path],
    nodewatch_proc: Callable[..., Proc],
    redis_client: redis.Redis,
) -> Callable[[], tuple[Path, Proc]]:
    def start() -> tuple[Path, Proc]:
        sim = kubesim_factory(clusters=1, nodes=2, pods_per_node=0)
        cfg = write_config(config(sim, chat))
        start_worker(nodewatch_proc, cfg)
        beat = nodewatch_proc("beat", config=cfg)
        wait(lambda: scans(redis_client) >= 2, 60, "two scans of the cluster")
        return cfg, beat

    return start


def test_a_held_scan_lock_pages_once_then_resolves(
    running: Callable[[], tuple[Path, Proc]], chat: ChatSim, redis_client: redis.Redis
) -> None:
    running()
    assert about_watchdog(chat) == ([], [])
    redis_client.set(keys.scan_lock(CLUSTER), "held-by-the-test", ex=120)  # every scan now skips the cluster
    (firing,) = wait(lambda: about_watchdog(chat)[0], 30, "the cluster_not_scanned message")
    assert CLUSTER in firing and "CRITICAL" in firing and "scan lock" in firing
    seen = len(texts(chat))
    redis_client.delete(keys.scan_lock(CLUSTER))
    (resolved,) = wait(lambda: about_watchdog(chat)[1], 30, "the resolved message once scans resume")
    assert CLUSTER in resolved
    # paged once: beat's pass and the worker's timer both watched, neither sent it twice
    wait(
        lambda: scans(redis_client) >= 3 + int(status(redis_client, CLUSTER)["scans"]) - 3,
        10,
        "scans resumed",
    )
    firing_all, resolved_all = about_watchdog(chat)
    assert len(firing_all) == 1 and len(resolved_all) == 1, texts(chat)[seen - 1 :]


def test_beat_stopped_is_noticed_by_the_worker(
    running: Callable[[], tuple[Path, Proc]], chat: ChatSim, nodewatch_proc: Callable[..., Proc]
) -> None:
    cfg, beat = running()
    beat.stop()  # no dispatcher tick any more: only the worker's own watchdog is left to notice
    (firing,) = wait(lambda: about_watchdog(chat)[0], 40, "the cluster_not_scanned message from the worker")
    assert CLUSTER in firing and "is beat running" in firing
    nodewatch_proc("beat", config=cfg)  # beat back: scans resume, and the alert resolves
    (resolved,) = wait(lambda: about_watchdog(chat)[1], 40, "the resolved message once beat is back")
    assert CLUSTER in resolved and len(about_watchdog(chat)[0]) == 1


def test_heartbeat_reaches_its_receiver_periodically(
    kubesim_factory: Callable[..., Any],
    chat: ChatSim,
    write_config: Callable[..., Path],
    nodewatch_proc: Callable[..., Proc],
) -> None:
    sim = kubesim_factory(clusters=1, nodes=1, pods_per_node=0)
    cfg = write_config(config(sim, chat, heartbeatInterval="2s", receivers=["slack"]))
    start_worker(nodewatch_proc, cfg)
    nodewatch_proc("beat", config=cfg)

    def beats() -> list[str]:
        return [t for t in texts(chat) if "HEARTBEAT" in t]

    first = wait(beats, 30, "a first heartbeat")
    # (it may say 0 clusters: the worker's timer can send it before beat scheduled any)
    assert "nodewatch is alive and scanning" in first[0]
    wait(lambda: len(beats()) >= 2, 30, "a second heartbeat, one interval later")
