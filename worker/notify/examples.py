"""Rendered examples of every rule and every kind of message, per channel and language: what docs/messages.md shows
(``nodewatch notify examples > docs/messages.md``) and what the golden-file tests pin (tests/golden/messages/).

The messages are made by the channels' own payload functions from sample notifications with fixed times, so the
examples are the real output and cannot drift from it. A rule without a sample here (a new one) still gets one,
made from its unit. Pure: no I/O, no clock.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping
from typing import Any

from worker.model import Notification, NotificationKind, Severity, fingerprint, rules
from worker.notify import delivery, templates
from worker.notify.channels import apprise, dingtalk, slack, webhook, wecom
from worker.rules import storms

SINCE = 1_795_957_980.0  # 2026-11-29 13:13 UTC: the condition began
FIRED = SINCE + 540  # a for-duration later (usageFor), the alert fired
CLUSTER, DISPLAY, NODE, GROUP = "prod-eu", "Prod EU", "prod-eu-pool-a-7", "general"
# the zone each language's examples are shown in (config ``timezone:``)
ZONES = {"en": "UTC", "zh": "Asia/Shanghai"}
CHANNELS = ("slack", "dingtalk", "wecom", "webhook", "alertmanager", "apprise")
KINDS = ("firing", "repeat", "escalated", "resolved", "flapping", "flap_ended", "storm", "digest", "test")

C, W, INFO = Severity.CRITICAL, Severity.WARNING, Severity.INFO
TOP_CPU = [
    {"namespace": "shop", "name": "checkout-7d9f-x2k4q", "cpu_m": 3450.0, "memory": 1_610_612_736},
    {"namespace": "shop", "name": "search-5c6b-8mz2d", "cpu_m": 1980.0, "memory": 2_147_483_648},
    {"namespace": "kube-system", "name": "fluent-bit-t7xkq", "cpu_m": 410.0, "memory": 268_435_456},
]
TOP_MEMORY = [dict(p, memory=int(p["memory"]) * 3) for p in TOP_CPU]  # type: ignore[call-overload]
PENDING = [
    {
        "namespace": "batch",
        "name": "report-28419-6xk2p",
        "reason": "0/12 nodes are available: 12 Insufficient cpu.",
    }
]
TAINTS = [
    {"key": "node.kubernetes.io/unreachable", "value": "", "effect": "NoSchedule", "owner": "node lifecycle"}
]

# rule -> (severity, node, params): what the rule's finding carries (worker/rules), at a plausible moment
SAMPLES: dict[str, tuple[Severity, str, dict[str, object]]] = {
    "cpu_usage": (C, NODE, {"value": 97.3, "threshold": 90.0, "top_pods": TOP_CPU, "trend": {"from": 84.2, "ago": 1500}}),
    "memory_usage": (C, NODE, {"value": 93.8, "threshold": 90.0, "top_pods": TOP_MEMORY, "trend": {"from": 91.0, "ago": 1500}}),
    "pods_usage": (W, NODE, {"value": 86.4, "threshold": 80.0, "pod_count": 95, "allocatable_pods": 110}),
    "disk_nodefs": (C, NODE, {"value": 91.2, "threshold": 88.0, "trend": {"from": 86.9, "ago": 1800}}),
    "disk_imagefs": (W, NODE, {"value": 78.5, "threshold": 75.0}),
    "disk_inodes": (C, NODE, {"value": 95.1, "threshold": 93.0, "filesystem": "nodefs"}),
    "cpu_requests": (C, NODE, {"value": 150.0, "threshold": 500.0, "pending_count": 1, "pending_pods": PENDING}),
    "memory_requests": (W, NODE, {"value": 536_870_912, "threshold": 1_073_741_824}),
    "ephemeral_requests": (W, NODE, {"value": 402_653_184, "threshold": 1_073_741_824}),
    "pods_requests": (W, NODE, {"value": 0, "threshold": 1}),
    "node_not_ready": (C, NODE, {"value": 312.0, "reason": "KubeletNotReady"}),
    "node_unknown": (C, NODE, {"value": 405.0, "reason": "NodeStatusUnknown", "taints": TAINTS}),
    "memory_pressure": (C, NODE, {"reason": "KubeletHasInsufficientMemory"}),
    "disk_pressure": (C, NODE, {"reason": "KubeletHasDiskPressure"}),
    "pid_pressure": (C, NODE, {"reason": "KubeletHasInsufficientPID"}),
    "network_unavailable": (C, NODE, {"reason": "NoRouteCreated"}),
    "taint": (W, NODE, {"value": 5400.0, "taints": [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule", "owner": ""}]}),
    "cordon": (W, NODE, {"value": 4020.0, "by": "kubectl cordon/drain or an operator"}),
    "labels": (W, NODE, {"missing": ["topology.kubernetes.io/zone"], "changed": [{"key": "node.kubernetes.io/instance-type", "before": "m6i.2xlarge", "after": "m6i.xlarge"}]}),
    "node_added": (INFO, NODE, {}),
    "node_removed": (INFO, NODE, {"removed_by": "cluster-autoscaler"}),
    "ready_drop": (C, "", {"value": 25.0, "dropped_count": 3, "pods": []}),
    "cluster_cpu_overcommit": (W, "", {"value": 112.0}),
    "cluster_memory_overcommit": (W, "", {"value": 104.5}),
    "cluster_degraded": (W, "", {}),
    "node_unreadable": (W, NODE, {"reason": "status.allocatable.memory: bad quantity 'lots'"}),
    "cluster_unreachable": (C, "", {"value": 3, "reason": "connection refused (https://10.20.0.1:6443)"}),
    "credentials_rejected": (C, "", {"value": 3, "reason": "HTTP 401 Unauthorized"}),
    "cluster_scan_slow": (C, "", {"value": 3, "reason": "node list took 41 s of a 30 s budget"}),
}  # fmt: skip


def _predicted(
    signal: str, value: float, eta_h: float, rate: float, unit: str
) -> tuple[Severity, str, dict[str, object]]:
    """A predicted exhaustion (worker/predict/findings.py): when the kubelet's line is reached, how sure."""
    eta = eta_h * 3600
    params: dict[str, object] = {
        "value": value, "signal": signal, "eta_s": eta, "eta_low_s": eta * 0.8, "eta_high_s": eta * 1.3,
        "eta_at": FIRED + eta, "rate_h": rate, "rate_unit": unit, "confidence_pct": 91,
    }  # fmt: skip
    return (W, NODE, params)


