"""The watchdog's pure decision: is a cluster stale at ``now``? From a table, ``now`` handed in."""

from __future__ import annotations

import pytest

from worker import watchdog
from worker.model import Severity
from worker.notify.templates import builtin
from worker.state.store import Watched

NOW = 10_000.0


@pytest.mark.parametrize(
    ("ended", "interval", "next_due", "stale"),
    [
        (NOW - 60, 60.0, NOW + 1, False),  # scanned a minute ago
        (NOW - 180, 60.0, NOW + 1, False),  # exactly 3 intervals: not yet
        (NOW - 181, 60.0, NOW + 1, True),  # workers stuck: the dispatcher still moves the due time on
        (NOW - 181, None, NOW + 1, True),  # no interval in the record: the config's checkInterval (60)
        (NOW - 500, 300.0, NOW + 1, False),  # a cluster of its own, slower interval
        (None, 60.0, NOW + 30, False),  # never scanned, claimed 30 s ago
        (None, None, NOW - 200, True),  # never scanned and not claimed for 260 s: beat dead
    ],
)
def test_stale_after_three_intervals(
    ended: float | None, interval: float | None, next_due: float, stale: bool
) -> None:
    f = watchdog.verdict(Watched("c", next_due, ended, interval, False), 3, 60.0, NOW)
    assert (f.severity is Severity.CRITICAL) is stale
    assert f.rule == "cluster_not_scanned" and f.node == "" and f.value is not None


def test_never_stale_before_min_stale() -> None:
    seen = Watched("c", NOW + 1, NOW - 10, 1.0, False)  # 10 intervals of 1 s
    assert watchdog.verdict(seen, 3, 60.0, NOW).severity is Severity.CRITICAL
    assert watchdog.verdict(seen, 3, 60.0, NOW, min_stale=120).severity is None


def test_the_reason_says_what_to_look_at() -> None:
    f = watchdog.verdict(Watched("c", NOW, NOW - 600, 60.0, False), 3, 60.0, NOW)
    assert "10m" in str(f.params["reason"]) and "beat" in str(f.params["reason"])
    never = watchdog.verdict(Watched("c", NOW - 900, None, 60.0, False), 3, 60.0, NOW)
    assert "never scanned" in str(never.params["reason"])


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_heartbeat_reads_in_both_languages(lang: str) -> None:
    text = builtin.render(watchdog.heartbeat("ops", NOW, 12), lang, "text").text
    assert "12" in text and ("HEARTBEAT" in text if lang == "en" else "心跳" in text)
