"""`nodewatch health`: the image's HEALTHCHECK and the manifests' probes, against a real Redis and a real worker.

The worker probe must prove that the worker consumes: its consumer loop writes the heartbeat, so a worker whose
process lives while its loop is stopped (SIGSTOP here: what a deadlock or a hung socket looks like from outside)
fails the probe once the heartbeat is older than --max-age.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import NODEWATCH, Proc, start_worker
from tests.polling import wait


def health(redis_url: str, config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, REDIS_URL=redis_url, NODEWATCH_CONFIG=str(config))
    return subprocess.run([NODEWATCH, "health", *args], env=env, capture_output=True, text=True, timeout=60)


def test_health_needs_redis_and_says_where(write_config: Callable[..., Path]) -> None:
    config = write_config({"checkInterval": 60})
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        url = f"redis://127.0.0.1:{s.getsockname()[1]}/0"
    down = health(url, config)
    assert down.returncode == 3 and "cannot use Redis at" in down.stderr
    tolerated = health(url, config, "--worker", "--tolerate-redis-outage")
    assert tolerated.returncode == 0 and "unreachable" in tolerated.stdout


def test_health_fails_on_a_bad_config(redis_url: str, write_config: Callable[..., Path]) -> None:
    proc = health(redis_url, write_config({"checkInterval": "often"}))
    assert proc.returncode == 2 and "checkInterval" in proc.stderr


@pytest.mark.slow
def test_worker_probe_follows_the_consumer_loop(
    redis_url: str, write_config: Callable[..., Path], nodewatch_proc: Callable[..., Proc]
) -> None:
    config = write_config({"checkInterval": 60, "clusters": []})
    name = f"probe@{socket.gethostname()}"
    assert (
        health(redis_url, config, "--worker", "--hostname", name).returncode == 1
    )  # not started: no heartbeat
    worker = start_worker(nodewatch_proc, config, name="probe", concurrency=1)
    ok = wait(
        lambda: (p := health(redis_url, config, "--worker", "--hostname", name)).returncode == 0 and p,
        30, "the worker's first heartbeat",
    )  # fmt: skip
    assert f"worker {name} consumer loop ran" in ok.stdout
    assert health(redis_url, config).returncode == 0
    os.killpg(worker.proc.pid, signal.SIGSTOP)  # the PID lives on; the loop does not run
    try:
        failed = wait(
            lambda: (p := health(redis_url, config, "--worker", "--hostname", name, "--max-age", "10s")).returncode
            == 1 and p,
            30, "the probe failing on a stopped worker",
        )  # fmt: skip
        assert "consumer loop last ran" in failed.stderr and "more than --max-age 10s" in failed.stderr
    finally:
        os.killpg(worker.proc.pid, signal.SIGCONT)
    wait(
        lambda: health(redis_url, config, "--worker", "--hostname", name, "--max-age", "10s").returncode == 0,
        30, "the probe passing again once the loop runs",
    )  # fmt: skip
