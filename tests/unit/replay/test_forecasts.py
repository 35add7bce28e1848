"""Scoring predictive alerts: exhaustions from kubesim's kubelet log, predicted, lead times, false alarms."""

from __future__ import annotations

import pytest

from worker.replay import forecasts
from worker.replay.incidents import Sent
from worker.replay.mixin import Alarm

H = 3600.0


def evict(t: float, node: str = "n1", metric: str = "disk") -> dict[str, object]:
    return {"t": t, "node": node, "action": "evict", "metric": metric, "signal": "x", "level": 0.9}


def test_crossings_closer_than_the_pressure_period_are_one_exhaustion() -> None:
    events = [
        evict(100 * H),
        evict(100 * H + 10),
        evict(100 * H + 200),
        evict(110 * H),
        evict(100 * H, "n2", "memory"),
    ]
    events.append(
        {"t": 50 * H, "node": "n1", "action": "gc", "metric": "imagefs", "signal": "x", "level": 0.85}
    )
    found = forecasts.exhaustions("c", events)
    assert [(x.node, x.metric, x.t) for x in found] == [
        ("n1", "nodefs", 100 * H),
        ("n2", "memory", 100 * H),
        ("n1", "nodefs", 110 * H),
    ]


def alarm(start: float, end: float | None, severity: str = "warning", node: str = "n1") -> Alarm:
    return Alarm("c", node, "nodefs", severity, start, end)


def test_lead_time_false_alarms_and_undecided() -> None:
    found = [
        forecasts.Exhaustion("c", "n1", "nodefs", 20 * H),
        forecasts.Exhaustion("c", "n1", "nodefs", 40 * H),
    ]
    alarms = [
        alarm(5 * H, 20 * H),  # warning 15 h ahead, still firing at the crossing: predicted, lead 15 h
        alarm(16 * H, None, "critical"),  # critical 4 h ahead: true (within 5 h)
        alarm(30 * H, 33 * H),  # fired and resolved 7 h before the second crossing: not a prediction of it
        alarm(50 * H, None, node="n2"),  # n2 never exhausts; the replay ends at 60 h: 30 h window not over
        alarm(1 * H, 2 * H, node="n3"),  # n3 never exhausts, window over at 31 h: false
    ]
    fig = forecasts.score(found, alarms, "nodefs", end=60 * H)
    assert (fig.exhaustions, fig.predicted) == (2, 1)
    assert fig.median_lead_time_s == pytest.approx(15 * H)
    assert [(x.t) for x in fig.missed] == [40 * H]
    # the 30 h alarm is true (the crossing at 40 h is within 30 h); n3's is false; n2's undecided
    assert (fig.alarms, fig.false_alarms, fig.undecided) == (5, 1, 1)
    assert fig.false[0].node == "n3"
    assert forecasts.score(found, alarms, "memory", end=60 * H).exhaustions == 0


def test_nodewatch_messages_become_alarms_per_severity() -> None:
    sent = [
        Sent(1 * H, "c", "nodefs_fill_predicted", "firing", "warning", ("n1",)),
        Sent(2 * H, "c", "nodefs_fill_predicted", "repeat", "warning", ("n1",)),
        Sent(3 * H, "c", "nodefs_fill_predicted", "escalated", "critical", ("n1",)),
        Sent(4 * H, "c", "nodefs_fill_predicted", "resolved", "critical", ("n1",)),
        Sent(5 * H, "c", "memory_fill_predicted", "firing", "critical", ("n2",)),
        Sent(5 * H, "c", "cpu_usage", "firing", "critical", ("n2",)),
    ]
    alarms = forecasts.alarms_from(sent, end=10 * H)
    assert [(a.node, a.metric, a.severity, a.start, a.end) for a in alarms] == [
        ("n1", "nodefs", "warning", 1 * H, 4 * H),
        ("n1", "nodefs", "critical", 3 * H, 4 * H),
        ("n2", "memory", "critical", 5 * H, None),
    ]


def test_figures_count_from_the_scoring_window_and_show_memory_as_not_applicable_to_node_mixin() -> None:
    found = [
        forecasts.Exhaustion("c", "n1", "nodefs", 10 * H),  # in the warm-up: not counted
        forecasts.Exhaustion("c", "n1", "nodefs", 60 * H),
        forecasts.Exhaustion("c", "n2", "memory", 70 * H),
    ]
    base = [alarm(5 * H, 10 * H), alarm(55 * H, 60 * H)]
    sent = [Sent(66 * H, "c", "memory_fill_predicted", "firing", "critical", ("n2",))]
    figs = forecasts.figures(found, sent, base, (48 * H, 96 * H), shown=("imagefs",))
    assert list(figs) == ["nodefs", "imagefs", "memory"]
    nodefs = figs["nodefs"]["baseline"]
    assert nodefs is not None and (nodefs.exhaustions, nodefs.predicted, nodefs.alarms) == (1, 1, 1)
    assert figs["memory"]["baseline"] is None
    memory = figs["memory"]["nodewatch"]
    assert memory is not None and memory.median_lead_time_s == pytest.approx(4 * H)
    table = forecasts.table([("s", figs)]).splitlines()
    assert "| s | memory | baseline | n/a | n/a | n/a | n/a | n/a | n/a |" in table
    assert "| s | nodefs | baseline | 1 | 1 | 18000 | 1 | 0 | 0 |" in table


def test_several_scenarios_pool_every_lead_time_and_the_json_keeps_them() -> None:
    one = forecasts.Figures(exhaustions=3, alarms=4, false_alarms=1, lead_times=[1 * H, 2 * H, 9 * H])
    two = forecasts.Figures(exhaustions=2, alarms=2, undecided=1, lead_times=[3 * H])
    mine = forecasts.Figures(exhaustions=1, alarms=1, lead_times=[20 * H])
    reports = [
        ("a", {"nodefs": {"nodewatch": one, "baseline": two}}),
        (
            "b",
            {"imagefs": {"nodewatch": two, "baseline": one}, "memory": {"nodewatch": mine, "baseline": None}},
        ),
    ]
    pooled = forecasts.pooled(reports)
    nw, base = pooled["nodefs+imagefs+inodes"]["nodewatch"], pooled["nodefs+imagefs+inodes"]["baseline"]
    assert nw is not None and base is not None
    # the median of the four lead times together (2.5 h), not of the two scenarios' medians (2 h and 3 h)
    assert (nw.exhaustions, nw.predicted, nw.median_lead_time_s) == (5, 4, 2.5 * H)
    assert (nw.alarms, nw.false_alarms, nw.undecided) == (6, 1, 1)
    every = pooled["all"]["nodewatch"]
    assert every is not None and (every.exhaustions, every.median_lead_time_s) == (6, 3 * H)
    assert pooled["all"]["baseline"] is None
    rows = forecasts.table(reports).splitlines()
    assert "| all scenarios | nodefs+imagefs+inodes | nodewatch | 5 | 4 | 9000 | 6 | 1 | 1 |" in rows
    assert "| all scenarios | all | baseline | n/a | n/a | n/a | n/a | n/a | n/a |" in rows
    assert not any("all scenarios" in r for r in forecasts.table(reports[:1]).splitlines())
    back = forecasts.Figures.from_summary(one.summary())
    assert (back.exhaustions, back.predicted, back.lead_times, back.alarms, back.false_alarms) == (
        3, 3, [1 * H, 2 * H, 9 * H], 4, 1
    )  # fmt: skip
