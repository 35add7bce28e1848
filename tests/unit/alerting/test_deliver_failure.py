"""The send stage's decision after a failed send (worker/alerting/deliver.py ``failure``): retry with backoff or
the service's delay, give up past the retry window, give up at once on a permanent error. Pure: ``now`` and the
jitter draw handed in."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import pytest

from tests.contract.helpers import notification
from worker.alerting.deliver import failure
from worker.notify.errors import DeliveryError, PermanentError, RetryableError

POLICY = SimpleNamespace(min_retry_delay=5.0, max_retry_delay=300.0, retry_window=3600.0)
CREATED = 1_780_000_300.0  # notification()'s created_at


@pytest.mark.parametrize(
    ("name", "err", "tries", "now", "retry_in", "given_up"),
    [
        ("first retry: min delay, jitter 0 halves it", RetryableError("503"), 0, CREATED, 2.5, False),
        ("doubles each try", RetryableError("503"), 3, CREATED, 20.0, False),
        ("capped", RetryableError("503"), 20, CREATED, 150.0, False),
        ("the service's delay wins", RetryableError("429", delay=42.0), 0, CREATED, 42.0, False),
        ("past the window: given up", RetryableError("503"), 3, CREATED + 3590, 20.0, True),
        ("permanent: given up, no retry", PermanentError("400 bad token"), 0, CREATED, None, True),
    ],
)
def test_failure(
    name: str, err: DeliveryError, tries: int, now: float, retry_in: float | None, given_up: bool
) -> None:
    n = notification()
    f = failure(err, tries, [n], now, POLICY, secrets=[], rand=0.0)
    assert f.retry_in == retry_in
    assert f.given_up == ([n] if given_up else [])


def test_a_digest_gives_up_only_its_old_messages_and_masks_secrets() -> None:
    old, new = notification(), dataclasses.replace(notification(), id="n-2", created_at=CREATED + 3000)
    f = failure(
        RetryableError("503 for token s3cr3t"), 3, [old, new], CREATED + 3590, POLICY, ["s3cr3t"], 0.0
    )
    assert f.retry_in == 20.0 and f.given_up == [old]
    assert "s3cr3t" not in f.reason
