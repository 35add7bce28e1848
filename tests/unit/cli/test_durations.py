"""The command line's one duration grammar, from a table: what each text means, and what is refused and why."""

from __future__ import annotations

import argparse

import pytest

from worker.cli import durations


@pytest.mark.parametrize(
    ("text", "bare", "seconds"),
    [
        ("90s", None, 90),
        ("5m", None, 300),
        ("2h", None, 7200),
        ("1d", None, 86400),
        ("1h30m", None, 5400),
        ("1d2h3m4s", None, 93784),
        ("1.5h", None, 5400),
        (" 30m ", None, 1800),
        ("0.5s", None, 0.5),
        ("180", "s", 180),  # a flag whose help names its unit: demo --duration SECONDS
        ("2.5", "s", 2.5),
        ("3m", "s", 180),
    ],
)
def test_reads(text: str, bare: str | None, seconds: float) -> None:
    assert durations.parse(text, bare) == seconds


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2", "give a unit: 2s, 2m, 2h"),
        ("60", "give a unit: 60s, 60m, 60h"),
        ("", "not a duration"),
        ("2 h", "not a duration"),
        ("2H", "not a duration"),
        ("-5m", "not a duration"),
        ("5min", "not a duration"),
        ("1h30", "not a duration"),
        ("30m1h", "largest first"),
        ("1h1h", "largest first"),
        ("0s", "more than 0s"),
        ("0h0m", "more than 0s"),
    ],
)
def test_refuses_with_the_reason(text: str, message: str) -> None:
    with pytest.raises(durations.DurationError, match=message):
        durations.parse(text)


def test_a_flag_turns_a_refusal_into_a_usage_error() -> None:
    parser = argparse.ArgumentParser(exit_on_error=False)
    parser.add_argument("--duration", type=durations.flag())
    assert parser.parse_args(["--duration", "1h30m"]).duration == 5400
    with pytest.raises(argparse.ArgumentError, match="give a unit: 2s, 2m, 2h"):
        parser.parse_args(["--duration", "2"])
