"""DingTalk custom-robot channel against chatsim, which verifies the signature, timestamp window and keyword."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from chatsim.testing import ChatSim
from tests.configs import endpoint
from tests.contract.helpers import assert_leaks_no_secret, assert_retries_as_expected, notification
from worker.model import NotificationKind
from worker.notify.channels import dingtalk

TOKEN = "dt-token-secret-0123"
SECRET = "SECdingtalk-signing-secret"
SECRETS = [TOKEN, SECRET]


def make(chat: ChatSim, session: requests.Session, **kw: Any) -> dingtalk.DingTalkChannel:
    url = chat.register_dingtalk(TOKEN, SECRET, keyword=kw.pop("robot_keyword", None))
    clock = kw.pop("clock", time.time)
    return dingtalk.DingTalkChannel(
        endpoint("dingtalk", url, secret=SECRET, **kw), session=session, timeout=2, clock=clock
    )


def test_signed_markdown_message_is_accepted(chat: ChatSim, session: requests.Session) -> None:
    make(chat, session).send(notification())
    [msg] = chat.wait_for(1, "dingtalk")
    body = msg["body"]
    assert body["msgtype"] == "markdown"
    assert body["markdown"]["title"] == "🔥 [严重] 集群 demo 节点 demo-cpu-1 CPU 使用率 97% (阈值 90%)"
    assert body["markdown"]["text"].startswith("#### 🔥 [严重]")
    assert body["at"] == {"atMobiles": [], "isAtAll": False}
    assert msg["robot"] == "dt-***"


def test_signature_matches_dingtalk_reference_algorithm() -> None:
    # value computed with the Python snippet from DingTalk's documentation (hmac(secret, "ts\nsecret"), b64, quote_plus)
    assert dingtalk.sign("SECabc", 1_700_000_000_000) == "jcUpW0QmtKduN03n4JqQ0PBosVjqnM8gU7fIIvsDmCM%3D"


def test_wrong_secret_is_permanent_with_dingtalk_reason(chat: ChatSim, session: requests.Session) -> None:
    url = chat.register_dingtalk(TOKEN, SECRET)
    channel = dingtalk.DingTalkChannel(
        endpoint("dingtalk", url, secret="SECsomething-else-entirely"), session=session
    )
    assert_retries_as_expected(
        lambda: channel.send(notification()),
        retryable=False,
        secrets=[*SECRETS, "SECsomething-else-entirely"],
        reason="310000: sign not match",
    )
    assert chat.messages() == []


def test_unsigned_request_to_signed_robot_is_rejected(chat: ChatSim, session: requests.Session) -> None:
    url = chat.register_dingtalk(TOKEN, SECRET)
    channel = dingtalk.DingTalkChannel(endpoint("dingtalk", url), session=session)
    assert_retries_as_expected(
        lambda: channel.send(notification()), retryable=False, secrets=SECRETS, reason="invalid timestamp"
    )


@pytest.mark.parametrize(("skew", "accepted"), [(-3500, True), (3500, True), (-3700, False), (3700, False)])
def test_timestamp_window_is_one_hour(
    chat: ChatSim, session: requests.Session, skew: float, accepted: bool
) -> None:
    channel = make(chat, session, clock=lambda: time.time() + skew)
    if accepted:
        channel.send(notification())
        assert len(chat.wait_for(1, "dingtalk")) == 1
    else:
        assert_retries_as_expected(
            lambda: channel.send(notification()), retryable=False, secrets=SECRETS, reason="310000"
        )


def test_keyword_mode(chat: ChatSim, session: requests.Session) -> None:
    # (not "nodewatch": every message names it, in its ack and silence commands)
    without = make(chat, session, robot_keyword="监控告警")
    assert_retries_as_expected(
        lambda: without.send(notification()),
        retryable=False,
        secrets=SECRETS,
        reason="keywords not in content",
    )
    with_keyword = make(chat, session, robot_keyword="监控告警", keyword="监控告警")
    with_keyword.send(notification())
    [msg] = chat.wait_for(1, "dingtalk")
    assert msg["body"]["markdown"]["title"].startswith("监控告警 🔥")


def test_at_mobiles_and_all(chat: ChatSim, session: requests.Session) -> None:
    make(chat, session, at_mobiles=["13800000000"], at_all=True).send(notification())
    [msg] = chat.wait_for(1, "dingtalk")
    assert msg["body"]["at"] == {"atMobiles": ["13800000000"], "isAtAll": True}
    assert msg["body"]["markdown"]["text"].endswith("@13800000000")


def test_rate_limit_130101_is_retryable_after_a_minute(chat: ChatSim, session: requests.Session) -> None:
    channel = make(chat, session)
    for _ in range(20):
        channel.send(notification())
    assert_retries_as_expected(
        lambda: channel.send(notification()), retryable=True, delay=60, secrets=SECRETS, reason="130101"
    )
    assert len(chat.messages("dingtalk")) == 20


@pytest.mark.parametrize(
    ("errcode", "errmsg", "retryable", "delay"),
    [
        (130101, "send too fast, exceed 20 times per minute", True, 60.0),
        (-1, "系统繁忙", True, None),
        (310000, "ip not in whitelist", False, None),
        (300001, "token is not exist", False, None),
        (400102, "robot is stopped", False, None),
    ],
)
def test_errcodes_are_classified(
    chat: ChatSim, session: requests.Session, errcode: int, errmsg: str, retryable: bool, delay: float | None
) -> None:
    chat.fault("dingtalk", errcode=errcode, errmsg=errmsg)
    assert_retries_as_expected(
        lambda: make(chat, session).send(notification()),
        retryable=retryable,
        delay=delay,
        secrets=SECRETS,
        reason=f"errcode {errcode}: {errmsg}",
    )


def test_unknown_token_is_permanent(chat: ChatSim, session: requests.Session) -> None:
    url = f"{chat.url}/robot/send?access_token=never-registered-tok"
    channel = dingtalk.DingTalkChannel(endpoint("dingtalk", url), session=session)
    assert_retries_as_expected(
        lambda: channel.send(notification()),
        retryable=False,
        secrets=["never-registered-tok"],
        reason="300001",
    )


def test_long_message_is_fitted_under_dingtalk_limit(chat: ChatSim, session: requests.Session) -> None:
    pods = [{"namespace": "ns", "name": "p" * 200} for _ in range(10)]
    make(chat, session).send(notification(value=97.0, threshold=90.0, message="x\n" * 12000, pods=pods))
    [msg] = chat.wait_for(1, "dingtalk")
    assert len(msg["body"]["markdown"]["text"].encode()) <= dingtalk.MAX_BYTES
    assert "more" in msg["body"]["markdown"]["text"]


def test_resolved_message(chat: ChatSim, session: requests.Session) -> None:
    make(chat, session).send(notification(kind=NotificationKind.RESOLVED, rule="node_not_ready"))
    [msg] = chat.wait_for(1, "dingtalk")
    assert msg["headline"] == "✅ [已恢复] 集群 demo 节点 demo-cpu-1 节点恢复 Ready"


def test_target_masks_token(chat: ChatSim, session: requests.Session) -> None:
    assert_leaks_no_secret(make(chat, session).target, SECRETS)
