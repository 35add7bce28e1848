"""A replay longer than a scenario's traces is refused before anything starts, naming the trace."""

from __future__ import annotations

import pytest

from worker.replay import engine


def test_a_replay_longer_than_its_traces_is_refused_up_front() -> None:
    assert engine.load_scenario("traces", None).hours == 48
    with pytest.raises(ValueError, match=r"traces.yaml: .*bitbrains_rnd_vm1_week1.csv.gz .* ends 168.0 h"):
        engine.load_scenario("traces", 170)


def test_every_shipped_replay_scenario_fits_its_traces() -> None:
    for name in ("replay-day", "replay-flap", "replay-storm", "traces", "predict-bitbrains"):
        engine.load_scenario(name, None)
