"""Slack incoming webhook: Block Kit message inside a severity-coloured attachment; success is HTTP 200 + "ok"."""

from __future__ import annotations

import json

import requests

from worker.model import Notification, NotificationKind, Severity
from worker.notify import errors, http, templates
from worker.notify.redact import redact
from worker.settings.receivers import Endpoint, SlackReceiver

COLOURS = {Severity.CRITICAL: "#E01E5A", Severity.WARNING: "#ECB22E", Severity.INFO: "#36C5F0"}
RESOLVED_COLOUR = "#2EB67D"
# Slack's limits (api.slack.com/reference/block-kit/blocks: header text 150 characters, section text 3000, at
# most 10 fields of 2000 each, 50 blocks per message; beyond them Slack answers HTTP 400 invalid_blocks). The
# top-level ``text`` is cut by Slack itself past 40,000 characters (api.slack.com/changelog/2018-04-truncating-
# really-long-messages); ours is the headline, kept to TEXT_MAX. Fitted in UTF-8 bytes, which never undercount.
HEADER_MAX = 150
SECTION_MAX = 3000
FIELD_MAX = 2000
FIELDS_MAX = 10
BLOCKS_MAX = 50
TEXT_MAX = 3000


def payload(
    notification: Notification, lang: str, custom: templates.Custom | None = None, tz: str = "UTC"
) -> dict[str, object]:
    """The webhook body: fallback ``text``, a header block, and an attachment with the coloured details."""
    r = templates.render(notification, lang, "slack", custom, tz)
    colour = (
        RESOLVED_COLOUR if notification.kind is NotificationKind.RESOLVED else COLOURS[notification.severity]
    )
    fields = [
        {"type": "mrkdwn", "text": templates.fit(f"*{k}*\n{v}", FIELD_MAX)} for k, v in r.fields[:FIELDS_MAX]
    ]
    blocks: list[dict[str, object]] = []
    if r.custom_body:
        extra = r.body.strip()  # a user's body or a digest: shown as written, without the field grid
    else:
        # the fields already carry the key/value lines; the section shows only what is not a field
        # (a field past Slack's ten goes there too)
        extra = "\n".join(r.body.split("\n")[min(len(r.fields), FIELDS_MAX) :]).strip()
        blocks.append({"type": "section", "fields": fields})
    if extra:
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": templates.fit(extra, SECTION_MAX, r.tail)}}
        )
    blocks.append(
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": f"nodewatch · {notification.fingerprint}"}],
        }
    )
    headline = templates.clip(r.title, TEXT_MAX)
    return {
        "text": headline,
        "blocks": [{"type": "header", "text": {"type": "plain_text", "text": _clip(r.title, HEADER_MAX)}}],
        "attachments": [{"color": colour, "fallback": headline, "blocks": blocks[:BLOCKS_MAX]}],
    }


def _clip(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: chars - 1] + "…"


class SlackChannel:
    """POST to ``https://hooks.slack.com/services/T…/B…/<token>``."""

    def __init__(
        self, e: Endpoint[SlackReceiver], *, session: requests.Session, timeout: float = 10.0
    ) -> None:
        self._voice = templates.Voice.of(e.lang, e.template(), e.tz)
        token = e.url.rsplit("/", 1)[-1]
        self._service = http.Service("slack", session, e.url, timeout, (e.url, token))
        self.target = "slack " + redact(e.url, [token])

    def send(self, notification: Notification) -> None:
        voice = self._voice
        body = json.dumps(
            payload(notification, voice.lang, voice.custom, voice.tz), ensure_ascii=False
        ).encode()
        # Slack explains 4xx in a one-word body (invalid_payload, no_service, channel_not_found, ...)
        response = self._service.send(body)
        if response.status_code != 200 or response.text.strip() != "ok":
            snippet = http.snippet(response, self._service.secrets)
            raise errors.PermanentError(f"slack answered HTTP {response.status_code}: {snippet}")
