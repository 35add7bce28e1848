"""WeCom group-robot channel against chatsim, which enforces 4096 bytes, 20 messages a minute and known keys."""

from __future__ import annotations

import json

import pytest
import requests

from chatsim.testing import ChatSim
from tests.configs import endpoint
from tests.contract.helpers import assert_leaks_no_secret, assert_retries_as_expected, notification
from worker.model import NotificationKind, Severity
from worker.notify.channels import wecom

KEY = "wecom-key-secret-0123"


def make(chat: ChatSim, session: requests.Session, lang: str = "zh", **kw: object) -> wecom.WeComChannel:
    return wecom.WeComChannel(endpoint("wecom", chat.wecom_url(KEY), lang, **kw), session=session, timeout=2)


def test_markdown_with_coloured_headline(chat: ChatSim, session: requests.Session) -> None:
    make(chat, session).send(notification())
    [msg] = chat.wait_for(1, "wecom")
    content = msg["body"]["markdown"]["content"]
    assert content.startswith(
        '<font color="warning">**🔥 [严重] 集群 demo 节点 demo-cpu-1 CPU 使用率 97% (阈值 90%)**</font>\n'
    )
    assert "\n\n" not in content
    assert msg["robot"] == "wec***"


@pytest.mark.parametrize(
    ("severity", "kind", "colour"),
    [
        (Severity.INFO, NotificationKind.FIRING, "comment"),
        (Severity.CRITICAL, NotificationKind.RESOLVED, "info"),
    ],
)
def test_colours(
    chat: ChatSim, session: requests.Session, severity: Severity, kind: NotificationKind, colour: str
) -> None:
    make(chat, session).send(notification(kind=kind, severity=severity))
    [msg] = chat.wait_for(1, "wecom")
    assert msg["body"]["markdown"]["content"].startswith(f'<font color="{colour}">')


def test_mentions(chat: ChatSim, session: requests.Session) -> None:
    make(chat, session, mentions=["alice", "bob"]).send(notification())
    [msg] = chat.wait_for(1, "wecom")
    assert msg["body"]["markdown"]["content"].endswith("<@alice> <@bob>")


def test_long_message_fits_4096_bytes_with_mentions_kept(chat: ChatSim, session: requests.Session) -> None:
    pods = [{"namespace": "命名空间", "name": f"pod-{i}-" + "长" * 200} for i in range(10)]
    make(chat, session, mentions=["alice"]).send(notification(value=97, threshold=90, message="m", pods=pods))
    [msg] = chat.wait_for(1, "wecom")
    content = msg["body"]["markdown"]["content"]
    assert len(content.encode()) <= 4096
    assert "more" in content and content.endswith("<@alice>")


def test_receiver_rejects_over_4096_bytes_with_40058(chat: ChatSim, session: requests.Session) -> None:
    body = {"msgtype": "markdown", "markdown": {"content": "x" * 4097}}
    answer = session.post(chat.wecom_url(KEY), data=json.dumps(body), timeout=5).json()
    assert answer["errcode"] == 40058
    assert chat.messages() == []


def test_frequency_limit_45009_is_retryable_after_a_minute(chat: ChatSim, session: requests.Session) -> None:
    channel = make(chat, session)
    for _ in range(20):
        channel.send(notification())
    assert_retries_as_expected(
        lambda: channel.send(notification()), retryable=True, delay=60, secrets=[KEY], reason="45009"
    )
    assert chat.attempts("wecom")[-1] == "errcode:45009"


@pytest.mark.parametrize(
    ("errcode", "errmsg", "retryable", "delay"),
    [
        (45009, "api freq out of limit", True, 60.0),
        (-1, "system busy", True, None),
        (93000, "invalid webhook url", False, None),
        (40058, "markdown.content exceed max length 4096", False, None),
    ],
)
def test_errcodes_are_classified(
    chat: ChatSim, session: requests.Session, errcode: int, errmsg: str, retryable: bool, delay: float | None
) -> None:
    chat.fault("wecom", errcode=errcode, errmsg=errmsg)
    assert_retries_as_expected(
        lambda: make(chat, session).send(notification()),
        retryable=retryable,
        delay=delay,
        secrets=[KEY],
        reason=f"errcode {errcode}: {errmsg}",
    )


def test_unknown_key_is_93000(chat: ChatSim, session: requests.Session) -> None:
    url = f"{chat.url}/cgi-bin/webhook/send?key=never-registered-key"
    channel = wecom.WeComChannel(endpoint("wecom", url), session=session)
    assert_retries_as_expected(
        lambda: channel.send(notification()),
        retryable=False,
        secrets=["never-registered-key"],
        reason="93000",
    )


def test_target_masks_key(chat: ChatSim, session: requests.Session) -> None:
    target = make(chat, session).target
    assert target.endswith("key=***")
    assert_leaks_no_secret(target, [KEY])
