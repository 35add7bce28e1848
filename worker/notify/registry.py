"""Channel registry: receiver kind -> the function that builds its channel from the receiver's typed settings.

A new channel is one module in channels/ (the channel and its ``from_endpoint``), its settings model in
worker/settings/receivers.py, and one line here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests

from worker.notify.channel import Channel
from worker.notify.channels import apprise, dingtalk, slack, webhook, wecom
from worker.settings import receivers
from worker.settings.receivers import Endpoint

Factory = Callable[[Endpoint[Any], requests.Session, float], Channel]

CHANNELS: dict[str, Factory] = {
    "slack": slack.from_endpoint,
    "dingtalk": dingtalk.from_endpoint,
    "wecom": wecom.from_endpoint,
    "webhook": webhook.from_endpoint,
    "apprise": apprise.from_endpoint,
}


def channel(
    endpoint: Endpoint[Any], *, session: requests.Session | None = None, timeout: float = 10.0
) -> Channel:
    """The channel of a configured receiver (``Settings.receivers()``); a bad option is a ValueError."""
    try:
        factory = CHANNELS[endpoint.kind]
    except KeyError:
        raise ValueError(
            f"unknown channel kind {endpoint.kind!r}, expected one of {', '.join(sorted(CHANNELS))}"
        ) from None
    return factory(endpoint, session or requests.Session(), timeout)


def build(
    kind: str,
    url: str,
    *,
    session: requests.Session | None = None,
    timeout: float = 10.0,
    lang: str = "zh",
    endpoint: Endpoint[Any] | None = None,
    **options: Any,
) -> Channel:
    """A channel from plain values (tests, one-off sends) or from ``Settings.receivers()``' plain params (which
    carry their ``endpoint``): ``options`` are checked by the kind's settings model (``secret``, ``keyword``,
    ``mentions``, ``body``, ...) exactly as a config file's would be. New code calls ``channel`` with
    ``Settings.endpoints()``."""
    if endpoint is None:
        endpoint = receivers.endpoint(kind, url, lang, **options)
    return channel(endpoint, session=session, timeout=timeout)
