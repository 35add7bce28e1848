"""Channel registry: receiver kind -> the channel class, made from the receiver's typed settings (its ``Endpoint``).

A new channel is one module in channels/ (the channel, whose constructor takes the endpoint of its own settings
model), its settings model in worker/settings/receivers.py, and one line here.
"""

from __future__ import annotations

from typing import Any, Protocol

import requests

from worker.notify.channel import Channel
from worker.notify.channels import apprise, dingtalk, slack, webhook, wecom
from worker.settings.receivers import Endpoint


class Factory(Protocol):
    """A channel class: made from the endpoint of its own kind's settings."""

    def __call__(self, e: Endpoint[Any], *, session: requests.Session, timeout: float) -> Channel: ...


CHANNELS: dict[str, Factory] = {
    "slack": slack.SlackChannel,
    "dingtalk": dingtalk.DingTalkChannel,
    "wecom": wecom.WeComChannel,
    "webhook": webhook.WebhookChannel,
    "apprise": apprise.AppriseChannel,
}


def channel(
    endpoint: Endpoint[Any], *, session: requests.Session | None = None, timeout: float = 10.0
) -> Channel:
    """The channel of a receiver (``Settings.endpoints()``); a bad option (an unknown language, a template that
    does not compile, an URL Apprise does not know) is a ValueError."""
    try:
        factory = CHANNELS[endpoint.kind]
    except KeyError:
        raise ValueError(
            f"unknown channel kind {endpoint.kind!r}, expected one of {', '.join(sorted(CHANNELS))}"
        ) from None
    return factory(endpoint, session=session or requests.Session(), timeout=timeout)