SAMPLES.update(
    {
        "nodefs_fill_predicted": _predicted("nodefs.available<10%", 78.4, 5.0, 1.2 * 2**30, "bytes"),
        "imagefs_fill_predicted": _predicted("imagefs.available<15%", 71.0, 7.5, 0.8 * 2**30, "bytes"),
        "inodes_fill_predicted": _predicted("nodefs.inodesFree<5%", 83.0, 6.0, 42_000, "inodes"),
        "memory_fill_predicted": _predicted("memory.available<100Mi", 88.5, 2.5, 0.6 * 2**30, "bytes"),
        "pods_fill_predicted": _predicted("pods", 91.0, 3.0, 1.5, "pods"),
    }
)
SUMMARIES = {"cluster_degraded": "metrics API absent: usage rules not evaluated (install metrics-server)"}
# what a rule without a sample shows, by its unit
BY_UNIT: dict[str | None, dict[str, object]] = {
    "pct": {"value": 92.0, "threshold": 90.0},
    "duration": {"value": 600.0},
    "int": {"value": 3, "threshold": 1},
    "cores": {"value": 250.0, "threshold": 500.0},
    "gib": {"value": 536_870_912, "threshold": 1_073_741_824},
    None: {},
}


def sample(rule: str, kind: NotificationKind = NotificationKind.FIRING) -> Notification:
    """One rule's message of one kind, as the alert path makes it (times fixed, see the module's constants)."""
    spec = rules.BY_NAME.get(rule)
    default = (W, "" if spec and spec.scope == "cluster" else NODE, BY_UNIT[spec.unit if spec else None])
    severity, node, params = SAMPLES.get(rule, default)
    params = {**params, "cluster_display": DISPLAY}
    if node:
        params["node_group"] = GROUP
    created = FIRED
    ended = 0.0
    if kind is NotificationKind.RESOLVED:
        params = {k: v for k, v in params.items() if k != "trend"} | {"resolved_reason": "resolved"}
        if isinstance(params.get("value"), int | float) and rules.unit(rule) == "pct":
            params["value"] = round(float(params["value"]) * 0.6, 1)  # type: ignore[arg-type]
        ended, created = FIRED + 1800, FIRED + 2400  # quiet for keepFiringFor (600 s) after the last bad scan
    elif kind in (NotificationKind.REPEAT, NotificationKind.ESCALATED):
        created = FIRED + 4 * 3600 if kind is NotificationKind.REPEAT else FIRED + 900
    elif kind in (NotificationKind.FLAPPING, NotificationKind.FLAP_ENDED):
        params["flap"] = (
            "4 transitions in 30 min: flapping" if kind is NotificationKind.FLAPPING else "stable again"
        )
        created = FIRED + (1500 if kind is NotificationKind.FLAPPING else 2700)
    fp = fingerprint(CLUSTER, node, rule)
    return Notification(
        id=f"{fp}-{int(FIRED)}-{kind.value}",
        kind=kind,
        cluster=CLUSTER,
        node=node,
        rule=rule,
        severity=severity,
        summary=SUMMARIES.get(rule, f"{node or CLUSTER}: {rule}"),
        params=params,
        started_at=FIRED,
        created_at=created,
        fingerprint=fp,
        since=SINCE,
        ended_at=ended,
    )


