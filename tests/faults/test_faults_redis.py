"""Redis goes away and comes back (issue 12): beat and workers carry on by themselves, scans and deliveries resume.

Real parts only: a redis-server the test starts on its own port with its files in ``tmp_path``
(``worker.localredis.RedisServer``, append-only file on, as shipped), real ``nodewatch worker`` and
``nodewatch beat`` processes, kubesim and a chatsim Slack receiver. The test stops its redis-server and starts it
again on the same port, with its data or empty, and waits on events (scan records, delivered messages, log lines).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml

from chatsim.testing import ChatSim
from tests.configs import immediate
from tests.conftest import NODEWATCH, ROOT, Proc, stop_all
from worker import localredis
from worker.model import Notification, NotificationKind, Severity
from worker.notify import stateloss
from worker.state import epoch, keys
from worker.state import store as state_store

CLUSTER = "sim-1"
NODES = [f"{CLUSTER}-pool-{i}" for i in (1, 2, 3)]
SLACK_TOKEN = "faultsRedisSlack0001"
LOST = "lost its alert state"


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[localredis.RedisServer]:
    s = localredis.RedisServer(localredis.free_port(), tmp_path / "redis", appendonly=True)
    yield s
    s.stop()


@pytest.fixture()
def chat() -> Iterator[ChatSim]:
    with ChatSim() as c:
        yield c


@pytest.fixture()
def sim(kubesim_factory: Callable[..., Any]) -> Any:
    s = kubesim_factory(clusters=1, nodes=3, pods_per_node=0)
    for node in NODES:
        s.control.set_node(CLUSTER, node, cpu=0.2, memory=0.2, ready="True")
    return s


@dataclass
class Hub:
    server: localredis.RedisServer
    env: dict[str, str]
    store: state_store.Stores
    procs: list[Proc]

    def start(self, command: str, ready: str | None = None) -> Proc:
        argv = [NODEWATCH, command] + (
            ["--concurrency", "2", "--hostname", "w1@%h"] if command == "worker" else []
        )
        p = Proc(argv, self.env, ready)
        self.procs.append(p)
        return p


@pytest.fixture()
def hub(server: localredis.RedisServer, sim: Any, chat: ChatSim, tmp_path: Path) -> Iterator[Hub]:
    cfg = tmp_path / "config.yaml"
    doc = {
        "checkInterval": 1,
        "dispatchTick": 1,
        "alertCooldown": 60,  # minutes: nothing repeats during a test
        "logLevel": "info",
        "language": "en",
        "clusters": [{"name": CLUSTER, "kubeconfig": str(sim.kubeconfigs[CLUSTER])}],
        "notify": {"minRetryDelay": 0.5, "maxRetryDelay": 2},
        "slack": {"webhookURL": chat.slack_url(SLACK_TOKEN)},
    }
    cfg.write_text(yaml.safe_dump(immediate(doc)))
    env = dict(os.environ, REDIS_URL=server.url, NODEWATCH_CONFIG=str(cfg), PYTHONUNBUFFERED="1")
    h = Hub(server, env, state_store.Stores(state_store.connect(server.url)), [])
    yield h
    stop_all(h.procs)


def scans(h: Hub) -> int:
    try:
        return len(h.store.schedule.scan_history(CLUSTER))
    except redis.ConnectionError:
        return -1


def wait_scans(h: Hub, at_least: int, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while scans(h) < at_least:
        assert time.time() < deadline, f"only {scans(h)} scans recorded after {timeout}s; {last_logs(h)}"
        time.sleep(0.2)


def last_logs(h: Hub) -> str:
    return "last log lines:\n" + "\n".join(line for p in h.procs for line in p.output().splitlines()[-30:])


def delivered(h: Hub, chat: ChatSim, count: int, timeout: float = 60) -> list[dict[str, Any]]:
    try:
        return chat.wait_for(count, "slack", timeout=timeout)
    except TimeoutError as err:
        notes = h.store.notifications
        state = {"why": notes.why(CLUSTER), "dead": notes.dead_letters(), "stats": notes.stats()}
        raise AssertionError(f"{err}; got {texts(chat)}; {state}; {last_logs(h)}") from None


def texts(chat: ChatSim) -> list[str]:
    return [json.dumps(m["body"], ensure_ascii=False) for m in chat.messages("slack")]


def running(h: Hub, sim: Any, chat: ChatSim) -> tuple[Proc, Proc]:
    """Worker and beat up, node 1 NotReady and its alert delivered once."""
    h.server.start()
    worker = h.start("worker", ready="ready.")
    beat = h.start("beat")
    wait_scans(h, 1)
    sim.control.set_node(CLUSTER, NODES[0], ready="False")
    delivered(h, chat, 1, timeout=30)
    assert NODES[0] in texts(chat)[0] and LOST not in texts(chat)[0]
    return worker, beat


@pytest.mark.slow
def test_redis_restarted_with_its_data_scans_and_deliveries_resume_without_a_second_page(
    hub: Hub, sim: Any, chat: ChatSim
) -> None:
    worker, beat = running(hub, sim, chat)
    hub.server.stop()  # SIGTERM: Redis writes its append-only file and exits
    beat.wait_for_line("Redis unavailable", timeout=30)
    hub.server.start()  # same port, same files
    before = scans(hub)
    wait_scans(hub, before + 3)  # beat dispatches, the worker consumes and scans again
    assert len(chat.messages("slack")) == 1  # the alert state survived: NotReady is not paged again
    sim.control.set_node(CLUSTER, NODES[0], ready="True")
    delivered(hub, chat, 2)  # and deliveries resume
    resolved = texts(chat)[1]
    assert NODES[0] in resolved and "RESOLVED" in resolved.upper() and LOST not in resolved
    assert worker.proc.poll() is None and beat.proc.poll() is None
    assert "beat raised exception" not in beat.output()


@pytest.mark.slow
def test_redis_restarted_empty_scans_resume_and_the_repeated_alert_says_the_state_was_lost(
    hub: Hub, sim: Any, chat: ChatSim
) -> None:
    worker, beat = running(hub, sim, chat)
    hub.server.stop(signal.SIGKILL)  # a crash ...
    shutil.rmtree(hub.server.data_dir)  # ... of a Redis without its volume
    beat.wait_for_line("Redis unavailable", timeout=30)
    hub.server.start()
    # the same alert is paged again (nodewatch cannot know it was sent), and says why it may be a repeat
    (_, again) = delivered(hub, chat, 2)
    text = json.dumps(again["body"], ensure_ascii=False)
    assert NODES[0] in text and LOST in text and "silences and acks" in text
    beat.wait_for_line("state in Redis was lost", timeout=5)
    wait_scans(hub, 3)  # a fresh history: scans go on
    sim.control.set_node(CLUSTER, NODES[0], ready="True")
    delivered(hub, chat, 3)
    assert "RESOLVED" in texts(chat)[2].upper()
    assert worker.proc.poll() is None and beat.proc.poll() is None


@pytest.mark.slow
def test_beat_and_worker_started_while_redis_is_down_start_scanning_when_it_comes(
    hub: Hub, sim: Any, chat: ChatSim
) -> None:
    worker = hub.start("worker")
    beat = hub.start("beat")
    beat.wait_for_line("Redis unavailable", timeout=60)
    hub.server.start()
    worker.wait_for_line("ready.", timeout=60)
    wait_scans(hub, 2)
    sim.control.set_node(CLUSTER, NODES[1], ready="False")
    (msg,) = delivered(hub, chat, 1)
    assert NODES[1] in json.dumps(msg["body"]) and LOST not in json.dumps(
        msg["body"]
    )  # a first start: no loss


def test_state_epoch_tells_a_loss_from_a_first_start(server: localredis.RedisServer) -> None:
    server.start()
    client = state_store.connect(server.url)
    store = epoch.EpochStore(client)
    first = store.check(None, 0.0, 100.0)  # a first start: the epoch is made, nothing was lost
    assert store.check(first, 100.0, 110.0) == first and store.lost_at() is None
    # bounded like every key: kept alive by beat's ticks
    assert 0 < client.ttl(keys.EPOCH) <= keys.ALERTS_TTL
    client.flushdb()  # what an empty restart leaves
    second = store.check(first, 110.0, 120.0)
    assert second != first
    assert store.lost_at() == 110.0  # lost after it was last seen intact
    assert 0 < client.ttl(keys.STATE_LOST_AT) <= keys.STATE_LOST_NOTE_S


@pytest.mark.parametrize(
    ("created_at", "lost_at", "lang", "noted"),
    [
        (200.0, None, "en", False),  # no loss
        (90.0, 100.0, "en", False),  # made before the loss: not a repeat
        (200.0, 100.0, "en", True),
        (200.0, 100.0, "zh", True),
    ],
)
def test_only_messages_made_after_a_loss_carry_the_note(
    created_at: float, lost_at: float | None, lang: str, noted: bool
) -> None:
    n = Notification("id", NotificationKind.FIRING, "c", "n", "node_not_ready", Severity.CRITICAL, "s",
                     {"message": "kubelet stopped"}, 0.0, created_at)  # fmt: skip
    out = stateloss.noted(n, lost_at, lang)
    details = str(out.params["message"])
    assert details.startswith("kubelet stopped")
    assert (details != "kubelet stopped") is noted
    if noted:
        assert ("丢失了告警状态" if lang == "zh" else LOST) in details and "1970-01-01 00:01 UTC" in details


def test_cli_commands_with_redis_down_say_where_they_looked_in_one_line(tmp_path: Path) -> None:
    port = localredis.free_port()  # nothing listens there
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump({"clusters": []}))
    env = dict(os.environ, REDIS_URL=f"redis://:hunter2pw@127.0.0.1:{port}/0", NODEWATCH_CONFIG=str(cfg))
    for argv in (
        ["alerts", "list"],
        ["alerts", "ack", "abc123"],
        ["alerts", "why", "abc123"],
        ["silence", "list"],
        ["silence", "add", "--node", "x", "--author", "me", "--comment", "test"],
        ["deadletters", "list"],
        ["deadletters", "retry"],
    ):
        out = subprocess.run(
            [NODEWATCH, *argv], env=env, capture_output=True, text=True, timeout=60, cwd=ROOT
        )
        assert out.returncode == 3, (argv, out.stdout, out.stderr)
        (line,) = out.stderr.splitlines()
        assert line.startswith("nodewatch: cannot use Redis at redis://:**@127.0.0.1:") and str(port) in line
        assert "$REDIS_URL" in line and "hunter2pw" not in out.stderr + out.stdout
