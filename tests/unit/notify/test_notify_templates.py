"""Built-in zh/en templates: every rule and kind renders, exact headlines for the common cases, fallbacks."""

from __future__ import annotations

import dataclasses

import pytest

from worker.model import Notification, NotificationKind, Severity, rules
from worker.notify import templates

# the rule registry is the list: every rule with a phrase of its own must have one in both languages
RULES = [r.name for r in rules.RULES if r.phrase]
FORMATS: tuple[templates.Format, ...] = ("markdown", "slack", "text")
PARAMS: dict[str, object] = {
    "value": 97.3,
    "threshold": 90.0,
    "reason": "KubeletNotReady",
    "taints": [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule", "owner": "an operator"}],
    "missing": ["team"],
    "changed": [{"key": "zone", "before": "a", "after": None}],
    "dropped_count": 3,
    # a predicted exhaustion (worker/predict/findings.py)
    "signal": "nodefs.available<10%",
    "eta_s": 10800.0,
    "eta_low_s": 9000.0,
    "eta_high_s": 14400.0,
    "eta_at": 1_780_014_700,
    "rate_h": 1.2 * 2**30,
    "rate_unit": "bytes",
    "confidence_pct": 91,
}


def make(
    kind: NotificationKind = NotificationKind.FIRING, rule: str = "cpu_usage", **kw: object
) -> Notification:
    base = Notification(
        id="x",
        kind=kind,
        cluster="prod",
        node="node-7",
        rule=rule,
        severity=Severity.CRITICAL,
        summary="SUMMARY LINE",
        params={"value": 97.3, "threshold": 90.0},
        started_at=1_780_000_000.0,
        created_at=1_780_003_900.0,
    )
    return dataclasses.replace(base, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("lang", "kind", "severity", "title"),
    [
        ("zh", NotificationKind.FIRING, Severity.CRITICAL, "🔥 [严重] 集群 prod 节点 node-7 CPU 使用率 97.3% (阈值 90%)"),
        ("zh", NotificationKind.FIRING, Severity.WARNING, "⚠️ [警告] 集群 prod 节点 node-7 CPU 使用率 97.3% (阈值 90%)"),
        ("zh", NotificationKind.REPEAT, Severity.CRITICAL, "🔁 [严重·持续] 集群 prod 节点 node-7 CPU 使用率 97.3% (阈值 90%)"),
        ("zh", NotificationKind.ESCALATED, Severity.CRITICAL, "⏫ [升级为严重] 集群 prod 节点 node-7 CPU 使用率 97.3% (阈值 90%)"),
        ("zh", NotificationKind.RESOLVED, Severity.CRITICAL, "✅ [已恢复] 集群 prod 节点 node-7 CPU 使用率回落至 97.3%"),
        ("zh", NotificationKind.TEST, Severity.INFO, "🧪 [测试] 集群 prod 节点 node-7 nodewatch 测试消息，通道配置正确"),
        ("en", NotificationKind.FIRING, Severity.CRITICAL, "🔥 [CRITICAL] cluster prod node node-7 CPU usage 97.3% (threshold 90%)"),
        ("en", NotificationKind.FIRING, Severity.INFO, "ℹ️ [INFO] cluster prod node node-7 CPU usage 97.3% (threshold 90%)"),
        ("en", NotificationKind.REPEAT, Severity.WARNING, "🔁 [WARNING, still firing] cluster prod node node-7 CPU usage 97.3% (threshold 90%)"),
        ("en", NotificationKind.ESCALATED, Severity.CRITICAL, "⏫ [ESCALATED to CRITICAL] cluster prod node node-7 CPU usage 97.3% (threshold 90%)"),
        ("en", NotificationKind.RESOLVED, Severity.WARNING, "✅ [RESOLVED] cluster prod node node-7 CPU usage back to 97.3%"),
        ("en", NotificationKind.TEST, Severity.INFO, "🧪 [TEST] cluster prod node node-7 nodewatch test message, the channel is configured correctly"),
    ],
)  # fmt: skip
def test_titles(lang: str, kind: NotificationKind, severity: Severity, title: str) -> None:
    assert templates.render(make(kind, severity=severity), lang, "text").title == title


@pytest.mark.parametrize("lang", templates.LANGUAGES)
@pytest.mark.parametrize("rule", RULES)
def test_every_rule_has_its_own_phrase_in_every_kind(lang: str, rule: str) -> None:
    for kind in NotificationKind:
        for fmt in FORMATS:
            r = templates.render(make(kind, rule, params=PARAMS), lang, fmt)
            assert "SUMMARY LINE" not in r.title, (rule, kind, r.title)
            assert r.title in r.text or fmt == "slack"


PREDICTED = {**{k: v for k, v in PARAMS.items() if k not in ("reason", "value")}, "value": 83.4}


@pytest.mark.parametrize(
    ("lang", "kind", "params", "title"),
    [
        ("en", NotificationKind.FIRING, PREDICTED,
         "🔥 [CRITICAL] cluster prod node node-7 root disk reaches the kubelet's eviction line (nodefs.available<10%) "
         "in ~3h (2h 30m–4h, by 05-29 00:31 UTC), +1.2 GiB/h, 91% sure (now 83.4%)"),
        ("zh", NotificationKind.FIRING, PREDICTED,
         "🔥 [严重] 集群 prod 节点 node-7 根磁盘预计约 3h 后 (2h 30m–4h，05-29 00:31 UTC 前) 达到 kubelet 驱逐线 "
         "(nodefs.available<10%)，+1.2 GiB/h，置信度 91% (当前 83.4%)"),
        ("en", NotificationKind.RESOLVED, {"value": 61.0, "resolved_reason": "cleared: stopped rising"},
         "✅ [RESOLVED] cluster prod node node-7 root disk no longer predicted to reach the eviction line (now 61%)"),
        ("zh", NotificationKind.RESOLVED, {"value": 61.0, "resolved_reason": "cleared: stopped rising"},
         "✅ [已恢复] 集群 prod 节点 node-7 根磁盘不再预计会达到驱逐线 (当前 61%)"),
    ],
)  # fmt: skip
def test_predicted_exhaustion_says_when_how_fast_and_how_sure(
    lang: str, kind: NotificationKind, params: dict[str, object], title: str
) -> None:
    r = templates.render(make(kind, "nodefs_fill_predicted", params=params), lang, "text")
    assert r.title == title
    if kind is NotificationKind.RESOLVED:
        assert "cleared: stopped rising" in r.body  # why it resolved: the trend stopped


@pytest.mark.parametrize(
    ("params", "shown"),
    [
        ({"rate_h": 50 * 2**20, "rate_unit": "bytes"}, "+50 MiB/h"),
        ({"rate_h": 1234.0, "rate_unit": "inodes"}, "+1234 inodes/h"),
        ({"rate_h": 0.5, "rate_unit": "pods"}, "+0.5 pods/h"),
        ({"rate_h": None, "rate_pct_h": 0.42}, "+0.42 pt/h"),
    ],
)
def test_rate_in_the_resources_own_units(params: dict[str, object], shown: str) -> None:
    assert templates.FILTERS["rate"](params) == shown


def test_both_languages_cover_the_same_rules() -> None:
    zh, en = templates.language("zh"), templates.language("en")
    assert set(zh.rules) == set(en.rules) == set(RULES)
    assert set(zh.resolved) == set(en.resolved) == {r.name for r in rules.RULES if r.resolved_phrase}


@pytest.mark.parametrize("rule", [r for r in rules.RULES if r.unit])
def test_a_rules_unit_formats_its_value_and_threshold(rule: rules.Rule) -> None:
    fields = dict(templates.render(make(rule=rule.name), "en", "text").fields)
    assert fields["Value"] == templates.FILTERS[rule.unit](97.3)  # type: ignore[index]
    assert fields["Threshold"] == templates.FILTERS[rule.unit](90.0)  # type: ignore[index]


def test_a_rule_without_a_phrase_says_its_summary() -> None:
    (rule,) = [r.name for r in rules.RULES if not r.phrase]
    assert templates.render(make(rule=rule), "en", "text").title.endswith("SUMMARY LINE")


@pytest.mark.parametrize(
    ("rule", "params", "lang", "title_end"),
    [
        ("node_not_ready", {"reason": "KubeletNotReady"}, "zh", "节点 NotReady (KubeletNotReady)"),
        ("node_not_ready", {}, "en", "node NotReady"),
        ("cluster_unreachable", {"reason": "connect timeout"}, "zh", "集群无法访问: connect timeout"),
        ("disk_nodefs", {"value": 85.04, "threshold": 85}, "en", "root disk usage 85% (threshold 85%)"),
        (
            "taint",
            {
                "taints": [
                    {"key": "a", "value": "", "effect": "NoSchedule", "owner": "karpenter"},
                    "b:NoExecute",
                ]
            },
            "zh",
            "节点被打上污点: a:NoSchedule (karpenter), b:NoExecute",
        ),
        ("taint", {"taints": ["x:NoSchedule"], "removal": True}, "en", "node is being removed: x:NoSchedule"),
        (
            "cpu_requests",
            {"value": 250.0, "threshold": 500.0, "pending_count": 2},
            "zh",
            "CPU 可分配余量 0.25 cores，不足一个典型 Pod (0.5 cores)，2 个 Pod 等待调度",
        ),
        (
            "memory_requests",
            {"value": 2**29, "threshold": 2**30, "pending_count": 0},
            "en",
            "memory headroom 0.5 GiB, less than a typical pod (1 GiB)",
        ),
        (
            "labels",
            {"missing": ["team"], "changed": [{"key": "zone", "before": "a", "after": "b"}]},
            "en",
            "labels not as expected: missing team; zone: a → b",
        ),
        (
            "node_not_ready",
            {"reason": "KubeletNotReady", "value": 330.0},
            "zh",
            "节点 NotReady (KubeletNotReady)，已持续 5m",
        ),
        ("cordon", {"by": "kubectl"}, "en", "node cordoned (unschedulable), by kubectl"),
        (
            "node_removed",
            {"removed_by": "cluster-autoscaler"},
            "zh",
            "节点已从集群移除 (由 cluster-autoscaler)",
        ),
        (
            "ready_drop",
            {"value": 30.0, "dropped_count": 3},
            "en",
            "3 nodes stopped being Ready within minutes (30%)",
        ),
        ("cpu_usage", {"value": 97.3}, "zh", "SUMMARY LINE"),  # threshold missing -> summary
        ("taint", {}, "en", "SUMMARY LINE"),  # taints missing -> summary
        ("some_future_rule", {"value": 1}, "zh", "SUMMARY LINE"),
    ],
)
def test_phrase_params_and_fallback(rule: str, params: dict[str, object], lang: str, title_end: str) -> None:
    assert templates.render(make(rule=rule, params=params), lang).title.endswith(title_end)


def test_value_fields_carry_units() -> None:
    n = make(
        rule="node_not_ready", params={"value": 3900.0, "threshold": None, "reason": "NodeStatusUnknown"}
    )
    assert ("当前值", "1h 5m") in templates.render(n, "zh").fields
    n = make(rule="cpu_requests", params={"value": 1500.0, "threshold": 500.0})
    assert ("Value", "1.5 cores") in templates.render(n, "en").fields


def test_rules_pod_lists_and_notes() -> None:
    pods = {"namespace": "web", "name": "api", "cpu_m": 0, "memory": 0, "reason": "Insufficient cpu"}
    params = {
        "value": 1,
        "threshold": 2,
        "pending_pods": [pods],
        "expected": "node is cordoned",
        "evicted": [],
    }
    r = templates.render(make(rule="cpu_requests", params=params), "en", "text")
    assert "Pending pods:\n- web/api (Insufficient cpu)" in r.body
    assert "Note: node is cordoned" in r.body and "Evicted" not in r.body


def test_resolved_phrase_override() -> None:
    n = make(NotificationKind.RESOLVED, "node_not_ready", params={})
    assert templates.render(n, "zh").title == "✅ [已恢复] 集群 prod 节点 node-7 节点恢复 Ready"
    assert templates.render(n, "en").title == "✅ [RESOLVED] cluster prod node node-7 node is Ready again"


def test_cluster_level_alert_names_no_node() -> None:
    n = make(rule="cluster_unreachable", node="", params={"reason": "dial tcp: i/o timeout"})
    assert templates.render(n, "zh").title == "🔥 [严重] 集群 prod 集群无法访问: dial tcp: i/o timeout"
    assert ("节点", "") not in templates.render(n, "zh").fields


def test_fields_and_markdown_body() -> None:
    r = templates.render(make(params={"value": 97.3, "threshold": 90, "message": "top: web/api"}), "zh")
    assert r.fields == (
        ("级别", "严重"),
        ("集群", "prod"),
        ("节点", "node-7"),
        ("规则", "cpu_usage"),
        ("当前值", "97.3%"),
        ("阈值", "90%"),
        ("开始于", "2026-05-28 20:26 UTC (+00:00)"),
        ("已持续", "1h 5m"),
    )
    assert r.text.startswith("#### 🔥 [严重]")
    assert "**详情**: top: web/api" in r.body
    assert "\n\n" in r.body  # DingTalk markdown needs blank lines to break


def test_pods_list_is_capped() -> None:
    pods = [{"namespace": "ns", "name": f"p{i}", "cpu_m": 250, "memory": 512 * 2**20} for i in range(13)]
    r = templates.render(make(params={"value": 1, "threshold": 2, "pods": pods}), "en", "text")
    assert "- ns/p0 (cpu 250m, mem 512Mi)" in r.body
    assert "p10" not in r.body and "- … +3 more" in r.body


def test_slack_format_escapes_control_characters() -> None:
    r = templates.render(make(node="<node&7>"), "en", "slack")
    assert "&lt;node&amp;7&gt;" in r.text and "<node" not in r.text
    assert r.title.startswith("🔥 [CRITICAL] cluster prod node <node&7>")  # title stays plain


def test_unknown_language_fails_loudly() -> None:
    with pytest.raises(ValueError, match="fr"):
        templates.render(make(), "fr")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(5, "5s"), (60, "1m"), (3600, "1h"), (3900, "1h 5m"), (86400 * 2 + 3600 * 3, "2d 3h")],
)
def test_duration(seconds: float, text: str) -> None:
    assert templates.duration(seconds) == text


@pytest.mark.parametrize(
    ("lang", "reason", "title"),
    [
        ("en", "cluster removed",
         "✅ [RESOLVED] cluster prod node node-7 node NotReady (closed: the cluster was removed from nodewatch)"),
        ("en", "node removed", "✅ [RESOLVED] cluster prod node node-7 node NotReady (closed: the node left the cluster)"),
        ("zh", "node removed", "✅ [已恢复] 集群 prod 节点 node-7 节点 NotReady（已关闭：节点已离开集群）"),
    ],
)  # fmt: skip
def test_an_alert_closed_because_its_subject_went_away_does_not_say_it_recovered(
    lang: str, reason: str, title: str
) -> None:
    r = templates.render(
        make(NotificationKind.RESOLVED, "node_not_ready", params={"resolved_reason": reason}), lang, "text"
    )
    assert r.title == title
