"""HTTP plumbing shared by the channels: one POST, transport errors, status and errcode classified; ``Service``
puts them together for one channel's endpoint."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import requests

from worker.notify import errors
from worker.notify.redact import redact

USER_AGENT = "nodewatch-notify/1"
SNIPPET = 300  # bytes of a response body quoted in an error reason


def post(
    session: requests.Session,
    url: str,
    *,
    body: bytes,
    timeout: float,
    secrets: Iterable[str],
    headers: Mapping[str, str] | None = None,
) -> requests.Response:
    """POST ``body`` as JSON; transport failures become RetryableError with the URL's secrets masked."""
    secrets = tuple(secrets)
    all_headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        **(headers or {}),
    }
    try:
        return session.post(url, data=body, headers=all_headers, timeout=timeout, allow_redirects=False)
    # `from None`: the chained exception's text carries the full URL, tokens included
    except requests.Timeout as exc:
        raise errors.RetryableError(
            redact(f"timed out after {timeout:g}s ({type(exc).__name__})", secrets)
        ) from None
    except requests.ConnectionError as exc:
        raise errors.RetryableError(redact(f"connection failed: {_root(exc)}", secrets)) from None
    except requests.RequestException as exc:
        raise errors.PermanentError(
            redact(f"request not sent: {type(exc).__name__}: {exc}", secrets)
        ) from None


def _root(exc: BaseException) -> str:
    """The innermost cause's text: urllib3 wraps the useful part ("Connection refused") in layers."""
    while exc.__cause__ is not None or exc.__context__ is not None:
        nxt = exc.__cause__ or exc.__context__
        assert nxt is not None
        exc = nxt
    if exc.args and hasattr(exc.args[0], "reason"):
        return f"{type(exc).__name__}: {exc.args[0].reason}"
    return f"{type(exc).__name__}: {exc}"


def retry_after(response: requests.Response, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date), None when absent or unreadable."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - (time.time() if now is None else now), 0.0)


def snippet(response: requests.Response, secrets: Iterable[str]) -> str:
    text = response.content[:SNIPPET].decode("utf-8", errors="replace").strip()
    return redact(text, secrets) or "(empty body)"


def raise_for_status(response: requests.Response, secrets: Iterable[str], service: str) -> None:
    """Non-2xx: 429 (with Retry-After), 408 and 5xx are retryable, any other status is permanent."""
    status = response.status_code
    if 200 <= status < 300:
        return
    reason = f"{service} answered HTTP {status}: {snippet(response, secrets)}"
    if status == 429:
        raise errors.RetryableError(reason, retry_after(response))
    if status == 408 or status >= 500:
        raise errors.RetryableError(reason, retry_after(response))
    raise errors.PermanentError(reason)


def errcode_body(response: requests.Response, secrets: Iterable[str], service: str) -> tuple[int, str]:
    """(errcode, errmsg) from a DingTalk/WeCom style JSON answer; anything else is a permanent error."""
    try:
        data = response.json()
        return int(data["errcode"]), str(data.get("errmsg", ""))
    except (ValueError, KeyError, TypeError):
        raise errors.PermanentError(
            f"{service} answered without an errcode: {snippet(response, secrets)}"
        ) from None


def raise_for_errcode(
    response: requests.Response,
    secrets: Iterable[str],
    service: str,
    retry_later: Mapping[int, float | None],
) -> None:
    """DingTalk and WeCom answer HTTP 200 for their own errors: errcode 0 is a delivery; a code in
    ``retry_later`` is retryable (after its delay, None = the caller's backoff); any other is permanent."""
    code, message = errcode_body(response, secrets, service)
    if code == 0:
        return
    reason = redact(f"{service} errcode {code}: {message}", secrets)
    if code in retry_later:
        raise errors.RetryableError(reason, retry_later[code])
    raise errors.PermanentError(reason)


@dataclass(frozen=True)
class Service:
    """Where one channel sends and how the answer reads: the session, URL and timeout of its POSTs, the secrets
    masked in what a failure says, and the service's name in those reasons. Each channel holds one (composed, not
    inherited) and keeps only what is its own: the body, a signature, what success looks like beyond the status."""

    name: str
    session: requests.Session
    url: str = field(repr=False)
    timeout: float
    secrets: tuple[str, ...]

    def send(
        self,
        body: bytes,
        *,
        url: str | None = None,
        headers: Mapping[str, str] | None = None,
        errcodes: Mapping[int, float | None] | None = None,
    ) -> requests.Response:
        """POST ``body`` (to ``url`` when a signature goes into it) and raise unless it was accepted: a transport
        failure or a status that is no 2xx (``post``, ``raise_for_status``); with ``errcodes``, an answer whose
        errcode is not 0 (``raise_for_errcode``: DingTalk and WeCom answer HTTP 200 for their own errors)."""
        response = post(
            self.session,
            url or self.url,
            body=body,
            timeout=self.timeout,
            secrets=self.secrets,
            headers=headers,
        )
        raise_for_status(response, self.secrets, self.name)
        if errcodes is not None:
            raise_for_errcode(response, self.secrets, self.name, errcodes)
        return response
