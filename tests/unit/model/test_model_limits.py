"""limits: stored lists and strings cut with "… +N more", read back with the count, params kept under a budget."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from tests.contract.helpers import notification
from worker.model import Notification, Severity, limits
from worker.state import keys


@pytest.mark.parametrize(
    ("items", "max_items", "expected"),
    [
        ([1, 2, 3], 5, [1, 2, 3]),
        ([1, 2, 3], 3, [1, 2, 3]),
        ([1, 2, 3, 4, 5], 2, [1, 2, "… +3 more"]),
        ([1, 2, "… +10 more"], 1, [1, "… +11 more"]),  # cut again: the count adds up
        ([1, "… +10 more"], 5, [1, "… +10 more"]),  # already cut and short: the marker stays
        ((1, 2), 1, [1, "… +1 more"]),
    ],
)
def test_lists_are_cut_with_a_count(items: list[Any], max_items: int, expected: list[Any]) -> None:
    assert limits.bound(items, max_items) == expected


def test_budget_stops_every_list_and_mapping_with_a_count() -> None:
    out = limits.bound({"a": ["x" * 10] * 50, "b": ["y"] * 5}, budget=100)
    kept, hidden = limits.split_more(out["a"])
    assert len(kept) + hidden == 50 and hidden > 0
    assert out == {"a": out["a"], limits.MORE_KEY: "… +1 more"}


@pytest.mark.parametrize(
    ("items", "kept", "hidden"),
    [
        ([], [], 0),
        (["a", "b"], ["a", "b"], 0),
        (["a", "… +7 more"], ["a"], 7),
        (["… +7 more", "a"], ["… +7 more", "a"], 0),  # only a trailing marker counts
        (["a", "… +x more"], ["a", "… +x more"], 0),
    ],
)
def test_split_more(items: list[Any], kept: list[Any], hidden: int) -> None:
    assert limits.split_more(items) == (kept, hidden)


@pytest.mark.parametrize("max_chars", [0, 1, 5, 19, 20, 21, 100, 999])
def test_cut_text_fits_and_says_how_much_was_cut(max_chars: int) -> None:
    text = "x" * 1000
    out = limits.cut_text(text, max_chars)
    assert len(out) <= max_chars
    if max_chars >= 30:
        kept = out.split("…")[0]
        assert out == f"{kept}… +{1000 - len(kept)} more chars"
    assert limits.cut_text("short", 10) == "short"


def test_small_params_come_back_unchanged() -> None:
    params = {"value": 97.0, "threshold": 90.0, "pods": [{"name": "a"}], "message": "disk full"}
    assert limits.bound_json(params) is params


def test_ten_thousand_taints_fit_the_budget_and_keep_their_count() -> None:
    taints = [{"key": f"example.com/t{i}", "value": "v" * 40, "effect": "NoSchedule"} for i in range(10_000)]
    params = {"taints": taints, "removal": False, "message": "m" * 100_000}
    out = limits.bound_json(params)
    assert limits.size(out) <= limits.PARAMS_MAX
    kept, hidden = limits.split_more(out["taints"])
    assert len(kept) + hidden == 10_000 and kept[0] == taints[0]
    assert out["message"].endswith("more chars") and out["removal"] is False


def test_pathological_nesting_is_cut_harder_until_it_fits() -> None:
    wide = {f"k{i}": [["y" * 1500] * 100] * 100 for i in range(150)}  # ~2 GB if it were written out
    out = limits.bound_json(wide, 16 * 1024)
    assert limits.size(out) <= 16 * 1024
    assert out[limits.MORE_KEY].startswith("… +")


def test_deep_nesting_is_cut_at_depth() -> None:
    deep: Any = "leaf"
    for _ in range(20):
        deep = [deep]
    out = limits.bound(deep)
    assert json.dumps(out).count("[") == limits.DEPTH_MAX and out == [[[[[[[[limits.MORE_KEY]]]]]]]]


def test_stored_notification_is_capped_and_reads_back() -> None:
    taints = [{"key": f"t{i}", "value": "x" * 50, "effect": "NoSchedule"} for i in range(10_000)]
    n = dataclasses.replace(
        notification(rule="taint", severity=Severity.WARNING, taints=taints, removal=False),
        summary="prod-1: tainted " + "; ".join(t["key"] for t in taints),
    )
    stored = json.dumps(n.to_json(), ensure_ascii=False).encode()
    assert len(stored) <= keys.PAYLOAD_MAX  # was 3.1 MB before the cap
    back = Notification.from_json(json.loads(stored))
    assert back.summary.endswith("more chars") and len(back.summary) <= limits.TEXT_MAX
    assert isinstance(back.params["taints"], list)
    assert limits.split_more(back.params["taints"])[1] == 10_000 - limits.LIST_MAX
