"""DingTalk custom robot: signed URL (HMAC-SHA256 of "timestamp\\nsecret"), markdown message, errcode classified."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import time
import urllib.parse
from collections.abc import Callable, Sequence

import requests

from worker.model import Notification
from worker.notify import http, templates
from worker.notify.redact import redact
from worker.settings.receivers import DingTalkReceiver, Endpoint

# DingTalk answers errcode 460101 "message too long, exceed 20000 bytes" for a request body over 20000 bytes
# (quoted in timonwong/prometheus-webhook-dingtalk#30; DingTalk's error table: "body 大小不合法 ... 20000bytes 以内").
# We fit the JSON body to 19000: 1000 bytes spare the guess about how DingTalk counts exactly.
MAX_BYTES = 19000
# markdown.title is the line shown in the chat list and the phone notification; DingTalk documents no limit of its
# own, so it gets a headline's length (a title of 10,000 taints once made an 899 KB body, rejected and lost).
TITLE_MAX = 512
TOO_FAST = 130101  # more than 20 messages a minute
SYSTEM_BUSY = -1
THROTTLE_DELAY = 60.0


def sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's signature, URL-encoded, for the ``sign`` query parameter."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest).decode())


def signed_url(url: str, secret: str, timestamp_ms: int) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}timestamp={timestamp_ms}&sign={sign(secret, timestamp_ms)}"


def payload(
    notification: Notification,
    lang: str,
    *,
    keyword: str | None = None,
    at_mobiles: Sequence[str] = (),
    at_all: bool = False,
    custom: templates.Custom | None = None,
    tz: str = "UTC",
) -> dict[str, object]:
    r = templates.render(notification, lang, "markdown", custom, tz)
    title = r.title
    if keyword and keyword not in r.text:
        # keyword-mode robots reject any message whose content lacks one of their keywords: the headline carries
        # it, and a headline is never cut away
        title = f"{keyword} {title}"
    title = templates.clip(title, TITLE_MAX)
    text = f"#### {title}\n\n{r.body}"
    mentions = " ".join(f"@{m}" for m in at_mobiles)  # markdown only notifies mobiles named in the text
    budget = MAX_BYTES
    while True:
        fitted = templates.fit(text, budget - len(mentions.encode()) - 2, r.tail)
        if mentions:
            fitted = f"{fitted}\n\n{mentions}"
        body: dict[str, object] = {
            "msgtype": "markdown",
            "markdown": {"title": title, "text": fitted},
            "at": {"atMobiles": list(at_mobiles), "isAtAll": at_all},
        }
        # the limit applies to the request body, where JSON escaping makes newlines and quotes longer
        overflow = len(json.dumps(body, ensure_ascii=False).encode()) - MAX_BYTES
        if overflow <= 0 or budget <= 0:
            return body
        budget -= overflow


class DingTalkChannel:
    """POST to ``https://oapi.dingtalk.com/robot/send?access_token=…`` (signed when the receiver has a secret)."""

    def __init__(
        self,
        e: Endpoint[DingTalkReceiver],
        *,
        session: requests.Session,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        voice, r = templates.Voice.of(e.lang, e.template(), e.tz), e.receiver
        # what every message of this robot carries: its keyword, whom it mentions, the receiver's templates
        self._payload = functools.partial(
            payload,
            lang=voice.lang,
            keyword=r.keyword,
            at_mobiles=r.at_mobiles,
            at_all=r.at_all,
            custom=voice.custom,
            tz=voice.tz,
        )
        self._secret = r.signing_secret()
        self._clock = clock
        secrets = tuple(s for s in (self._secret, _token(e.url)) if s)
        self._service = http.Service("dingtalk", session, e.url, timeout, secrets)
        self.target = "dingtalk " + redact(e.url, secrets)

    def send(self, notification: Notification) -> None:
        body = self._payload(notification)
        url = self._service.url
        if self._secret:
            url = signed_url(url, self._secret, int(self._clock() * 1000))
        data = json.dumps(body, ensure_ascii=False).encode()
        # the robot is throttled for a while after 130101; one minute is the shortest wait that can succeed
        self._service.send(data, url=url, errcodes={TOO_FAST: THROTTLE_DELAY, SYSTEM_BUSY: None})


def _token(url: str) -> str | None:
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    return query.get("access_token", [None])[0]
