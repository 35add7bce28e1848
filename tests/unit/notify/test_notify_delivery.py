"""Delivery policy, pure: backoff with jitter, the retry window, digests (all items, critical first, size), bucket
sizing that keeps a service under its per-window limit, and user templates in every channel's payload."""

from __future__ import annotations

import dataclasses
import json

import pytest

from tests.contract.helpers import notification
from worker.model import Notification, NotificationKind, Severity
from worker.notify import delivery, templates
from worker.notify.channels import dingtalk, slack, webhook, wecom
from worker.state.ratelimit import Bucket


@pytest.mark.parametrize(
    ("retries", "asked", "rand", "expected"),
    [
        (0, None, 0.0, 2.5),  # min 5 s, jitter halves at worst
        (0, None, 0.999999, 5.0),
        (3, None, 0.0, 20.0),
        (10, None, 0.999999, 900.0),  # capped
        (0, 60.0, 0.5, 60.0),  # the service's hint wins
        (0, 3600.0, 0.5, 900.0),  # ... capped too
    ],
)
def test_backoff(retries: int, asked: float | None, rand: float, expected: float) -> None:
    assert delivery.backoff(retries, 5.0, 900.0, asked, rand) == pytest.approx(expected, rel=1e-4)


def test_gives_up_only_past_the_window() -> None:
    assert not delivery.gives_up(created_at=1000.0, now=1000.0 + 3000, delay=500, window=3600)
    assert delivery.gives_up(created_at=1000.0, now=1000.0 + 3200, delay=500, window=3600)


def many(count: int) -> list[Notification]:
    out = []
    for i in range(count):
        sev = Severity.CRITICAL if i % 3 == 0 else Severity.WARNING
        n = notification(severity=sev, node=f"node-{i:03d}", value=90.0 + i % 10, threshold=90.0)
        out.append(dataclasses.replace(n, id=f"n-{i}", created_at=1_780_000_000.0 + i))
    return out


def test_digest_lists_every_message_critical_first() -> None:
    items = many(40)
    d = delivery.digest(items, 1_780_000_100.0)
    r = templates.render(d, "en", "markdown")
    assert r.title.startswith("📦 [DIGEST] 40 message(s)") and "14 critical" in r.title
    lines = [line for line in r.body.split("\n") if line.strip()]
    assert len(lines) == 40
    assert all("CRITICAL" in line for line in lines[:14]) and all("WARNING" in line for line in lines[14:])
    for n in items:
        assert f"node {n.node} " in r.body
    assert d.severity is Severity.CRITICAL and d.kind is NotificationKind.FIRING


@pytest.mark.parametrize(
    ("build", "count", "limit"),
    [
        (lambda d: json.dumps(dingtalk.payload(d, "zh"), ensure_ascii=False), 40, dingtalk.MAX_BYTES),
        (lambda d: dingtalk.payload(d, "zh")["markdown"]["text"], 40, dingtalk.MAX_BYTES),  # type: ignore[index]
        (lambda d: wecom.payload(d, "zh")["markdown"]["content"], 15, wecom.MAX_BYTES),  # type: ignore[index]
    ],
)
def test_default_digest_sizes_fit_without_cutting(build: object, count: int, limit: int) -> None:
    """The default digestMax per kind fits the service's limit, so no merged alert is cut to "+N more"."""
    d = delivery.digest(many(count), 1_780_000_100.0)
    text = build(d)  # type: ignore[operator]
    assert len(text.encode()) <= limit
    assert "more" not in text.split("\n")[-1]
    for i in range(count):
        assert f"node-{i:03d}" in text


def test_slack_digest_has_no_empty_field_grid() -> None:
    body = slack.payload(delivery.digest(many(3), 1.0), "en")
    blocks = body["attachments"][0]["blocks"]  # type: ignore[index]
    assert all(b.get("fields", ["x"]) for b in blocks)
    assert "node-002" in json.dumps(blocks)


@pytest.mark.parametrize(
    ("messages", "per"),
    [(20, 60.0), (1, 1.0), (10, 60.0), (3, 10.0), (100, 60.0)],
)
def test_bucket_sizing_keeps_any_window_under_the_limit(messages: int, per: float) -> None:
    """Simulate a flood against the bucket: count sends in every window of ``per`` seconds."""
    bucket = Bucket.for_limit(messages, per)
    assert bucket is not None
    tokens, now, sent = bucket.capacity, 0.0, []
    step = per / 1000
    while now < per * 5:
        tokens = min(bucket.capacity, tokens + step * bucket.per_second)
        if tokens >= 1:
            tokens -= 1
            sent.append(now)
        now += step
    worst = max(sum(1 for t in sent if s <= t < s + per) for s in sent)
    assert worst <= max(messages, 2 if messages == 1 else messages)
    assert len(sent) >= messages * 5 * 0.45  # and it does not starve: about half the limit or more


def test_no_bucket_when_unlimited() -> None:
    assert Bucket.for_limit(0, 60) is None


def test_user_template_reaches_every_channel_payload() -> None:
    spec = {
        "title": "{{ cluster }}/{{ node }} {{ value|pct }}",
        "body": "{{ body }}\nrunbook: https://wiki/x",
    }
    custom = templates.custom(spec)
    n = notification()
    texts = [
        json.dumps(dingtalk.payload(n, "en", custom=custom), ensure_ascii=False),
        json.dumps(wecom.payload(n, "en", custom=custom), ensure_ascii=False),
        json.dumps(slack.payload(n, "en", custom), ensure_ascii=False),
        json.dumps(webhook.nodewatch_body(n, "en", custom), ensure_ascii=False),
    ]
    for text in texts:
        assert "demo/demo-cpu-1 97%" in text and "runbook: https://wiki/x" in text


def test_user_template_missing_param_falls_back_to_built_in() -> None:
    custom = templates.custom({"title": "{{ pending_count }} pending"})
    r = templates.render(notification(), "en", "text", custom)
    assert r.title == templates.render(notification(), "en", "text").title
