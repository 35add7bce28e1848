"""Local runs never touch data they do not own (issue 12): worker/localredis against a redis-server the test starts.

Another program's keys are planted in the test's own redis-server (standing in for the machine's 127.0.0.1:6379 or
a $REDIS_URL); a local run must pick a database that was empty or mark-ours, never flush another, and take its
own keys away at the end — and `nodewatch demo` must leave nothing behind.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from worker import localredis

NODEWATCH = str(Path(sys.executable).with_name("nodewatch"))
FOREIGN = {f"app:session:{i}": f"value-{i}" for i in range(16)}  # "16 keys of another program"


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[localredis.RedisServer]:
    s = localredis.RedisServer(localredis.free_port(), tmp_path / "redis").start()
    yield s
    s.stop()


def base(server: localredis.RedisServer) -> str:
    return server.url.rsplit("/", 1)[0]


def db(server: localredis.RedisServer, n: int) -> redis.Redis:
    return redis.Redis.from_url(f"{base(server)}/{n}", decode_responses=True)


def plant(server: localredis.RedisServer, n: int) -> None:
    db(server, n).mset(FOREIGN)


def intact(server: localredis.RedisServer, n: int) -> bool:
    client = db(server, n)
    return client.dbsize() == len(FOREIGN) and client.mget(list(FOREIGN)) == list(FOREIGN.values())


def test_a_database_holding_another_programs_keys_is_never_flushed_nor_used(
    server: localredis.RedisServer, tmp_path: Path
) -> None:
    plant(server, 15)  # the first database a local run would claim
    with localredis.find_or_start(str(tmp_path), env_url="", local=base(server)) as r:
        assert r.url == f"{base(server)}/14" and r.origin.startswith("local db 14 (empty")
        assert "flushed" not in r.origin
        assert intact(server, 15)
        db(server, 14).set("nw:{demo}:status", "x")  # what the run writes
    assert intact(server, 15)
    assert db(server, 14).dbsize() == 0  # ours went at the end
    assert not db(server, 0).exists(localredis.CLAIM_KEY.format(db=14))  # claim released


def test_when_every_database_holds_foreign_keys_a_private_server_is_started(
    server: localredis.RedisServer, tmp_path: Path
) -> None:
    for n in range(1, 16):
        plant(server, n)
    with localredis.find_or_start(str(tmp_path), env_url="", local=base(server)) as r:
        assert r.origin.startswith("private redis-server on port ")
        assert "another program's keys" in r.origin
        assert not r.url.startswith(base(server))
    assert all(intact(server, n) for n in range(1, 16))
    assert db(server, 0).dbsize() == 0  # no claim left behind


def test_a_redis_url_with_another_programs_keys_is_not_used(
    server: localredis.RedisServer, tmp_path: Path
) -> None:
    plant(server, 4)
    foreign_url = f"{base(server)}/4"
    with localredis.find_or_start(str(tmp_path), env_url=foreign_url, local=base(server)) as r:
        assert r.url != foreign_url
        assert "$REDIS_URL not used: that database holds 16 keys, another program's" in r.origin
    assert intact(server, 4)


def test_an_empty_redis_url_database_is_marked_and_only_our_keys_are_removed(
    server: localredis.RedisServer, tmp_path: Path
) -> None:
    url = f"{base(server)}/6"
    with localredis.find_or_start(str(tmp_path), env_url=url, local=base(server)) as r:
        assert (r.url, r.origin, r.shared) == (url, "REDIS_URL", True)
        client = db(server, 6)
        assert client.exists(localredis.MARK_KEY)
        # a run's keys: nodewatch state, RedBeat, Celery queues (with a priority sub-queue) and bindings
        client.set("nw:{c}:status", "1")
        client.set("nw:redbeat::lock", "1")
        client.rpush("scan", "task")
        client.rpush("notify\x06\x163", "task")
        client.sadd("_kombu.binding.scan", "scan")
        client.hset("unacked", "tag", "task")
        client.set("other-program:written-meanwhile", "keep me")  # not ours: stays
    assert db(server, 6).keys() == ["other-program:written-meanwhile"]


def test_a_database_marked_by_a_run_that_died_is_reused_but_not_while_claimed(
    server: localredis.RedisServer, tmp_path: Path
) -> None:
    leftovers = db(server, 15)
    leftovers.mset({localredis.MARK_KEY: "pid 1", "nw:{old}:status": "1"})  # a run killed before its cleanup
    db(server, 14).mset({localredis.MARK_KEY: "pid 2", "nw:{live}:status": "1"})
    db(server, 0).set(localredis.CLAIM_KEY.format(db=14), "2")  # ... while this one is still running
    with localredis.find_or_start(str(tmp_path), env_url="", local=base(server)) as r:
        assert r.url == f"{base(server)}/15"
        assert leftovers.keys() == [localredis.MARK_KEY]  # the dead run's keys went, ours is the mark
    assert db(server, 14).get("nw:{live}:status") == "1"  # the live run's database was not touched


@pytest.mark.slow
def test_demo_uses_an_empty_database_and_takes_its_keys_away_at_exit(
    server: localredis.RedisServer, tmp_path: Path
) -> None:
    plant(server, 0)
    plant(server, 5)
    env = dict(os.environ, REDIS_URL=f"{base(server)}/3", PYTHONUNBUFFERED="1")
    out = subprocess.run(
        [NODEWATCH, "demo", "--duration", "25", "--no-flower", "--language", "en"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "demo: Redis REDIS_URL" in out.stdout  # it says which Redis it used: the one REDIS_URL names
    summary = next(line for line in out.stdout.splitlines() if line.startswith("demo summary:"))
    assert " 0 scans" not in summary  # it did run on that database
    assert db(server, 3).dbsize() == 0, db(server, 3).keys()
    assert intact(server, 0) and intact(server, 5)
