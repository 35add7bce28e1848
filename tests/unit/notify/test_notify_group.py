"""A storm's grouped notification names every node with its own figure, in the receiver's language."""

from __future__ import annotations

import pytest

from worker.model import Notification, NotificationKind, Severity
from worker.notify import templates
from worker.rules.storms import grouped


def member(i: int, sev: Severity = Severity.CRITICAL) -> Notification:
    return Notification(
        f"id{i}", NotificationKind.FIRING, "prod", f"node-{i}", "cpu_usage", sev, f"node-{i} cpu",
        {"value": 90.0 + i, "threshold": 90.0}, 1.0, 2.0, f"fp{i}",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("lang", "head", "line"),
    [("zh", "25 个节点同时告警", "CPU 使用率 93%"), ("en", "25 nodes at once", "CPU usage 93%")],
)
def test_group_lists_members_and_cuts_with_more(lang: str, head: str, line: str) -> None:
    g = grouped("prod", "cpu_usage", [member(i) for i in range(25)], 100.0)
    assert g.node == "" and g.params["count"] == 25
    r = templates.render(g, lang, "markdown")
    assert head in r.title
    assert f"- node-3 {line}" in r.text
    assert "- … +5 more" in r.text  # 20 shown


def test_group_puts_critical_members_first_and_takes_the_worst_severity() -> None:
    g = grouped(
        "prod", "cpu_usage", [member(1, Severity.WARNING), member(2), member(3, Severity.WARNING)], 1.0
    )
    assert g.severity == Severity.CRITICAL
    assert [m["node"] for m in g.params["group"]] == ["node-2", "node-1", "node-3"]  # type: ignore[union-attr,index]
