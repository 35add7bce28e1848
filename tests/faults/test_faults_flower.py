"""`nodewatch flower` shows no Redis password, keeps it off command lines and leaves nothing running (issue 12).

Real parts: a redis-server the test starts with ``requirepass`` (worker.localredis.RedisServer, the password in its
config file, not on its command line), real ``nodewatch worker``, ``nodewatch beat`` and ``nodewatch flower``
processes. Everything Flower serves about workers and the broker, every command line of those processes and their
children (``/proc/<pid>/cmdline``, what ``ps`` shows) and their logs are searched for the password.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml

from tests.conftest import NODEWATCH, ROOT, Proc, stop_all
from worker import localredis

PASSWORD = "flowerRedisPw3c9f1a77"
AUTH = ("ops", "flower-basic-pass-5e")


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[localredis.RedisServer]:
    s = localredis.RedisServer(localredis.free_port(), tmp_path / "redis", password=PASSWORD).start()
    yield s
    s.stop()


@pytest.fixture()
def env(server: localredis.RedisServer, tmp_path: Path) -> dict[str, str]:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump({"logLevel": "info", "clusters": []}))
    return dict(
        os.environ,
        REDIS_URL=server.url,
        NODEWATCH_CONFIG=str(cfg),
        FLOWER_BASIC_AUTH=":".join(AUTH),
        PYTHONUNBUFFERED="1",
    )


@pytest.fixture()
def procs() -> Iterator[list[Proc]]:
    started: list[Proc] = []
    yield started
    stop_all(started)


def children(pid: int) -> list[int]:
    """``pid`` and every process below it, from /proc."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue  # gone meanwhile
            parents.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo.extend(parents.get(p, []))
    return tree


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def start_flower(env: dict[str, str], procs: list[Proc]) -> tuple[Proc, str]:
    port = localredis.free_port()
    flower = Proc([NODEWATCH, "flower", "--port", str(port)], env, None)
    procs.append(flower)
    return flower, f"http://127.0.0.1:{port}"


def flower_up(flower: Proc, url: str) -> None:
    deadline = time.time() + 60
    while True:  # up when its API answers
        try:
            if requests.get(f"{url}/api/workers", auth=AUTH, timeout=2).ok:
                return
        except requests.ConnectionError:
            pass
        assert time.time() < deadline and flower.proc.poll() is None, flower.output()[-3000:]
        time.sleep(0.2)


def test_no_redis_password_in_flower_command_lines_or_logs(env: dict[str, str], procs: list[Proc]) -> None:
    flower, url = start_flower(env, procs)  # it starts while the worker does
    worker = Proc([NODEWATCH, "worker", "--concurrency", "1", "--hostname", "fw1@%h"], env, "ready.")
    beat = Proc([NODEWATCH, "beat"], env, None)
    procs += [worker, beat]
    flower_up(flower, url)
    deadline = time.time() + 60
    while True:  # Flower has asked the worker for its settings (what /api/workers shows)
        workers = requests.get(f"{url}/api/workers", params={"refresh": "1"}, auth=AUTH, timeout=30).json()
        name = next((n for n in workers if n.startswith("fw1@")), None)
        if name and workers[name].get("conf"):
            break
        assert time.time() < deadline, workers
        time.sleep(0.5)
    conf = workers[name]["conf"]
    assert "broker_url" in conf and str(conf).count("127.0.0.1") >= 1  # the settings are really there
    shown = [requests.get(f"{url}/api/workers", params={"refresh": "1"}, auth=AUTH, timeout=30).text]
    for page in ("/workers", f"/worker/{name}", "/broker", "/tasks", "/api/tasks"):
        response = requests.get(f"{url}{page}", auth=AUTH, timeout=30)
        assert response.ok, (page, response.status_code)
        shown.append(response.text)
    leaks = [page for page in shown if PASSWORD in page]
    assert leaks == []
    lines = {pid: cmdline(pid) for p in (worker, beat, flower) for pid in children(p.proc.pid)}
    assert len(lines) >= 4  # nodewatch worker + its pool child, beat, flower
    assert [pid for pid, line in lines.items() if PASSWORD in line] == [], lines
    stop_all((worker, beat, flower))
    assert PASSWORD not in "\n".join(p.output() for p in (worker, beat, flower))


def test_sigterm_stops_flower_and_all_it_started(env: dict[str, str], procs: list[Proc]) -> None:
    flower, url = start_flower(env, procs)
    flower_up(flower, url)
    tree = children(flower.proc.pid)
    os.kill(flower.proc.pid, signal.SIGTERM)  # what `kill PID`, systemd or Kubernetes send
    flower.proc.wait(20)
    deadline = time.time() + 10
    while any(alive(pid) for pid in tree):
        assert time.time() < deadline, [(pid, cmdline(pid)) for pid in tree if alive(pid)]
        time.sleep(0.1)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/api/workers", auth=AUTH, timeout=2)  # nobody listens any more


def test_flower_on_a_port_in_use_says_so_in_one_line(env: dict[str, str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = subprocess.run(
            [NODEWATCH, "flower", "--port", str(port)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
        )
    assert out.returncode == 3, out.stdout + out.stderr
    assert "Traceback" not in out.stdout + out.stderr
    (line,) = out.stderr.strip().splitlines()
    assert line == f"nodewatch: flower cannot listen on 127.0.0.1:{port}: Address already in use"
