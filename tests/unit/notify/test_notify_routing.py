"""Routing tree: matchers, first match wins, continue, default route, inheritance, send_resolved, repeat interval."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from tests.contract.helpers import notification
from worker.model import NotificationKind, Severity
from worker.notify import routing
from worker.settings.routes import RouteSettings

TREE: dict[str, Any] = {
    "receiver": "default",
    "repeatInterval": "4h",
    "routes": [
        {"severities": ["critical"], "receiver": "pager", "continue": True, "repeatInterval": "30m"},
        {"clusterLabels": {"env": "prod"}, "receiver": "prod-ding", "sendResolved": False},
        {"clusters": ["gpu-*"], "nodeGroups": ["a100"], "receiver": "gpu-team"},
        {"rules": ["disk_*"], "receivers": ["storage", "default"]},
        {"clusters": ["lab"], "receiver": "lab", "routes": [{"rules": ["cpu_usage"], "receiver": "lab-cpu"}]},
    ],
}


def subject(
    cluster: str = "c1",
    labels: dict[str, str] | None = None,
    group: str = "",
    rule: str = "cpu_usage",
    severity: str = "warning",
) -> routing.Subject:
    return routing.Subject(cluster, labels or {}, group, rule, severity)


@pytest.mark.parametrize(
    ("s", "expected"),
    [
        (subject(), ["default"]),
        # as in Alertmanager: a matching child (even with continue) means the parent does not send
        (subject(severity="critical"), ["pager"]),
        (subject(labels={"env": "prod"}), ["prod-ding"]),
        (subject(labels={"env": "prod"}, severity="critical"), ["pager", "prod-ding"]),
        (subject(labels={"env": "staging"}), ["default"]),
        (subject(cluster="gpu-eu", group="a100"), ["gpu-team"]),
        (subject(cluster="gpu-eu", group="t4"), ["default"]),  # every matcher must hold
        (subject(rule="disk_nodefs"), ["storage", "default"]),
        (subject(cluster="lab", rule="cpu_usage"), ["lab-cpu"]),  # nested: the deepest match
        (subject(cluster="lab", rule="memory_usage"), ["lab"]),  # nested: no child matched, the parent sends
        (subject(labels={"env": "prod"}, rule="disk_nodefs"), ["prod-ding"]),  # first match stops the walk
    ],
)
def test_receivers_chosen(s: routing.Subject, expected: list[str]) -> None:
    tree = RouteSettings.model_validate(TREE)
    assert [t.receiver for t in routing.route(tree, s, all_receivers=[])] == expected


def test_options_are_inherited_and_overridden() -> None:
    tree = RouteSettings.model_validate(TREE)
    s = subject(labels={"env": "prod"}, severity="critical")
    by_name = {t.receiver: t for t in routing.route(tree, s, all_receivers=[])}
    assert by_name["pager"].repeat_interval == 1800
    assert by_name["prod-ding"].repeat_interval == 4 * 3600
    assert by_name["pager"].route == "route.routes.0"
    (prod,) = routing.route(tree, subject(labels={"env": "prod"}), all_receivers=[])
    assert prod.send_resolved is False and prod.repeat_interval == 4 * 3600


def test_without_a_route_every_receiver_gets_everything() -> None:
    got = routing.route(None, subject(), all_receivers=["slack", "dingtalk"], send_resolved=False)
    assert [t.receiver for t in got] == ["slack", "dingtalk"]
    assert not got[0].send_resolved


def test_resolved_messages_follow_send_resolved() -> None:
    tree = RouteSettings.model_validate(TREE)
    (prod,) = routing.route(tree, subject(labels={"env": "prod"}), all_receivers=[])
    resolved = notification(kind=NotificationKind.RESOLVED)
    assert routing.wanted(prod, resolved) is not None
    assert "prod-ding" in (routing.wanted(prod, resolved) or "")
    assert routing.wanted(prod, notification()) is None
    (default,) = routing.route(tree, subject(), all_receivers=[])
    assert routing.wanted(default, resolved) is None


def test_subject_from_a_notification_reads_node_group_param() -> None:
    n = dataclasses.replace(notification(severity=Severity.WARNING), params={"node_group": "a100"})
    s = routing.subject(n, {"env": "prod"})
    assert (s.cluster, s.node_group, s.rule, s.severity, dict(s.cluster_labels)) == (
        "demo",
        "a100",
        "cpu_usage",
        "warning",
        {"env": "prod"},
    )


@pytest.mark.parametrize(("raw", "seconds"), [(30, 1800.0), ("90s", 90.0), ("2h", 7200.0), ("1d", 86400.0)])
def test_repeat_interval_forms(raw: object, seconds: float) -> None:
    assert RouteSettings.model_validate({"repeatInterval": raw}).repeat_interval == seconds


def test_bad_repeat_interval_is_rejected() -> None:
    with pytest.raises(ValueError, match="duration"):
        RouteSettings.model_validate({"repeatInterval": "soon"})


HOUR = 3600.0
FOUR_H = routing.Target("ops", True, 4 * HOUR, "route")
ONE_H = routing.Target("ops", True, HOUR, "route.routes.0")


@pytest.mark.parametrize(
    ("name", "target", "kind", "last", "now", "held"),
    [
        ("first message of an alert", FOUR_H, NotificationKind.FIRING, None, 0.0, False),
        ("a firing is never held", FOUR_H, NotificationKind.FIRING, 0.0, 60.0, False),
        ("an escalation is never held", FOUR_H, NotificationKind.ESCALATED, 0.0, 60.0, False),
        ("a resolve is never held", FOUR_H, NotificationKind.RESOLVED, 0.0, 60.0, False),
        ("a repeat inside the interval", FOUR_H, NotificationKind.REPEAT, 0.0, HOUR, True),
        ("a repeat once the interval passed", FOUR_H, NotificationKind.REPEAT, 0.0, 4 * HOUR, False),
        # warning fired through the 4 h route, escalated through the 1 h critical route: the 1 h route counts
        # from the last message (the escalation), not from the warning's 4 h
        ("critical route after an escalation", ONE_H, NotificationKind.REPEAT, 2 * HOUR, 3 * HOUR, False),
        ("critical route, too soon", ONE_H, NotificationKind.REPEAT, 2 * HOUR, 2.5 * HOUR, True),
        ("a repeat with nothing recorded", FOUR_H, NotificationKind.REPEAT, None, 10.0, False),
        (
            "no route interval",
            dataclasses.replace(FOUR_H, repeat_interval=None),
            NotificationKind.REPEAT,
            0.0,
            1,
            False,
        ),
    ],
)
def test_route_repeat_interval(
    name: str, target: routing.Target, kind: NotificationKind, last: float | None, now: float, held: bool
) -> None:
    n = dataclasses.replace(notification(), kind=kind)
    reason = routing.repeat_held(target, n, last, now)
    assert (reason is not None) == held
    if reason:
        assert f"held by {target.route} repeatInterval until {last + target.repeat_interval:.0f}" in reason
