"""Apprise channel against chatsim's generic webhook through Apprise's ``json://`` plugin (offline, real HTTP)."""

from __future__ import annotations

import pytest

from chatsim.testing import ChatSim
from tests.configs import endpoint
from tests.contract.helpers import assert_leaks_no_secret, assert_retries_as_expected, notification
from worker.model import NotificationKind
from worker.notify import registry
from worker.notify.channel import Channel

USER, PASSWORD = "nwuser", "apprise-pass-s3cret"


def channel(chat: ChatSim, timeout: float = 2.0) -> Channel:
    url = chat.webhook_url("apprise").replace("http://", f"json://{USER}:{PASSWORD}@")
    return registry.channel(endpoint("apprise", url, "en"), timeout=timeout)


def test_delivers_title_body_and_type(chat: ChatSim) -> None:
    ch = channel(chat)
    ch.send(notification())
    [msg] = chat.wait_for(1, "webhook")
    body = msg["body"]
    assert body["title"].startswith("🔥 [CRITICAL] cluster demo node demo-cpu-1")
    assert "**Threshold**: 90%" in body["message"] and body["type"] == "failure"
    assert_leaks_no_secret(ch.target, [PASSWORD])
    assert_leaks_no_secret(repr(msg["body"]), [PASSWORD])


def test_resolved_is_a_success_type(chat: ChatSim) -> None:
    channel(chat).send(notification(kind=NotificationKind.RESOLVED))
    [msg] = chat.wait_for(1, "webhook")
    assert msg["body"]["type"] == "success"


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ({"status": 503, "body": "down"}, "503"),
        ({"status": 429, "retry_after": 5}, "429"),
        ({"close": True}, "apprise"),
        ({"hang": 5}, "apprise"),
    ],
)
def test_failures_are_retryable_with_a_redacted_reason(
    chat: ChatSim, fault: dict[str, object], reason: str
) -> None:
    chat.fault("webhook", **fault)
    ch = channel(chat, timeout=0.5)
    exc = assert_retries_as_expected(lambda: ch.send(notification()), retryable=True, secrets=[PASSWORD])
    assert reason in exc.reason
    assert chat.attempts("webhook")[0].startswith("fault:")  # one request: Apprise's own retries are off
    assert len(chat.attempts("webhook")) == 1


def test_unknown_scheme_is_a_config_error() -> None:
    with pytest.raises(ValueError, match="telex"):
        registry.channel(endpoint("apprise", "telex://secret-token-1234"))
