"""Size limits against chatsim, which answers an oversized message the way each service does (errcode 460101,
40058, HTTP 400 invalid_blocks, 413): a node with 10,000 taints is cut and delivered on every channel, where the
same alert uncut is rejected."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import requests

from chatsim import server as chatsim_server
from chatsim.testing import ChatSim
from tests.configs import endpoint
from tests.contract.helpers import notification
from worker.model import Notification, Severity, limits
from worker.notify import registry
from worker.notify.channels import apprise, dingtalk, slack, webhook, wecom

TAINTS = [{"key": f"example.com/t{i}", "value": "v" * 20, "effect": "NoSchedule"} for i in range(10_000)]
PODS = [{"namespace": "命名空间", "name": f"pod-{i}-" + "长" * 100, "cpu_m": 900} for i in range(5_000)]


def huge() -> Notification:
    """The alert that once never arrived: 10,000 taints in the headline, a long note, thousands of pods."""
    return notification(
        rule="taint",
        severity=Severity.WARNING,
        taints=TAINTS,
        removal=False,
        message='原因 "quoted"\n' * 20_000,
        pods=PODS,
    )


def stored(n: Notification) -> Notification:
    return Notification.from_json(json.loads(json.dumps(n.to_json(), ensure_ascii=False)))


FORMS = {"fresh": huge, "stored": lambda: stored(huge())}


@pytest.fixture(params=sorted(FORMS))
def alert(request: pytest.FixtureRequest) -> Notification:
    return FORMS[request.param]()


def test_slack_fits_block_kit_and_is_delivered(
    chat: ChatSim, session: requests.Session, alert: Notification
) -> None:
    slack.SlackChannel(endpoint("slack", chat.slack_url("SlackLimitTok"), "en"), session=session).send(alert)
    [msg] = chat.wait_for(1, "slack")
    body = msg["body"]
    assert chatsim_server.slack_problem(body) == "" and chat.attempts("slack") == ["accepted"]
    assert len(body["text"]) <= slack.TEXT_MAX and len(body["attachments"][0]["fallback"]) <= slack.TEXT_MAX
    assert len(body["blocks"][0]["text"]["text"]) <= slack.HEADER_MAX
    section = [b for b in body["attachments"][0]["blocks"] if b["type"] == "section" and "text" in b]
    assert len(section[0]["text"]["text"]) <= slack.SECTION_MAX and "more" in section[0]["text"]["text"]
    assert section[0]["text"]["text"].endswith("--comment 'seen, working on it'`")  # commands kept whole


def test_dingtalk_fits_20000_bytes_with_keyword_and_mentions(
    chat: ChatSim, session: requests.Session, alert: Notification
) -> None:
    url = chat.register_dingtalk("dt-limit-token", "SEClimit", keyword="nodewatch")
    robot = endpoint("dingtalk", url, secret="SEClimit", keyword="nodewatch", at_mobiles=["13800000000"])
    channel = dingtalk.DingTalkChannel(robot, session=session)
    channel.send(alert)
    [msg] = chat.wait_for(1, "dingtalk")
    assert chat.attempts("dingtalk") == ["accepted"]
    body = msg["body"]
    assert len(json.dumps(body, ensure_ascii=False).encode()) <= dingtalk.MAX_BYTES
    title, text = body["markdown"]["title"], body["markdown"]["text"]
    # the keyword is in the content (the commands name nodewatch, kept whole however much is cut)
    assert title.startswith("⚠️") and title.endswith("… +9995 more")
    assert "nodewatch alerts ack fp-demo --cluster demo" in text
    assert len(title.encode()) <= dingtalk.TITLE_MAX
    assert text.startswith(f"#### {title}") and text.endswith("… +" + text.rsplit("… +", 1)[1])
    assert text.endswith("@13800000000")


def test_wecom_fits_4096_bytes_with_the_headline_whole(
    chat: ChatSim, session: requests.Session, alert: Notification
) -> None:
    group = endpoint("wecom", chat.wecom_url("wecom-limit-key"), mentions=["alice"])
    wecom.WeComChannel(group, session=session).send(alert)
    [msg] = chat.wait_for(1, "wecom")
    content = msg["body"]["markdown"]["content"]
    assert len(content.encode()) <= wecom.MAX_BYTES and chat.attempts("wecom") == ["accepted"]
    assert content.split("\n", 1)[0].endswith("… +9995 more**</font>")  # the <font> tag is never cut open
    assert content.endswith("<@alice>") and "more" in content
    assert "**指纹**: fp-demo\n**确认**: nodewatch alerts ack fp-demo --cluster demo\n" in content


@pytest.mark.parametrize("kind", ["nodewatch", "alertmanager"])
def test_webhook_body_is_capped_and_delivered(
    chat: ChatSim, session: requests.Session, alert: Notification, kind: str
) -> None:
    hook = endpoint(
        "webhook", chat.webhook_url("limits", secret="hook-s3cret"), secret="hook-s3cret", body=kind
    )
    channel = webhook.WebhookChannel(hook, session=session)
    assert len(channel.encode(alert)) <= webhook.MAX_BODY  # was 4.4 MB
    channel.send(alert)
    [msg] = chat.wait_for(1, "webhook")
    assert chat.attempts("webhook") == ["accepted"]  # the receiver verified the signature of the cut body
    body = msg["body"]
    if kind == "nodewatch":
        taints, hidden = limits.split_more(body["params"]["taints"])
        assert len(taints) + hidden == 10_000 and taints[0] == TAINTS[0]
        assert body["title"].endswith("… +9995 more") and "more" in body["text"]
    else:
        assert body["commonAnnotations"]["summary"].endswith("… +9995 more")


def test_apprise_title_and_body_fit_apprise_defaults(chat: ChatSim, alert: Notification) -> None:
    url = chat.webhook_url("apprise-limits").replace("http://", "json://")
    registry.channel(endpoint("apprise", url, "en")).send(alert)
    [msg] = chat.wait_for(1, "webhook")
    assert len(msg["body"]["title"]) <= apprise.TITLE_MAX and len(msg["body"]["message"]) <= apprise.BODY_MAX
    assert "more" in msg["body"]["message"]


# --- the same alert uncut: what each service (as chatsim answers for it) did with it -----------------------------


def _post(session: requests.Session, url: str, body: Any) -> requests.Response:
    return session.post(url, data=json.dumps(body, ensure_ascii=False).encode(), timeout=10)


# the headline as it was before it named five taints at most: every taint in one line (~400 KB)
UNCUT_TITLE = "⚠️ [警告] 集群 demo 节点 demo-cpu-1 节点被打上污点: " + ", ".join(
    f"{t['key']}={t['value']}:{t['effect']}" for t in TAINTS
)


UNCUT: dict[str, Callable[[ChatSim], tuple[str, Any]]] = {
    "dingtalk": lambda chat: (
        chat.dingtalk_url("dt-uncut"),
        {"msgtype": "markdown", "markdown": {"title": UNCUT_TITLE, "text": "#### t"}},
    ),
    "wecom": lambda chat: (
        chat.wecom_url("wecom-uncut"),
        {"msgtype": "markdown", "markdown": {"content": UNCUT_TITLE}},
    ),
    "slack": lambda chat: (
        chat.slack_url("SlackUncutTok"),
        {
            "text": "t",
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": UNCUT_TITLE}}],
        },
    ),
    "webhook": lambda chat: (
        chat.webhook_url("uncut"),
        {"title": UNCUT_TITLE, "params": huge().params},
    ),
}
ANSWERS = {"dingtalk": "errcode:460101", "wecom": "errcode:40058", "slack": "http:400", "webhook": "http:413"}


@pytest.mark.parametrize("kind", sorted(UNCUT))
def test_the_uncut_alert_is_rejected_like_the_real_service_does(
    chat: ChatSim, session: requests.Session, kind: str
) -> None:
    url, body = UNCUT[kind](chat)
    answer = _post(session, url, body)
    assert chat.attempts(kind) == [ANSWERS[kind]] and chat.messages() == []
    if kind == "slack":
        assert answer.status_code == 400 and answer.text == "invalid_blocks"
    elif kind in ("dingtalk", "wecom"):
        assert answer.status_code == 200 and answer.json()["errcode"] == int(ANSWERS[kind].split(":")[1])


# --- chatsim's Slack limits, one at a time ------------------------------------------------------------------------


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


@pytest.mark.parametrize(
    ("blocks", "accepted"),
    [
        ([{"type": "header", "text": {"type": "plain_text", "text": "h" * 150}}], True),
        ([{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}], False),
        ([_section("s" * 3000)], True),
        ([_section("s" * 3001)], False),
        ([{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 10}], True),
        ([{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}], False),
        ([{"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2001}]}], False),
        ([_section("s")] * 50, True),
        ([_section("s")] * 51, False),
        ([{"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11}], False),
    ],
)
def test_chatsim_slack_answers_invalid_blocks_past_block_kit_limits(
    chat: ChatSim, session: requests.Session, blocks: list[Any], accepted: bool
) -> None:
    for where in ("top", "attachment"):
        chat.reset()
        body: dict[str, Any] = {"text": "t", "blocks": blocks} if where == "top" else {
            "text": "t", "attachments": [{"color": "#000", "blocks": blocks}]}  # fmt: skip
        answer = _post(session, chat.slack_url("SlackBlocksTok"), body)
        assert (answer.status_code, answer.text) == ((200, "ok") if accepted else (400, "invalid_blocks"))


def test_chatsim_slack_cuts_text_past_40000_characters_like_slack(
    chat: ChatSim, session: requests.Session
) -> None:
    assert _post(session, chat.slack_url("SlackTextTok"), {"text": "x" * 40_001}).text == "ok"
    [msg] = chat.wait_for(1, "slack")
    assert len(msg["body"]["text"]) == chatsim_server.SLACK_TEXT_MAX


def test_chatsim_dingtalk_and_webhook_size_edges(chat: ChatSim, session: requests.Session) -> None:
    def dingtalk_body(size: int) -> dict[str, Any]:
        body = {"msgtype": "text", "text": {"content": ""}}
        body["text"]["content"] = "x" * (size - len(json.dumps(body)))
        return body

    url = chat.dingtalk_url("dt-edges")
    assert _post(session, url, dingtalk_body(20_000)).json()["errcode"] == 0
    assert _post(session, url, dingtalk_body(20_001)).json()["errcode"] == 460101
    hook = chat.webhook_url("edges")
    assert _post(session, hook, {"x": "y" * (chatsim_server.WEBHOOK_MAX_BYTES - 20)}).status_code == 200
    assert _post(session, hook, {"x": "y" * chatsim_server.WEBHOOK_MAX_BYTES}).status_code == 413
