"""The one channel interface: render a notification and send it, or say whether a failure is worth retrying."""

from __future__ import annotations

from typing import Protocol

from worker.model import Notification


class Channel(Protocol):
    """A configured receiver endpoint.

    ``send`` returns only when the service confirmed the message; otherwise it raises
    ``errors.RetryableError`` (optionally with the service's delay hint) or ``errors.PermanentError``.
    Retries, rate limits, dedup and metrics live outside the channel. ``target`` names the endpoint with its
    secrets masked, for logs and ``nodewatch notify test``.
    """

    target: str

    def send(self, notification: Notification) -> None: ...
