"""Generic JSON webhook (nodewatch schema, docs/channels/webhook.md) or an Alertmanager-compatible body."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime

import requests

from worker.model import Notification, NotificationKind, limits
from worker.notify import http, templates
from worker.notify.redact import redact
from worker.settings.receivers import Endpoint, WebhookReceiver

SCHEMA_VERSION = "1"
SIGNATURE_HEADER = "X-Nodewatch-Signature"
ZERO_TIME = "0001-01-01T00:00:00Z"  # Alertmanager's "not ended"
# A generic receiver documents no limit of its own, so nodewatch sets one: 256 KiB a POST, well under the 1 MB
# that common proxies refuse by default (nginx client_max_body_size); a node with 10,000 taints once made a 4.4 MB
# POST. Lists and strings are cut with "… +N more"; the total is checked on the encoded body.
MAX_BODY = 256 * 1024
TITLE_MAX = 1024  # bytes of the headline
TEXT_MAX = 64 * 1024  # bytes of the rendered text / description
FIELD_MAX = 2000  # bytes of one field value


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def _status(n: Notification) -> str:
    return "resolved" if n.kind is NotificationKind.RESOLVED else "firing"


def nodewatch_body(
    n: Notification,
    lang: str,
    custom: templates.Custom | None = None,
    text_max: int = TEXT_MAX,
    tz: str = "UTC",
) -> dict[str, object]:
    r = templates.render(n, lang, "text", custom, tz)
    title = templates.clip(r.title, TITLE_MAX)
    return {
        "version": SCHEMA_VERSION,
        "source": "nodewatch",
        "id": n.id,
        "kind": n.kind.value,
        "status": _status(n),
        "cluster": n.cluster,
        "node": n.node,
        "rule": n.rule,
        "severity": n.severity.label,
        "fingerprint": n.fingerprint,
        "summary": limits.cut_text(n.summary, limits.TEXT_MAX),
        "title": title,
        "text": templates.fit(f"{title}\n{r.body}", text_max, r.tail),
        "fields": [{"name": k, "value": templates.clip(v, FIELD_MAX)} for k, v in r.fields],
        "params": limits.bound_json(n.params, min(limits.PARAMS_MAX, text_max)),
        "started_at": _iso(n.started_at),
        "since": _iso(n.condition_since),
        "created_at": _iso(n.created_at),
    }


def alertmanager_body(
    n: Notification,
    lang: str,
    *,
    receiver: str = "nodewatch",
    external_url: str = "",
    custom: templates.Custom | None = None,
    text_max: int = TEXT_MAX,
    tz: str = "UTC",
) -> dict[str, object]:
    """Alertmanager webhook payload version 4 with one alert, for tools that consume Alertmanager; ``startsAt`` is
    when the condition was first seen, as Alertmanager's own alerts start at their condition, not their page."""
    r = templates.render(n, lang, "text", custom, tz)
    status = _status(n)
    labels = {"alertname": n.rule, "cluster": n.cluster, "severity": n.severity.label}
    if n.node:
        labels["node"] = n.node
    annotations = {
        "summary": templates.clip(r.title, TITLE_MAX),
        "description": templates.fit(r.body, text_max, r.tail),
    }
    if n.summary:
        annotations["message"] = limits.cut_text(n.summary, limits.TEXT_MAX)
    group_labels = {"alertname": n.rule, "cluster": n.cluster}
    return {
        "version": "4",
        "groupKey": "{}:" + json.dumps(group_labels, sort_keys=True),
        "truncatedAlerts": 0,
        "status": status,
        "receiver": receiver,
        "groupLabels": group_labels,
        "commonLabels": labels,
        "commonAnnotations": annotations,
        "externalURL": external_url,
        "alerts": [
            {
                "status": status,
                "labels": labels,
                "annotations": annotations,
                "startsAt": _iso(n.condition_since),
                "endsAt": _iso(n.created_at) if status == "resolved" else ZERO_TIME,
                "generatorURL": external_url,
                "fingerprint": n.fingerprint,
            }
        ],
    }


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookChannel:
    """POST JSON to any URL; 2xx is success, 408/429/5xx retryable, other statuses permanent."""

    def __init__(
        self, e: Endpoint[WebhookReceiver], *, session: requests.Session, timeout: float = 10.0
    ) -> None:
        self._voice = templates.Voice.of(e.lang, e.template(), e.tz)
        self._receiver = e.receiver
        self._secret = e.receiver.signing_secret()
        self._headers = e.receiver.header_values()
        # header values (e.g. Authorization) are credentials too
        secrets = tuple(s for s in (self._secret, *self._headers.values()) if s)
        self._service = http.Service("webhook", session, e.url, timeout, secrets)
        self.target = f"webhook({e.receiver.body}) " + redact(e.url, secrets)

    def encode(self, notification: Notification) -> bytes:
        """The POST body, at most MAX_BODY bytes: text and params are cut harder until it fits (JSON escaping can
        make a text several times longer than its UTF-8 form)."""
        r, voice = self._receiver, self._voice
        text_max = TEXT_MAX
        while True:
            if r.body == "alertmanager":
                doc = alertmanager_body(
                    notification,
                    voice.lang,
                    receiver=r.name,
                    external_url=r.external_url,
                    custom=voice.custom,
                    text_max=text_max,
                    tz=voice.tz,
                )
            else:
                doc = nodewatch_body(notification, voice.lang, voice.custom, text_max, voice.tz)
            data = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
            if len(data) <= MAX_BODY or text_max <= 256:
                return data
            text_max //= 2

    def send(self, notification: Notification) -> None:
        data = self.encode(notification)
        headers = dict(self._headers)
        if self._secret:
            headers[SIGNATURE_HEADER] = signature(self._secret, data)
        self._service.send(data, headers=headers)
