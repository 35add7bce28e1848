"""Generic webhook channel against chatsim: nodewatch schema, HMAC signature header, Alertmanager body."""

from __future__ import annotations

import hashlib
import hmac
import json

import requests

from chatsim.testing import ChatSim
from tests.configs import endpoint
from tests.contract.helpers import assert_retries_as_expected, notification
from worker.model import NotificationKind
from worker.notify.channels import webhook

SECRET = "hook-hmac-secret-0123"


def test_nodewatch_body_is_signed_and_verified_by_receiver(chat: ChatSim, session: requests.Session) -> None:
    hook = endpoint("webhook", chat.webhook_url("ops", secret=SECRET), secret=SECRET)
    channel = webhook.WebhookChannel(hook, session=session)
    channel.send(notification())
    [msg] = chat.wait_for(1, "webhook")
    body = msg["body"]
    assert body["version"] == "1" and body["source"] == "nodewatch"
    assert (body["kind"], body["status"], body["severity"]) == ("firing", "firing", "critical")
    assert (body["cluster"], body["node"], body["rule"]) == ("demo", "demo-cpu-1", "cpu_usage")
    assert body["params"] == {"value": 97.0, "threshold": 90.0}
    assert body["started_at"] == "2026-05-28T20:26:40Z"
    assert {"name": "集群", "value": "demo"} in body["fields"]
    # the receiver verified it already; check the header against the compact body independently
    raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    expected = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    assert msg["headers"]["X-Nodewatch-Signature"] == expected


def test_wrong_secret_is_rejected_by_receiver(chat: ChatSim, session: requests.Session) -> None:
    url = chat.webhook_url("signed", secret=SECRET)
    channel = webhook.WebhookChannel(endpoint("webhook", url, secret="hook-other-secret-99"), session=session)
    assert_retries_as_expected(
        lambda: channel.send(notification()),
        retryable=False,
        secrets=[SECRET, "hook-other-secret-99"],
        reason="401",
    )


def test_alertmanager_body(chat: ChatSim, session: requests.Session) -> None:
    hook = endpoint(
        "webhook", chat.webhook_url("am"), "en", name="ops-team", body="alertmanager",
        external_url="http://nodewatch.example",
    )  # fmt: skip
    channel = webhook.WebhookChannel(hook, session=session)
    channel.send(notification())
    channel.send(notification(kind=NotificationKind.RESOLVED))
    firing, resolved = (m["body"] for m in chat.wait_for(2, "webhook"))
    assert firing["version"] == "4" and firing["status"] == "firing" and firing["receiver"] == "ops-team"
    assert firing["externalURL"] == "http://nodewatch.example"
    [alert] = firing["alerts"]
    assert alert["labels"] == {
        "alertname": "cpu_usage",
        "cluster": "demo",
        "severity": "critical",
        "node": "demo-cpu-1",
    }
    assert alert["endsAt"] == webhook.ZERO_TIME and alert["fingerprint"] == "fp-demo"
    assert alert["annotations"]["summary"].startswith("🔥 [CRITICAL] cluster demo")
    assert firing["groupLabels"] == {"alertname": "cpu_usage", "cluster": "demo"}
    assert resolved["status"] == "resolved" and resolved["alerts"][0]["endsAt"] == "2026-05-28T20:31:40Z"


def test_authorization_header_value_is_treated_as_secret(chat: ChatSim, session: requests.Session) -> None:
    token = "Bearer abcdef-header-token"
    hook = endpoint("webhook", chat.webhook_url("auth"), headers={"Authorization": token})
    channel = webhook.WebhookChannel(hook, session=session)
    chat.fault("webhook", status=403, body=f"bad credentials {token}")
    assert_retries_as_expected(
        lambda: channel.send(notification()), retryable=False, secrets=["abcdef-header-token"], reason="403"
    )


def test_unknown_body_kind_fails_at_construction(session: requests.Session) -> None:
    try:
        webhook.WebhookChannel(endpoint("webhook", "http://x", body="teams"), session=session)
    except ValueError as exc:
        assert "teams" in str(exc)
    else:
        raise AssertionError("expected ValueError")
