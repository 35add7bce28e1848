"""Apprise: every other service (Feishu/Lark, Telegram, Teams, e-mail, PagerDuty, ...) through one Apprise URL.

Apprise answers only "sent or not", so a failure is retryable with the reason taken from Apprise's own log
(redacted); the retry window still bounds it. Apprise's own retries are off: retries live outside channels.
"""

from __future__ import annotations

import logging
import urllib.parse

import apprise
import requests

from worker.model import Notification, NotificationKind, Severity
from worker.notify import errors, templates
from worker.notify.redact import redact
from worker.settings.receivers import AppriseReceiver, Endpoint

NOTIFY_TYPE = {
    Severity.CRITICAL: apprise.NotifyType.FAILURE,
    Severity.WARNING: apprise.NotifyType.WARNING,
    Severity.INFO: apprise.NotifyType.INFO,
}
REASON_MAX = 300
# Apprise's own defaults for a service that sets none (apprise/plugins/base.py: title_maxlen 250, body_maxlen
# 32768 characters); a service with smaller limits is cut by Apprise itself: ``overflow=truncate`` unless the URL
# says otherwise (its default, "upstream", hands an oversized body to the service to refuse).
TITLE_MAX = 250
BODY_MAX = 32768


def url_secrets(url: str) -> list[str]:
    """Every part of an Apprise URL that may be a credential: userinfo, host (often a token), path, query values."""
    parts = urllib.parse.urlsplit(url)
    found = [url, parts.netloc, parts.username or "", parts.password or ""]
    found += [seg for seg in parts.path.split("/") if seg]
    found += [v for vs in urllib.parse.parse_qs(parts.query).values() for v in vs]
    if parts.scheme in ("json", "jsons", "form", "forms", "xml", "xmls") and not parts.password:
        # generic web hooks: host and path are addresses, not secrets, unless they carry a password
        found = [url, *urllib.parse.parse_qs(parts.query).get("token", [])]
    return [s for s in found if len(s) >= 4]


def message(notification: Notification, voice: templates.Voice) -> tuple[str, str]:
    """The headline and markdown body handed to Apprise, within its default limits."""
    r = voice.render(notification, "markdown")
    body = templates.fit(r.body, BODY_MAX, r.tail) or templates.clip(r.title, BODY_MAX)
    return templates.clip(r.title, TITLE_MAX), body


class AppriseChannel:
    """Send the rendered headline and markdown body to one Apprise URL (``scheme://...``)."""

    def __init__(
        self,
        e: Endpoint[AppriseReceiver],
        *,
        session: requests.Session | None = None,  # unused: Apprise brings its own HTTP
        timeout: float = 10.0,
    ) -> None:
        self._voice = templates.Voice.of(e.lang, e.template(), e.tz)
        url = e.url
        self._secrets = url_secrets(url)
        scheme = urllib.parse.urlsplit(url).scheme
        self.target = f"apprise {scheme}://***"
        self._apprise = apprise.Apprise()
        parts = urllib.parse.urlsplit(url)
        query = urllib.parse.parse_qs(parts.query)
        if "cto" not in query and "rto" not in query:
            # Apprise's own connect/read timeouts, so a hanging service cannot hold the worker
            sep = "&" if parts.query else "?"
            url = f"{url}{sep}cto={timeout:g}&rto={timeout:g}"
        if "overflow" not in query:
            url = f"{url}{'&' if '?' in url else '?'}overflow=truncate"
        if not self._apprise.add(url):
            # a ValueError at construction: the config names a scheme Apprise does not know
            raise ValueError(f"apprise does not understand the URL of scheme {scheme!r}")

    def send(self, notification: Notification) -> None:
        title, body = message(notification, self._voice)
        kind = (
            apprise.NotifyType.SUCCESS
            if notification.kind is NotificationKind.RESOLVED
            else NOTIFY_TYPE[notification.severity]
        )
        with apprise.LogCapture(level=logging.WARNING) as captured:
            ok = self._apprise.notify(
                body=body,
                title=title,
                notify_type=kind,
                body_format=apprise.NotifyFormat.MARKDOWN,
            )
            log_text = captured.getvalue()
        if ok:
            return
        lines = [line.split(" - ", 2)[-1] for line in log_text.strip().splitlines() if line.strip()]
        reason = redact("; ".join(lines) or "apprise reported a failure", self._secrets)[:REASON_MAX]
        raise errors.RetryableError(f"{self.target}: {reason}")
