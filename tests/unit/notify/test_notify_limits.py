"""Rendering long lists: headlines name a few items then "… +N more", counting what storage already cut."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.contract.helpers import notification
from worker.model import Notification, Severity, limits
from worker.notify import templates


def note(rule: str = "taint", node: str = "n1", **params: Any) -> Notification:
    return notification(rule=rule, severity=Severity.WARNING, cluster="prod", node=node, **params)


def stored(n: Notification) -> Notification:
    """What a channel gets: the notification as written to Redis and read back (params capped)."""
    return Notification.from_json(json.loads(json.dumps(n.to_json(), ensure_ascii=False)))


TAINTS = [{"key": f"example.com/t{i}", "value": "v", "effect": "NoSchedule"} for i in range(10_000)]


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("how", [lambda n: n, stored], ids=["fresh", "stored"])
def test_ten_thousand_taints_make_a_short_headline_with_the_full_count(lang: str, how: Any) -> None:
    r = templates.render(how(note(taints=TAINTS, removal=False)), lang, "markdown")
    assert len(r.title.encode()) < 400
    assert "example.com/t0=v:NoSchedule" in r.title and "example.com/t4=v" in r.title
    assert "example.com/t5=" not in r.title
    assert r.title.endswith("… +9995 more")


def test_few_taints_are_all_named() -> None:
    r = templates.render(note(taints=TAINTS[:3], removal=False), "en", "text")
    assert r.title.endswith("example.com/t2=v:NoSchedule") and "more" not in r.title


def test_missing_labels_and_label_changes_are_cut_in_the_headline() -> None:
    changed = [{"key": f"k{i}", "before": "a", "after": "b"} for i in range(50)]
    r = templates.render(note("labels", missing=[f"m{i}" for i in range(30)], changed=changed), "en", "text")
    assert "missing m0, m1, m2, m3, m4, … +25 more" in r.title
    assert r.title.endswith("k4: a → b; … +45 more")


def test_pod_list_cut_in_storage_still_counts_every_pod() -> None:
    pods = [{"namespace": "ns", "name": f"p{i}"} for i in range(500)]
    for n in (note("cpu_usage", value=97.0, threshold=90.0, pods=pods), stored(note("cpu_usage", pods=pods))):
        body = templates.render(n, "en", "text").body
        assert "- ns/p9" in body and "- ns/p10" not in body
        assert "- ns/p9\n- … +490 more\n" in body


def test_storm_cut_in_storage_keeps_its_node_count() -> None:
    group = [
        {"node": f"node-{i}", "severity": "critical", "value": 97.0, "summary": "s" * 50} for i in range(3000)
    ]
    n = stored(note("cpu_usage", node="", group=group, count=3000, threshold=90.0))
    assert limits.split_more(n.params["group"])[1] > 0  # type: ignore[arg-type]
    r = templates.render(n, "en", "text")
    assert "3000 nodes at once" in r.title
    assert f"- node-19 CPU usage 97% (threshold 90%)\n- … +{3000 - templates.MAX_GROUP} more\n" in r.body


def test_digest_cut_in_storage_counts_every_item() -> None:
    items = [note("cpu_usage", node=f"n{i}", value=97.0, threshold=90.0).to_json() for i in range(500)]
    digest = stored(note(templates.DIGEST_RULE, node="", items=items))
    kept, hidden = limits.split_more(digest.params["items"])  # type: ignore[arg-type]
    assert hidden > 0
    r = templates.render(digest, "en", "text")
    assert r.title.startswith("📦 [DIGEST] 500 message(s)")
    assert r.body.endswith(f"- … +{hidden} more") and r.body.count("\n") == len(kept)


@pytest.mark.parametrize(
    ("text", "max_bytes", "expected"),
    [
        ("short", 10, "short"),
        ("a\nb", 10, "a b"),  # a headline is one line
        ("x" * 20, 10, "x" * 7 + "…"),
        ("一二三四五", 10, "一二…"),  # never half a character
        ("x" * 20, 2, "xx"),  # no room for the ellipsis
    ],
)
def test_clip(text: str, max_bytes: int, expected: str) -> None:
    out = templates.clip(text, max_bytes)
    assert out == expected and len(out.encode()) <= max(max_bytes, 0)
