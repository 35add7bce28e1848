"""Storm grouping decisions, table-driven: one scan's messages in, what goes out alone, grouped, or waits."""

from __future__ import annotations

import pytest

from worker.model import Notification, NotificationKind, Severity, fingerprint
from worker.rules import storms

F, E, R, REP, FLAP = (
    NotificationKind.FIRING,
    NotificationKind.ESCALATED,
    NotificationKind.RESOLVED,
    NotificationKind.REPEAT,
    NotificationKind.FLAPPING,
)


def note(node: str, kind: NotificationKind = F, rule: str = "cpu_usage") -> Notification:
    return Notification(
        f"{node}-{rule}-{kind.value}", kind, "c", node, rule, Severity.CRITICAL, "s", {}, 0.0, 0.0,
        fingerprint("c", node, rule),
    )  # fmt: skip


def shape(p: storms.StormPlan) -> list[tuple[str, ...]]:
    return sorted(tuple(n.node or n.rule for n in msg) for msg in p.messages)


CASES = [
    # (name, notes, storms on, expected messages (node names), waiting, storms started)
    ("two nodes are not a storm", [note("a"), note("b")], set(), [("a",), ("b",)], [], []),
    ("three nodes firing one rule: one message", [note("a"), note("b"), note("c")], set(), [("a", "b", "c")], [],
     ["cpu_usage"]),
    ("rules group apart", [note("a"), note("b"), note("c", rule="memory_usage")], set(),
     [("a",), ("b",), ("c",)], [], []),
    ("resolved group too, but start no storm", [note("a", R), note("b", R), note("c", R)], set(),
     [("a", "b", "c")], [], []),
    ("escalations group", [note("a", E), note("b", E), note("c", E)], set(), [("a", "b", "c")], [], []),
    ("firing and resolved of one rule are separate groups", [note("a"), note("b", R), note("c")], set(),
     [("a",), ("b",), ("c",)], [], []),
    ("storm on: a new firing waits for the group interval", [note("d")], {"cpu_usage"}, [], ["d"], []),
    ("storm on: resolved still goes out", [note("a", R)], {"cpu_usage"}, [("a",)], [], []),
    ("storm on for another rule: no effect", [note("d", rule="memory_usage")], {"cpu_usage"}, [("d",)], [], []),
    ("repeats and flapping notices never group", [note("a", REP), note("b", REP), note("c", FLAP)], set(),
     [("a",), ("b",), ("c",)], [], []),
    ("cluster alerts never group", [note("", F, "ready_drop")], set(), [("ready_drop",)], [], []),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "notes", "on", "messages", "waiting", "started"), CASES, ids=[c[0] for c in CASES]
)
def test_plan(
    name: str,
    notes: list[Notification],
    on: set[str],
    messages: list[tuple[str, ...]],
    waiting: list[str],
    started: list[str],
) -> None:
    p = storms.plan(notes, on, storm_min=3, group_interval=300)
    assert shape(p) == messages
    assert [n.node for n in p.wait] == waiting
    assert p.start == started
    # every notification is accounted for exactly once: sent (alone or grouped) or waiting
    assert sorted([n.id for msg in p.messages for n in msg] + [n.id for n in p.wait]) == sorted(
        n.id for n in notes
    )


def test_grouped_and_waiting_fingerprints_say_why() -> None:
    p = storms.plan([note("a"), note("b"), note("c")], set(), storm_min=3, group_interval=300)
    assert {fp for fp, _ in p.why} == {fingerprint("c", n, "cpu_usage") for n in "abc"}
    assert all("grouped with 2 other node(s) into one cpu_usage message" == r for _, r in p.why)
    p = storms.plan([note("d")], {"cpu_usage"}, storm_min=3, group_interval=300)
    assert p.why == [
        (fingerprint("c", "d", "cpu_usage"), "grouped into the cpu_usage storm (sent at the group interval)")
    ]


def test_no_group_interval_means_no_storm_state() -> None:
    p = storms.plan([note("a"), note("b"), note("c")], set(), storm_min=3, group_interval=0)
    assert shape(p) == [("a", "b", "c")] and p.start == []


def test_rules_of_lists_only_groupable_rules() -> None:
    assert storms.rules_of([note("a"), note("b", REP, "memory_usage"), note("", F, "ready_drop")]) == {
        "cpu_usage"
    }


FLUSHED = [
    # (name, this scan's messages, flushed buffers, expected messages (node names))
    ("nothing flushed: as planned", [(note("a"),), (note("b", R),)], {}, [("a",), ("b",)]),
    ("a straggler joins its rule's flushed batch", [(note("c"),)], {"cpu_usage": [note("a"), note("b")]},
     [("a", "b", "c")]),
    ("a new group too", [(note("c"), note("d"), note("e"))], {"cpu_usage": [note("a")]},
     [("a", "c", "d", "e")]),
    ("another rule's firing stays apart", [(note("c", rule="memory_usage"),)], {"cpu_usage": [note("a")]},
     [("a",), ("c",)]),
    ("a resolved notice is not a firing: apart", [(note("c", R),)], {"cpu_usage": [note("a")]}, [("a",), ("c",)]),
]  # fmt: skip


@pytest.mark.parametrize(("name", "messages", "flushed", "expected"), FLUSHED, ids=[c[0] for c in FLUSHED])
def test_with_flushed(
    name: str,
    messages: list[tuple[Notification, ...]],
    flushed: dict[str, list[Notification]],
    expected: list[tuple[str, ...]],
) -> None:
    got = storms.with_flushed(messages, flushed)
    assert sorted(tuple(n.node for n in msg) for msg in got) == expected
