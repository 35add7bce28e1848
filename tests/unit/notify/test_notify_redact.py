"""redact(): known secrets (plain and URL-encoded) and credential patterns never survive."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import requests

from tests.configs import endpoint
from worker.notify import errors, http, registry
from worker.notify.redact import redact
from worker.settings import receivers


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "POST https://oapi.dingtalk.com/robot/send?access_token=abc123&timestamp=1&sign=xy%2Bz%3D",
            "POST https://oapi.dingtalk.com/robot/send?access_token=***&timestamp=1&sign=***",
        ),
        ("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=***"),
        ("https://hooks.slack.com/services/T0001/B0002/XXXXabcd1234", "https://hooks.slack.com/services/T0001/B0002/***"),
        ("Authorization: Bearer eyJhbGciOi.J9.abc", "Authorization: Bearer ***"),
        ("secret=SECabc123 and monkey=banana", "secret=*** and monkey=banana"),
        ('{"secret": "SEC123", "name": "ops"}', '{"secret": "***", "name": "ops"}'),
        ("https://api.telegram.org/bot123456:AAE-secret_x/sendMessage", "https://api.telegram.org/bot***/sendMessage"),
        ("https://user:p4ss@example.com/hook", "https://user:***@example.com/hook"),
        ("nothing secret here: value=3", "nothing secret here: value=3"),
    ],
)  # fmt: skip
def test_patterns(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_known_secrets_plain_and_url_encoded() -> None:
    secret = "SEC+abc/def=="
    text = f"raw {secret} quoted sign%3D{secret} q={'SEC%2Babc%2Fdef%3D%3D'} plus=SEC%2Babc%2Fdef%3D%3D"
    out = redact(text, [secret])
    assert "abc" not in out and out.count("***") >= 3


def test_short_strings_are_not_treated_as_secrets() -> None:
    assert redact("the cat sat", ["cat"]) == "the cat sat"


def test_retry_after_forms() -> None:
    response = requests.Response()
    response.headers["Retry-After"] = "12"
    assert http.retry_after(response) == 12.0
    response.headers["Retry-After"] = "Wed, 21 Oct 2026 07:28:10 GMT"
    assert http.retry_after(response, now=1_792_567_680.0) == pytest.approx(10.0)
    response.headers["Retry-After"] = "soon"
    assert http.retry_after(response) is None


def test_registry_builds_every_kind_and_names_unknown_ones() -> None:
    assert set(registry.CHANNELS) == {"slack", "dingtalk", "wecom", "webhook", "apprise"}
    assert set(registry.CHANNELS) == set(receivers.BY_KIND)  # a channel for every kind the config accepts
    channel = registry.channel(endpoint("wecom", "http://127.0.0.1:1/cgi-bin/webhook/send?key=abcd1234"))
    assert channel.target == "wecom http://127.0.0.1:1/cgi-bin/webhook/send?key=***"
    with pytest.raises(ValueError, match="dingtalk, slack, webhook, wecom"):
        registry.channel(SimpleNamespace(kind="pager"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="klingon"):
        registry.channel(endpoint("slack", "x", lang="klingon"))


def test_error_messages() -> None:
    assert str(errors.RetryableError("too fast", 60)) == "too fast (retry after 60s)"
    assert str(errors.PermanentError("bad")) == "bad"
    assert errors.RetryableError("x").retryable and not errors.PermanentError("x").retryable
