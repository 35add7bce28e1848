"""Channel registry: kind name -> factory. A new channel is one module in channels/ plus one line here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests

from worker.notify.channel import Channel
from worker.notify.channels import apprise, dingtalk, slack, webhook, wecom

CHANNELS: dict[str, Callable[..., Channel]] = {
    "slack": slack.SlackChannel,
    "dingtalk": dingtalk.DingTalkChannel,
    "wecom": wecom.WeComChannel,
    "webhook": webhook.WebhookChannel,
    "apprise": apprise.AppriseChannel,
}


def build(
    kind: str, *, session: requests.Session | None = None, timeout: float = 10.0, **params: Any
) -> Channel:
    """Construct a channel from plain values (secrets already unwrapped); unknown kinds name the known ones."""
    try:
        factory = CHANNELS[kind]
    except KeyError:
        raise ValueError(
            f"unknown channel kind {kind!r}, expected one of {', '.join(sorted(CHANNELS))}"
        ) from None
    return factory(session=session or requests.Session(), timeout=timeout, **params)
