"""The shared helpers must themselves fail when they should: a leak hidden in a chained exception, a wrong class."""

from __future__ import annotations

import pytest

from tests.contract.helpers import assert_leaks_no_secret, assert_retries_as_expected
from worker.notify import errors


def _chained_leak() -> None:
    try:
        raise ConnectionError("GET /robot/send?access_token=tok-secret-1 failed")
    except ConnectionError:
        # implicit chaining: a traceback would print the ConnectionError, URL and token included
        raise errors.RetryableError("connection failed")  # noqa: B904


def test_leak_in_chained_context_is_caught() -> None:
    with pytest.raises(errors.RetryableError) as info:
        _chained_leak()
    with pytest.raises(AssertionError, match="leaked"):
        assert_leaks_no_secret(info.value, ["tok-secret-1"])


def test_suppressed_context_is_not_a_leak() -> None:
    try:
        try:
            raise ConnectionError("tok-secret-1")
        except ConnectionError:
            raise errors.RetryableError("connection failed") from None
    except errors.RetryableError as exc:
        assert_leaks_no_secret(exc, ["tok-secret-1"])


def test_url_encoded_secret_is_caught() -> None:
    with pytest.raises(AssertionError):
        assert_leaks_no_secret("sign=a%2Bb%3D%3D", ["a+b=="])


def test_wrong_class_or_delay_fails() -> None:
    def permanent() -> None:
        raise errors.PermanentError("nope")

    def retry_later() -> None:
        raise errors.RetryableError("later", 5)

    with pytest.raises(AssertionError, match="expected RetryableError"):
        assert_retries_as_expected(permanent, retryable=True, secrets=[])
    with pytest.raises(AssertionError):
        assert_retries_as_expected(retry_later, retryable=True, delay=60, secrets=[])
    with pytest.raises(AssertionError):
        assert_retries_as_expected(retry_later, retryable=True, secrets=[], reason="sooner")
    assert_retries_as_expected(retry_later, retryable=True, delay=5, secrets=[], reason="later")
