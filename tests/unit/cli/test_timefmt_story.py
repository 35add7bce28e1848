"""The one time format of the tables and ``alerts why`` as a story: pure, from tables with an explicit ``now``."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from worker.cli import story, timefmt
from worker.model import Severity
from worker.model.alerts import AlertState

NOW = 1_795_971_600.0  # 2026-11-29 17:00 UTC
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("seconds", "exact", "said"),
    [(45, False, "45s"), (150, False, "2m"), (150, True, "2m30s"), (900, True, "15m"), (7800, False, "2h10m"),
     (86400 * 3 + 3600 * 4, False, "3d4h"), (3600, False, "1h")],
)  # fmt: skip
def test_span(seconds: float, exact: bool, said: str) -> None:
    assert timefmt.span(seconds, exact) == said


def test_stamps_are_local_with_the_zone_and_distances_say_in_or_ago() -> None:
    assert timefmt.stamp(NOW, SHANGHAI) == "2026-11-30 01:00 CST"
    assert timefmt.stamp(NOW, timefmt.UTC) == "2026-11-29 17:00 UTC"
    assert (
        timefmt.stamp(NOW, ZoneInfo("America/Sao_Paulo")) == "2026-11-29 14:00 -03:00"
    )  # a zone without letters
    assert timefmt.stamp(NOW + 60, timefmt.UTC, now=NOW) == "17:01:00"  # same day: the time is enough
    assert timefmt.relative(NOW + 240, NOW) == "in 4m" and timefmt.relative(NOW - 7200, NOW) == "2h ago"
    assert timefmt.at(NOW + 240, timefmt.UTC, NOW) == "2026-11-29 17:04 UTC (in 4m)"


def test_zone_comes_from_the_config_else_utc() -> None:
    class Cfg:
        timezone = "Asia/Shanghai"

    assert timefmt.zone(None) == timefmt.UTC
    assert timefmt.zone(Cfg()) == SHANGHAI  # type: ignore[arg-type]


def d(offset: float, reason: str, cluster: str = "prod") -> story.Decision:
    return story.Decision(NOW + offset, cluster, reason)


def test_the_story_is_one_line_per_decision_with_repeats_collapsed_and_epochs_as_local_times() -> None:
    pending = f"pending until {NOW + 540:.0f} (for 540s)"
    decisions = [
        d(0, pending), d(60, pending), d(120, pending),
        d(540, "message firing: started firing"),
        *(d(600 + 60 * i, "in cooldown (repeat interval)") for i in range(14)),
        d(1500, f"cleared, resolves at {NOW + 2100:.0f} unless it comes back"),
        d(2100, "message resolved: resolved"),
    ]  # fmt: skip
    assert story.lines(list(reversed(decisions)), timefmt.UTC, NOW + 2200) == [
        "17:00:00  pending   pending until 17:09:00 (for 540s) ×3 until 17:02:00",
        "17:09:00  firing    message firing: started firing",
        "17:10:00  firing    in cooldown (repeat interval) ×14 until 17:23:00",
        "17:25:00  clearing  cleared, resolves at 17:35:00 unless it comes back",
        "17:35:00  resolved  message resolved: resolved",
    ]


def test_figures_do_not_split_a_run_and_clusters_are_named_when_there_are_several() -> None:
    runs = story.collapse([d(0, "rate-limited: slack sends it in a digest in 12s"),
                           d(60, "rate-limited: slack sends it in a digest in 40s")])  # fmt: skip
    assert [(first.at, last.reason, n) for first, last, n in runs] == [
        (NOW, "rate-limited: slack sends it in a digest in 40s", 2)
    ]
    two = story.lines(
        [d(0, "silenced by s-1 (me: x)", "a"), d(1, "silenced by s-1 (me: x)", "b")], timefmt.UTC, NOW
    )
    assert two == [
        "17:00:00  a  held      silenced by s-1 (me: x)",
        "17:00:01  b  held      silenced by s-1 (me: x)",
    ]


def test_headline_says_state_severity_since_and_the_last_message() -> None:
    st = AlertState("fp1", "node-7", "cpu_usage", "firing", Severity.CRITICAL, NOW - 960, NOW - 420,
                    Severity.CRITICAL, acked=True)  # fmt: skip
    assert story.headline("fp1", "prod-eu", st, SHANGHAI, NOW) == (
        "fp1: prod-eu node-7 cpu_usage is firing critical since 2026-11-30 00:44 CST (16m ago); "
        "last message: critical, acknowledged"
    )
