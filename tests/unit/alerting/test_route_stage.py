"""The route and repeat stages (worker/alerting/route.py): which receivers get a message now, and why not the
others. Pure, from a table, ``now`` and the receivers' last-sent times handed in."""

from __future__ import annotations

from typing import Any

import pytest

from tests.contract.helpers import notification
from worker import settings
from worker.alerting import route
from worker.model import NotificationKind, Severity
from worker.notify import routing

HOUR = 3600.0
FIRING, REPEAT, RESOLVED = NotificationKind.FIRING, NotificationKind.REPEAT, NotificationKind.RESOLVED
HOOKS = [
    {"name": "ops", "kind": "webhook", "url": "https://hooks.example.invalid/ops"},
    {"name": "pager", "kind": "webhook", "url": "https://hooks.example.invalid/pager"},
]
TREE = {
    "receiver": "ops",
    "routes": [
        {"clusterLabels": {"tier": "gold"}, "severities": ["critical"], "receiver": "pager", "repeatInterval": "1h",
         "continue": True},
        {"receiver": "ops", "sendResolved": False},
    ],
}  # fmt: skip


def cfg(**raw: Any) -> settings.Settings:
    return settings.parse({"receivers": HOOKS, **raw}, env={})


CASES: list[tuple[str, dict[str, Any], NotificationKind, Severity, dict[str, str], dict[str, float], float, list[str], list[str]]] = [  # fmt: skip
    ("no route: every receiver", {}, FIRING, Severity.CRITICAL, {}, {}, 0.0, ["ops", "pager"], []),
    ("resolved off globally", {"notify": {"sendResolved": False}}, RESOLVED, Severity.CRITICAL, {}, {}, 0.0, [],
     ["resolved messages are off for ops", "resolved messages are off for pager"]),
    ("cluster label picks pager", {"route": TREE}, FIRING, Severity.CRITICAL, {"tier": "gold"}, {}, 0.0,
     ["pager", "ops"], []),
    ("without the label, ops alone", {"route": TREE}, FIRING, Severity.CRITICAL, {"tier": "tin"}, {}, 0.0,
     ["ops"], []),
    ("a repeat inside pager's interval", {"route": TREE}, REPEAT, Severity.CRITICAL, {"tier": "gold"},
     {"pager": 0.0, "ops": 0.0}, HOUR / 2, ["ops"], ["repeat to pager held by route.routes.0 repeatInterval"]),
    ("a repeat once it passed", {"route": TREE}, REPEAT, Severity.CRITICAL, {"tier": "gold"}, {"pager": 0.0},
     HOUR, ["pager", "ops"], []),
    ("resolved off on ops' route", {"route": TREE}, RESOLVED, Severity.CRITICAL, {"tier": "gold"}, {}, 0.0,
     ["pager"], ["resolved messages are off for ops"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "raw", "kind", "severity", "labels", "last", "now", "to", "why"),
    CASES,
    ids=[c[0] for c in CASES],
)
def test_receivers_of(
    name: str,
    raw: dict[str, Any],
    kind: NotificationKind,
    severity: Severity,
    labels: dict[str, str],
    last: dict[str, float],
    now: float,
    to: list[str],
    why: list[str],
) -> None:
    c = cfg(**raw)
    n = notification(kind=kind, severity=severity)
    names = list(c.endpoints())
    got, reasons = route.receivers_of(n, route.targets(c, n, labels, names), names, last, now)
    assert got == to
    assert len(reasons) == len(why) and all(r.startswith(w) for r, w in zip(reasons, why, strict=True)), (
        reasons
    )


def test_a_receiver_without_url_and_a_message_no_route_wants_say_why() -> None:
    n = notification()
    unknown = routing.Target("gone", True, None, "route")
    assert route.receivers_of(n, [unknown], ["ops"], {}, 0.0) == (
        [],
        ["receiver gone: its URL (file/env) is empty"],
    )
    assert route.receivers_of(n, [], ["ops"], {}, 0.0) == ([], ["firing: no route has a receiver for it"])


def test_longest_repeat_interval_of_the_tree() -> None:
    assert routing.longest_repeat(None) is None
    assert routing.longest_repeat(cfg(route={"receiver": "ops"}).route) is None
    assert routing.longest_repeat(cfg(route=TREE).route) == HOUR
    nested = {
        "receiver": "ops",
        "repeatInterval": "2h",
        "routes": [{"receiver": "pager", "repeatInterval": "1d"}],
    }
    assert routing.longest_repeat(cfg(route=nested).route) == 24 * HOUR
