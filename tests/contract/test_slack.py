"""Slack incoming-webhook channel against chatsim: Block Kit body, colours, and Slack's own error bodies."""

from __future__ import annotations

import pytest
import requests

from chatsim.testing import ChatSim
from tests.configs import endpoint
from tests.contract.helpers import assert_leaks_no_secret, assert_retries_as_expected, notification
from worker.model import NotificationKind, Severity
from worker.notify.channels import slack

TOKEN = "SlackTok3nSecretOne"


@pytest.fixture
def channel(chat: ChatSim, session: requests.Session) -> slack.SlackChannel:
    return slack.SlackChannel(endpoint("slack", chat.slack_url(TOKEN)), session=session, timeout=2)


@pytest.mark.parametrize(
    ("severity", "kind", "colour"),
    [
        (Severity.CRITICAL, NotificationKind.FIRING, "#E01E5A"),
        (Severity.WARNING, NotificationKind.FIRING, "#ECB22E"),
        (Severity.INFO, NotificationKind.FIRING, "#36C5F0"),
        (Severity.CRITICAL, NotificationKind.RESOLVED, "#2EB67D"),
    ],
)
def test_attachment_colour_follows_severity(
    channel: slack.SlackChannel, chat: ChatSim, severity: Severity, kind: NotificationKind, colour: str
) -> None:
    channel.send(notification(kind=kind, severity=severity))
    [msg] = chat.wait_for(1, "slack")
    body = msg["body"]
    assert body["attachments"][0]["color"] == colour
    assert body["blocks"][0]["type"] == "header"
    fields = body["attachments"][0]["blocks"][0]["fields"]
    assert {"type": "mrkdwn", "text": "*集群*\ndemo"} in fields


def test_english_channel_and_pods_section(chat: ChatSim, session: requests.Session) -> None:
    channel = slack.SlackChannel(endpoint("slack", chat.slack_url(TOKEN), "en"), session=session)
    pods = [{"namespace": "web", "name": f"api-{i}", "cpu_m": 900} for i in range(3)]
    channel.send(notification(value=97.0, threshold=90.0, pods=pods))
    [msg] = chat.wait_for(1, "slack")
    assert msg["headline"] == "🔥 [CRITICAL] cluster demo node demo-cpu-1 CPU usage 97% (threshold 90%)"
    sections = [b for b in msg["body"]["attachments"][0]["blocks"] if b["type"] == "section" and "text" in b]
    assert "web/api-2 (cpu 900m)" in sections[0]["text"]["text"]


def test_header_is_clipped_to_slack_limit(channel: slack.SlackChannel, chat: ChatSim) -> None:
    channel.send(notification(node="n" * 300))
    [msg] = chat.wait_for(1, "slack")
    assert len(msg["body"]["blocks"][0]["text"]["text"]) <= slack.HEADER_MAX


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, "invalid_payload"),
        (403, "action_prohibited"),
        (404, "channel_not_found"),
        (410, "channel_is_archived"),
    ],
)
def test_4xx_is_permanent_with_slack_reason(
    channel: slack.SlackChannel, chat: ChatSim, status: int, body: str
) -> None:
    chat.fault("slack", status=status, body=body)
    assert_retries_as_expected(
        lambda: channel.send(notification()), retryable=False, secrets=[TOKEN], reason=body
    )


def test_unknown_webhook_is_no_service(chat: ChatSim, session: requests.Session) -> None:
    chat.slack_url(TOKEN)  # registers one token; this one is not it
    url = f"{chat.url}/services/TCHATSIM/BCHATSIM/UnknownTokenSecret"
    channel = slack.SlackChannel(endpoint("slack", url), session=session)
    assert_retries_as_expected(
        lambda: channel.send(notification()),
        retryable=False,
        secrets=["UnknownTokenSecret"],
        reason="no_service",
    )


def test_200_without_ok_is_not_success(channel: slack.SlackChannel, chat: ChatSim) -> None:
    chat.fault("slack", status=200, body="<html>proxy login</html>")
    assert_retries_as_expected(
        lambda: channel.send(notification()), retryable=False, secrets=[TOKEN], reason="proxy login"
    )


def test_429_without_retry_after_has_no_delay_hint(channel: slack.SlackChannel, chat: ChatSim) -> None:
    chat.fault("slack", status=429, body="rate_limited")
    exc = assert_retries_as_expected(lambda: channel.send(notification()), retryable=True, secrets=[TOKEN])
    assert "rate_limited" in exc.reason


def test_target_masks_the_token(channel: slack.SlackChannel) -> None:
    assert channel.target.endswith("/services/TCHATSIM/BCHATSIM/***")
    assert_leaks_no_secret(channel.target, [TOKEN])
