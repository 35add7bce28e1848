"""WeCom (企业微信) group robot: markdown with a coloured headline, 4096-byte limit, errcode classified."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Sequence

import requests

from worker.model import Notification, NotificationKind, Severity
from worker.notify import http, templates
from worker.notify.redact import redact
from worker.settings.receivers import Endpoint, WeComReceiver

# markdown.content: "最长不超过4096个字节，必须是utf8编码" (WeCom group-robot docs, developer.work.weixin.qq.com
# /document/path/91770); beyond it errcode 40058 "markdown.content exceed max length 4096". text.content: 2048.
MAX_BYTES = 4096
TITLE_MAX = 512  # bytes of the coloured headline: the body keeps most of the room
FREQUENCY = 45009  # more than 20 messages a minute
SYSTEM_BUSY = -1
THROTTLE_DELAY = 60.0
# WeCom markdown knows three colours: info (green), comment (grey), warning (orange-red)
COLOURS = {Severity.CRITICAL: "warning", Severity.WARNING: "warning", Severity.INFO: "comment"}


def payload(
    notification: Notification,
    lang: str,
    *,
    mentions: Sequence[str] = (),
    custom: templates.Custom | None = None,
    tz: str = "UTC",
) -> dict[str, object]:
    r = templates.render(notification, lang, "markdown", custom, tz)
    colour = "info" if notification.kind is NotificationKind.RESOLVED else COLOURS[notification.severity]
    body = r.body.replace("\n\n", "\n")  # WeCom breaks lines on a single newline
    tail = " ".join(f"<@{m}>" for m in mentions)
    room = MAX_BYTES - (len(tail.encode()) + 1 if tail else 0)
    title = templates.clip(r.title, TITLE_MAX)  # whole, so that fit never cuts inside its <font> tag
    keep = r.tail.replace("\n\n", "\n")  # fingerprint and commands: never cut
    content = templates.fit(f'<font color="{colour}">**{title}**</font>\n{body}', room, keep)
    if tail:
        content = f"{content}\n{tail}"
    return {"msgtype": "markdown", "markdown": {"content": content}}


class WeComChannel:
    """POST to ``https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…``."""

    def __init__(
        self, e: Endpoint[WeComReceiver], *, session: requests.Session, timeout: float = 10.0
    ) -> None:
        self._voice = templates.Voice.of(e.lang, e.template(), e.tz)
        self._mentions = tuple(e.receiver.mentions)
        key = urllib.parse.parse_qs(urllib.parse.urlsplit(e.url).query).get("key", [None])[0]
        secrets = tuple(s for s in (key,) if s)
        self._service = http.Service("wecom", session, e.url, timeout, secrets)
        self.target = "wecom " + redact(e.url, secrets)

    def send(self, notification: Notification) -> None:
        voice = self._voice
        body = payload(notification, voice.lang, mentions=self._mentions, custom=voice.custom, tz=voice.tz)
        data = json.dumps(body, ensure_ascii=False).encode()
        self._service.send(data, errcodes={FREQUENCY: THROTTLE_DELAY, SYSTEM_BUSY: None})
