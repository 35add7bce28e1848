"""Which nodes a replayed notification speaks about (scoring counts a grouped message for every node it lists)."""

from __future__ import annotations

from worker.model import Notification, NotificationKind, Severity
from worker.replay.engine import subjects


def note(params: dict[str, object] | None = None, node: str = "n1") -> Notification:
    return Notification(
        "id",
        NotificationKind.FIRING,
        "c",
        node,
        "cpu_usage",
        Severity.CRITICAL,
        "",
        params or {},
        0.0,
        0.0,
        "fp",
    )


def test_subjects_of_grouped_and_ready_drop_messages() -> None:
    assert subjects(note()) == ("n1",)
    grouped = note({"group": [{"node": "a"}, {"node": "b"}], "count": 2}, node="")
    assert subjects(grouped) == ("a", "b")
    assert subjects(note({"dropped": ["x", "y"]}, node="")) == ("x", "y")
