"""Message templates: the built-in zh/en messages, a receiver's own overrides, and fitting text into a service.

``render`` is what channels call; the pieces live beside it: ``builtin`` (the built-in messages and their language
files), ``overrides`` (a receiver's own headline and body), ``filters`` (the Jinja2 environment and value
formatting), ``fit`` (cutting a body or a headline to a service's size limit). Pure: no I/O after the language
files are loaded, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from worker.model import Notification
from worker.notify.templates import builtin, facts, overrides
from worker.notify.templates.builtin import DIGEST_RULE, LANGUAGES, MAX_GROUP, Format, Rendered, language
from worker.notify.templates.filters import FILTERS, duration
from worker.notify.templates.fit import clip, fit
from worker.notify.templates.overrides import Custom, check_custom, custom

__all__ = [
    "DIGEST_RULE",
    "FILTERS",
    "LANGUAGES",
    "MAX_GROUP",
    "Custom",
    "Format",
    "Voice",
    "check_custom",
    "clip",
    "custom",
    "duration",
    "fit",
    "language",
    "render",
]


def render(
    notification: Notification,
    lang: str = "zh",
    fmt: Format = "markdown",
    custom: Custom | None = None,
    tz: str = "UTC",
) -> Rendered:
    """Render one notification in ``lang`` (zh/en) and ``fmt`` (markdown for DingTalk/WeCom, slack mrkdwn, text),
    its times in the IANA zone ``tz``.

    ``custom`` (a receiver's own templates) replaces the headline and/or body; a digest keeps its own form.
    """
    rendered = builtin.render(notification, lang, fmt, tz)
    if custom is None or notification.rule == DIGEST_RULE:
        return rendered
    return overrides.apply(notification, rendered, custom, fmt, tz=tz)


@dataclass(frozen=True)
class Voice:
    """How one receiver's messages read: its language, its time zone and its own templates. Made with the
    receiver's channel (``of``), so an unknown language or a template that does not compile fails there, not at the
    first alert."""

    lang: str
    custom: Custom | None = None
    tz: str = "UTC"

    @classmethod
    def of(cls, lang: str, template: Mapping[str, str | None] | None = None, tz: str = "UTC") -> Voice:
        language(lang)
        facts.local(0, tz)  # an unknown zone fails here
        return cls(lang, custom(template), tz)

    def render(self, notification: Notification, fmt: Format) -> Rendered:
        """``render`` in this voice."""
        return render(notification, self.lang, fmt, self.custom, self.tz)
