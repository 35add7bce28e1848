"""worker/localredis.py: the Redis a replay (or the demo) runs on, without disturbing anyone else's database."""

from __future__ import annotations

import pytest
import redis

from worker import localredis


def test_redis_url_that_answers_is_used_as_is(redis_url: str) -> None:
    with localredis.find_or_start(env_url=redis_url) as r:
        assert (r.url, r.origin, r.shared) == (redis_url, "REDIS_URL", True)


@pytest.mark.skipif(not localredis.answers("redis://127.0.0.1:6379/0"), reason="no local Redis on 6379")
def test_local_redis_gives_an_empty_claimed_database_and_releases_it(redis_url: str) -> None:
    with localredis.find_or_start(env_url="") as r:
        if r.origin.startswith("private redis-server"):
            # a machine whose every database holds other programs' keys (other sessions' runs): then the fallback,
            # and only when it is true that no database could be had
            assert "every free database of the local Redis holds another program's keys" in r.origin, r.origin
            local = redis.Redis.from_url("redis://127.0.0.1:6379/0")
            for n in range(1, 16):
                if n not in localredis.AVOID_DBS:
                    taken = local.exists(localredis.CLAIM_KEY.format(db=n))
                    assert taken or redis.Redis.from_url(f"redis://127.0.0.1:6379/{n}").dbsize() > 0, n
            pytest.skip("every database of the local Redis is in use: checked the private fallback instead")
        db = int(r.url.rsplit("/", 1)[1])
        assert r.origin.startswith(f"local db {db} (empty") and not r.shared
        assert db not in localredis.AVOID_DBS and r.url != redis_url  # never the test session's own database
        claim = redis.Redis.from_url("redis://127.0.0.1:6379/0")
        assert claim.exists(localredis.CLAIM_KEY.format(db=db))
        assert redis.Redis.from_url(r.url).keys() == [localredis.MARK_KEY.encode()]  # empty but for our mark
    assert not claim.exists(localredis.CLAIM_KEY.format(db=db))


def test_a_redis_url_that_does_not_answer_is_skipped() -> None:
    dead = f"redis://127.0.0.1:{localredis.free_port()}/0"
    with localredis.find_or_start(env_url=dead) as r:
        assert r.origin != "REDIS_URL" and localredis.answers(r.url)
