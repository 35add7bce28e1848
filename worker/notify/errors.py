"""Delivery errors: the one retryable/permanent split every channel raises and the delivery stage reads."""

from __future__ import annotations


class DeliveryError(Exception):
    """A message was not delivered. ``reason`` is redacted text safe for logs and dead letters."""

    retryable: bool = False

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RetryableError(DeliveryError):
    """Worth trying again; ``delay`` (seconds) is the service's own hint (Retry-After, rate-limit errcode)."""

    retryable = True

    def __init__(self, reason: str, delay: float | None = None) -> None:
        super().__init__(reason)
        self.delay = delay

    def __str__(self) -> str:
        return self.reason if self.delay is None else f"{self.reason} (retry after {self.delay:g}s)"


class PermanentError(DeliveryError):
    """Sending the same message again will fail the same way: configuration or payload is wrong."""
