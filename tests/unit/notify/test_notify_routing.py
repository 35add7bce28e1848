"""Routing tree: matchers, first match wins, continue, default route, inheritance, send_resolved, repeat interval."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from tests.contract.helpers import notification
from worker.model import NotificationKind, Severity
from worker.notify import routing
from worker.settings_notify import RouteSettings

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
