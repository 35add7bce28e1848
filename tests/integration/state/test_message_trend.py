"""A message's trend line comes from the node's history in the suite's real Redis: written by scans, read once per
metric when something is sent; a Redis that cannot answer costs the trend line, never the message."""

from __future__ import annotations

import dataclasses

import pytest

from worker.alerting import transitions
from worker.model import NotificationKind
from worker.notify import examples, templates
from worker.state import store

NOW = examples.FIRED


def test_firing_message_gets_its_trend_from_history(redis_url: str) -> None:
    stores = store.Stores(store.connect(redis_url))
    node = examples.NODE
    for k, cpu in enumerate((81.0, 84.0, 88.0, 92.0, 95.0)):
        stores.record_history("prod-eu", NOW - 1500 + k * 300, {node: {"cpu": cpu, "memory": 50.0}})
    cpu = dataclasses.replace(examples.sample("cpu_usage"), params={"value": 97.3, "threshold": 90.0})
    memory = dataclasses.replace(examples.sample("memory_usage"), params={"value": 93.0, "threshold": 90.0})
    resolved = examples.sample("cpu_usage", NotificationKind.RESOLVED)
    out = transitions._with_trends(stores, "prod-eu", [cpu, memory, resolved], NOW)
    assert out[0].params["trend"] == {"from": 81.0, "ago": 1500}
    assert dict(templates.render(out[0], "en", "text").fields)["Trend"] == "↑ 81% → 97.3% in 25m"
    assert "trend" not in out[1].params or out[1].params["trend"]["from"] == 50.0
    assert "trend" not in out[2].params  # a resolved message shows no trend


def test_history_that_cannot_be_read_leaves_the_message_without_trend() -> None:
    stores = store.Stores(store.connect("redis://127.0.0.1:1/0"))  # nothing listens on port 1
    cpu = dataclasses.replace(examples.sample("cpu_usage"), params={"value": 97.3, "threshold": 90.0})
    assert transitions._with_trends(stores, "prod-eu", [cpu], NOW) == [cpu]


@pytest.mark.parametrize(
    ("fine", "expected"),
    [
        ([(NOW - 1500, 81.0), (NOW - 60, 95.0)], {"from": 81.0, "ago": 1500}),
        ([(NOW - 4000, 70.0), (NOW - 1200, 80.0), (NOW - 60, 95.0)], {"from": 80.0, "ago": 1200}),
        ([(NOW - 120, 81.0), (NOW - 60, 95.0)], None),  # two minutes is no trend
        ([(NOW - 1500, 81.0)], None),  # one sample
        ([], None),
    ],
)
def test_change_over_the_last_half_hour(fine: list[tuple[float, float]], expected: object) -> None:
    from worker.model import history

    assert history.change(history.Series(fine, []), NOW) == expected