def kind_sample(kind: str) -> Notification:
    """The cpu_usage alert as each kind of message: the lifecycle's, a storm of four nodes, a digest, a test."""
    if kind == "storm":
        members = [
            dataclasses.replace(sample("cpu_usage"), node=f"prod-eu-pool-a-{i}", params={"value": v, "threshold": 90.0})
            for i, v in ((7, 97.3), (3, 95.0), (12, 93.4), (5, 91.2))
        ]  # fmt: skip
        group = storms.grouped(CLUSTER, "cpu_usage", members, FIRED)
        return dataclasses.replace(group, params={**group.params, "cluster_display": DISPLAY})
    if kind == "digest":
        items = [
            sample("cpu_usage"),
            sample("disk_nodefs"),
            sample("memory_usage", NotificationKind.RESOLVED),
        ]
        return delivery.digest(items, FIRED + 60)
    if kind == "test":
        return delivery.probe("ops-slack", FIRED)
    return sample("cpu_usage", NotificationKind(kind))


def payload(channel: str, n: Notification, lang: str) -> dict[str, Any]:
    """What ``channel`` sends for ``n`` in ``lang``, by the channel's own payload function."""
    tz = ZONES[lang]
    if channel == "slack":
        return slack.payload(n, lang, tz=tz)
    if channel == "dingtalk":
        return dingtalk.payload(n, lang, tz=tz)
    if channel == "wecom":
        return wecom.payload(n, lang, tz=tz)
    if channel == "webhook":
        return webhook.nodewatch_body(n, lang, tz=tz)
    if channel == "alertmanager":
        return webhook.alertmanager_body(n, lang, tz=tz)
    if channel == "apprise":
        title, body = apprise.message(n, templates.Voice(lang, None, tz))
        return {"title": title, "body": body}
    raise ValueError(f"unknown channel {channel!r}")


def cases() -> Iterator[tuple[str, Notification]]:
    """Every example: each rule firing and resolved, then each kind of the cpu_usage alert."""
    for rule in rules.NAMES:
        yield f"{rule}/firing", sample(rule)
        yield f"{rule}/resolved", sample(rule, NotificationKind.RESOLVED)
    for kind in KINDS:
        yield f"kind/{kind}", kind_sample(kind)


