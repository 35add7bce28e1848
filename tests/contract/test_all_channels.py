"""Failure classes every channel must get right, run against chatsim over real HTTP for each channel kind."""

from __future__ import annotations

import socket
from dataclasses import dataclass

import pytest
import requests

from chatsim.testing import ChatSim
from tests.configs import endpoint
from tests.contract.helpers import assert_leaks_no_secret, assert_retries_as_expected, notification
from worker.notify import errors, registry
from worker.notify.channel import Channel

KINDS = ["slack", "dingtalk", "wecom", "webhook"]
HEADLINE = "🔥 [严重] 集群 demo 节点 demo-cpu-1 CPU 使用率 97% (阈值 90%)"


@dataclass
class Case:
    kind: str
    channel: Channel
    secrets: list[str]


def make_case(
    kind: str, chat: ChatSim, session: requests.Session, timeout: float = 2.0, base: str | None = None
) -> Case:
    """The channel of ``kind`` for chatsim, or with the same path and query (tokens included) at ``base``."""
    if kind == "slack":
        token = "SlackTok3nSecretAll"
        url, options, secrets = chat.slack_url(token), {}, [token]
    elif kind == "dingtalk":
        token, secret = "dt-all-token-secret", "SECall-signing-secret"
        url, options, secrets = chat.register_dingtalk(token, secret), {"secret": secret}, [token, secret]
    elif kind == "wecom":
        key = "wecom-all-key-secret"
        url, options, secrets = chat.wecom_url(key), {}, [key]
    else:
        secret = "hook-all-hmac-secret"
        url, options, secrets = chat.webhook_url("all", secret=secret), {"secret": secret}, [secret]
    if base is not None:
        url = url.replace(chat.url, base)
    return Case(
        kind, registry.channel(endpoint(kind, url, **options), session=session, timeout=timeout), secrets
    )


@pytest.fixture(params=KINDS)
def case(request: pytest.FixtureRequest, chat: ChatSim, session: requests.Session) -> Case:
    return make_case(request.param, chat, session)


def test_delivers_and_the_receiver_records_the_headline(case: Case, chat: ChatSim) -> None:
    case.channel.send(notification())
    [msg] = chat.wait_for(1, case.kind)
    assert msg["headline"] == HEADLINE
    assert_leaks_no_secret(repr(msg), case.secrets)
    assert_leaks_no_secret(case.channel.target, case.secrets)


def test_5xx_is_retryable_without_delay(case: Case, chat: ChatSim) -> None:
    chat.fault(case.kind, status=503, body="upstream down")
    assert_retries_as_expected(
        lambda: case.channel.send(notification()), retryable=True, secrets=case.secrets, reason="503"
    )


def test_429_carries_retry_after_as_delay(case: Case, chat: ChatSim) -> None:
    chat.fault(case.kind, status=429, retry_after=7)
    assert_retries_as_expected(
        lambda: case.channel.send(notification()), retryable=True, delay=7, secrets=case.secrets, reason="429"
    )


def test_hang_times_out_as_retryable(case: Case, chat: ChatSim, session: requests.Session) -> None:
    impatient = make_case(case.kind, chat, session, timeout=0.3)
    chat.fault(case.kind, hang=5)
    assert_retries_as_expected(
        lambda: impatient.channel.send(notification()),
        retryable=True,
        secrets=impatient.secrets,
        reason="timed out",
    )
    assert chat.attempts(case.kind) == ["fault:hang"]


def test_closed_connection_is_retryable_after_one_request(case: Case, chat: ChatSim) -> None:
    chat.fault(case.kind, close=True)
    assert_retries_as_expected(
        lambda: case.channel.send(notification()), retryable=True, secrets=case.secrets, reason="connection"
    )
    # the channel itself never retries: that is the delivery stage's job
    assert chat.attempts(case.kind) == ["fault:close"]


def test_refused_connection_is_retryable_and_names_no_secret(case: Case, chat: ChatSim) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # same path and query (tokens included), a port where nobody listens
    dead = make_case(case.kind, chat, requests.Session(), base=f"http://127.0.0.1:{port}")
    exc = assert_retries_as_expected(
        lambda: dead.channel.send(notification()), retryable=True, secrets=dead.secrets, reason="connection"
    )
    assert "refused" in exc.reason.lower()


def test_two_failures_then_delivery_as_a_retry_loop_sees_it(case: Case, chat: ChatSim) -> None:
    chat.fault(case.kind, status=500, times=2)
    outcomes = []
    for _ in range(3):
        try:
            case.channel.send(notification())
            outcomes.append("ok")
        except errors.RetryableError:
            outcomes.append("retry")
    assert outcomes == ["retry", "retry", "ok"]
    assert chat.attempts(case.kind) == ["fault:http:500", "fault:http:500", "accepted"]
    assert len(chat.wait_for(1, case.kind)) == 1


def test_400_is_permanent_with_the_service_text(case: Case, chat: ChatSim) -> None:
    chat.fault(case.kind, status=400, body="invalid_payload")
    assert_retries_as_expected(
        lambda: case.channel.send(notification()),
        retryable=False,
        secrets=case.secrets,
        reason="invalid_payload",
    )
