"""Shared contract-test helpers: "retries as expected" and "leaks no secret", used by every channel's tests."""

from __future__ import annotations

import traceback
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from worker.model import Notification, NotificationKind, Severity
from worker.notify import errors


def notification(
    kind: NotificationKind = NotificationKind.FIRING,
    rule: str = "cpu_usage",
    severity: Severity = Severity.CRITICAL,
    cluster: str = "demo",
    node: str = "demo-cpu-1",
    **params: Any,
) -> Notification:
    params = params or {"value": 97.0, "threshold": 90.0}
    return Notification(
        id="n-1",
        kind=kind,
        cluster=cluster,
        node=node,
        rule=rule,
        severity=severity,
        summary=f"{rule} on {node}",
        params=params,
        started_at=1_780_000_000.0,
        created_at=1_780_000_300.0,
        fingerprint="fp-demo",
    )


def _exception_text(exc: BaseException) -> str:
    """What a logger prints about ``exc``: message, repr and attributes of it and of every chained exception.

    Source lines of the traceback are left out: they quote the test's own literals, not what the code said.
    """
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        parts.extend(
            [str(current), repr(current), repr(vars(current)), *traceback.format_exception_only(current)]
        )
        # logging shows __context__ unless `raise ... from None` suppressed it
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    return "\n".join(parts)


def assert_leaks_no_secret(exc_or_text: BaseException | str, secrets: Iterable[str]) -> None:
    """Fail when any secret, plain or URL-encoded, appears in the text or anywhere in the exception."""
    text = exc_or_text if isinstance(exc_or_text, str) else _exception_text(exc_or_text)
    for secret in secrets:
        for form in {secret, urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret)}:
            assert form not in text, f"secret {secret[:3]}… leaked in: {text[:500]}"


def assert_retries_as_expected(
    send: Callable[[], None],
    *,
    retryable: bool,
    secrets: Iterable[str],
    delay: float | None = None,
    reason: str | None = None,
) -> errors.DeliveryError:
    """``send()`` must fail with the right class, delay hint and reason, and leak no secret doing so.

    ``delay`` None means "no hint expected" for a retryable error. ``reason`` must appear in the error's reason.
    """
    expected = errors.RetryableError if retryable else errors.PermanentError
    with pytest.raises(errors.DeliveryError) as info:
        send()
    exc = info.value
    assert isinstance(exc, expected), f"expected {expected.__name__}, got {type(exc).__name__}: {exc}"
    assert exc.retryable is retryable
    if isinstance(exc, errors.RetryableError):
        assert exc.delay == (pytest.approx(delay) if delay is not None else None)
    if reason is not None:
        assert reason in exc.reason, exc.reason
    assert_leaks_no_secret(exc, secrets)
    return exc
