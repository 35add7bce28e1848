"""Replay counts a notification when routing would deliver it somewhere (no channels are called)."""

from __future__ import annotations

import pytest

from worker import settings
from worker.model import Notification, NotificationKind, Severity
from worker.replay.engine import routed, subjects


def note(kind: NotificationKind, params: dict[str, object] | None = None, node: str = "n1") -> Notification:
    return Notification(
        "id", kind, "c", node, "cpu_usage", Severity.CRITICAL, "", params or {}, 0.0, 0.0, "fp"
    )


FIRING, RESOLVED = NotificationKind.FIRING, NotificationKind.RESOLVED
SLACK = {"slack": {"webhookURL": "https://hooks.example.invalid/services/T/B/x"}}

CASES = [
    ("no receivers: every notification counts", {}, FIRING, True),
    ("no receivers: resolved counts too", {}, RESOLVED, True),
    ("a receiver, no route: firing goes to it", SLACK, FIRING, True),
    ("resolved off globally", SLACK | {"notify": {"sendResolved": False}}, RESOLVED, False),
    (
        "resolved off on the route",
        SLACK | {"route": {"receiver": "slack", "sendResolved": False}},
        RESOLVED,
        False,
    ),
    (
        "firing still goes where resolved is off",
        SLACK | {"route": {"receiver": "slack", "sendResolved": False}},
        FIRING,
        True,
    ),
]


@pytest.mark.parametrize(("name", "raw", "kind", "expected"), CASES, ids=[c[0] for c in CASES])
def test_routed(name: str, raw: dict[str, object], kind: NotificationKind, expected: bool) -> None:
    assert routed(settings.parse(raw, env={}), note(kind)) is expected


def test_subjects_of_grouped_and_ready_drop_messages() -> None:
    assert subjects(note(FIRING)) == ("n1",)
    grouped = note(FIRING, {"group": [{"node": "a"}, {"node": "b"}], "count": 2}, node="")
    assert subjects(grouped) == ("a", "b")
    assert subjects(note(FIRING, {"dropped": ["x", "y"]}, node="")) == ("x", "y")
