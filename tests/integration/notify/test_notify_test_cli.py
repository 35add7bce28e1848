"""``nodewatch notify test`` in-process against chatsim and a real Redis: delivered, retried N times and why,
failed with the reason, the shared rate limit respected — and no secret in what it prints."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from chatsim.testing import ChatSim
from tests.contract.helpers import assert_leaks_no_secret
from worker import settings
from worker.cli.notify import try_receiver
from worker.state import ratelimit

TOKEN, SECRET, SLACK, KEY = "cli-ding-token-1", "SECcli-secret-123", "clislacktoken1", "cli-wecom-key-1"


@pytest.fixture()
def chat() -> Iterator[ChatSim]:
    with ChatSim() as c:
        yield c


def config(chat: ChatSim) -> settings.Settings:
    raw: dict[str, Any] = {
        "language": "en",
        "notify": {"minRetryDelay": 0.2, "maxRetryDelay": 1},
        "dingtalk": {"webhookURL": chat.register_dingtalk(TOKEN, SECRET), "secret": SECRET},
        "slack": {"webhookURL": chat.slack_url(SLACK)},
        "receivers": [{"name": "bad-wecom", "kind": "wecom", "url": chat.wecom_url(KEY) + "x"}],
    }
    return settings.parse(raw, env={})


def test_delivered_retried_and_failed_each_said_plainly(chat: ChatSim, redis_client: redis.Redis) -> None:
    cfg = config(chat)
    lim = ratelimit.RateLimiter(redis_client)
    chat.fault("dingtalk", errcode=130101, errmsg="send too fast")
    chat.fault("dingtalk", status=502)
    ding = try_receiver(cfg, "dingtalk", limiter=lim, timeout=20)
    assert ding.delivered and len(ding.reasons) == 2
    assert "130101" in ding.reasons[0] and "502" in ding.reasons[1]
    assert ding.line().startswith("dingtalk: delivered after retrying 2 time(s)")
    assert chat.attempts("dingtalk") == ["fault:errcode:130101", "fault:http:502", "accepted"]

    bad = try_receiver(cfg, "bad-wecom", limiter=lim, timeout=20)
    assert not bad.delivered and bad.line().startswith("bad-wecom: FAILED") and "93000" in bad.line()

    chat.fault("slack", status=503, times=100)
    slack = try_receiver(cfg, "slack", limiter=lim, timeout=2)
    assert not slack.delivered and "gave up" in slack.line() and len(slack.reasons) >= 2
    for line in (ding.line(), bad.line(), slack.line()):
        assert_leaks_no_secret(line, [TOKEN, SECRET, SLACK, KEY])


def test_waits_for_the_shared_rate_limit(chat: ChatSim, redis_client: redis.Redis) -> None:
    cfg = config(chat)
    lim = ratelimit.RateLimiter(redis_client)
    assert lim.take("slack", ratelimit.Bucket.for_limit(1, 1)) == 0.0  # a worker just used the token
    t0 = time.monotonic()
    out = try_receiver(cfg, "slack", limiter=lim, timeout=10)
    assert out.delivered and out.waited > 0.5 and time.monotonic() - t0 > 0.5
    assert "waited" in out.line()