def golden(channel: str, lang: str) -> dict[str, dict[str, Any]]:
    """Every example's payload on one channel in one language: one golden file's content."""
    return {name: payload(channel, n, lang) for name, n in cases()}


def text(channel: str, body: Mapping[str, Any]) -> str:
    """The part of a payload a person reads, as the service shows it (markup left in)."""
    if channel == "dingtalk":
        return str(body["markdown"]["text"])
    if channel == "wecom":
        return str(body["markdown"]["content"])
    if channel == "webhook":
        return str(body["text"])
    if channel == "alertmanager":
        notes = body["commonAnnotations"]
        return f"{notes['summary']}\n{notes['description']}"
    if channel == "apprise":
        return f"{body['title']}\n{body['body']}"
    if channel == "slack":
        lines = [body["blocks"][0]["text"]["text"]]
        for block in body["attachments"][0]["blocks"]:
            for part in block.get("fields", []):
                lines.append(part["text"].replace("\n", ": ", 1))
            if "text" in block:
                lines.append(block["text"]["text"])
            for element in block.get("elements", []):
                lines.append(element["text"])
        return "\n".join(lines)
    raise ValueError(f"unknown channel {channel!r}")


def _block(language: str, content: str) -> str:
    fence = "````" if "```" in content else "```"
    return f"{fence}{language}\n{content}\n{fence}"


HEADER = """# Messages

What nodewatch sends, rendered by the channels' own code from sample alerts; generated by
`nodewatch notify examples > docs/messages.md` (worker/notify/examples.py), and a test fails when this page is not
what that command prints. The same examples, as each service's whole payload, are the golden files of
tests/golden/messages/, checked against each service's size limit and markdown dialect.

The samples: cluster `prod-eu` (display name "Prod EU"), node `prod-eu-pool-a-7` in node group `general`; the
condition began 2026-11-29 13:13 UTC and the alert fired 9 minutes later (`usageFor`); a resolved alert was last
seen 30 minutes after that and stayed clear for `keepFiringFor` (10 minutes). English examples are in `timezone:
UTC`, Chinese ones in `timezone: Asia/Shanghai`. Each message ends with the next step (or the rule's
`rules.<rule>.runbookURL`), the fingerprint and the exact commands that acknowledge and silence it.
"""


def document() -> str:
    """docs/messages.md."""
    out = [HEADER]
    out.append("## Every rule, firing and resolved (generic webhook text)\n")
    for rule in rules.NAMES:
        out.append(f"### `{rule}`\n")
        for lang in ("en", "zh"):
            fired = payload("webhook", sample(rule), lang)
            resolved = payload("webhook", sample(rule, NotificationKind.RESOLVED), lang)
            out.append(_block("text", f"{fired['text']}\n\n{resolved['text']}") + "\n")
    out.append("## Every kind of message (cpu_usage, generic webhook text)\n")
    for kind in KINDS:
        out.append(f"### {kind}\n")
        for lang in ("en", "zh"):
            out.append(_block("text", text("webhook", payload("webhook", kind_sample(kind), lang))) + "\n")
    out.append("## Every channel (cpu_usage firing and resolved)\n")
    for channel in CHANNELS:
        out.append(f"### {channel}\n")
        for lang in ("en", "zh"):
            shown = text(channel, payload(channel, sample("cpu_usage"), lang))
            ended = text(channel, payload(channel, sample("cpu_usage", NotificationKind.RESOLVED), lang))
            out.append(_block("text", f"{shown}\n\n{ended}") + "\n")
    out.append("## Whole payloads (cpu_usage firing, English)\n")
    for channel in CHANNELS:
        body = payload(channel, sample("cpu_usage"), "en")
        out.append(f"### {channel}\n")
        out.append(_block("json", json.dumps(body, ensure_ascii=False, indent=2)) + "\n")
    return "\n".join(out).rstrip("\n") + "\n"
