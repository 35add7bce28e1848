"""The built-in messages: zh/en phrases (Jinja2, in the YAML files beside this module) -> title, text, fields.

A rule's phrase is ``rules.<name>`` in the language file, its value and threshold are formatted by the unit the rule
registry gives it (worker/model/rules.py). A digest lists the headlines it merges; a storm names each node.
Pure: no I/O after the phrase files are loaded, no clock (times come from the notification).
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.resources
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import jinja2
import yaml

from worker.model import Notification, NotificationKind, Severity, limits, rules
from worker.notify.templates.filters import FILTERS, duration, environment

Format = Literal["markdown", "slack", "text"]
LANGUAGES = ("zh", "en")
EMOJI = {Severity.CRITICAL: "🔥", Severity.WARNING: "⚠️", Severity.INFO: "ℹ️"}
# pod lists a rule may attach, in the order the body shows them
POD_LISTS = ("top_pods", "pending_pods", "evicted", "pods")
# free-text params shown as their own line
NOTES = ("message", "expected", "resolved_reason")
MAX_PODS = 10


@dataclass(frozen=True)
class Rendered:
    """``title``: one plain line; ``body``: details in the format; ``text``: title heading + body."""

    title: str
    text: str
    fields: tuple[tuple[str, str], ...]
    body: str = ""
    custom_body: bool = False  # a user template wrote the body: the fields are not its first lines


@dataclass(frozen=True)
class Language:
    """One language's compiled phrases."""

    severity: Mapping[str, str]
    kind: Mapping[str, jinja2.Template]
    where: jinja2.Template
    test: str
    labels: Mapping[str, str]
    rules: Mapping[str, jinja2.Template]
    resolved: Mapping[str, jinja2.Template]
    heartbeat: jinja2.Template
    digest: str = "{n}{critical}"
    digest_critical: str = " ({n})"
    group: str = "{n} nodes"


@functools.cache
def language(lang: str) -> Language:
    """Load and compile ``<lang>.yaml`` (zh or en); unknown languages are an error at load, not at send."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}, expected one of {', '.join(LANGUAGES)}")
    raw = yaml.safe_load(importlib.resources.files(__package__).joinpath(f"{lang}.yaml").read_text("utf-8"))
    env = environment()
    pending: str = raw["pending"]
    env.filters["pending"] = lambda n: pending.format(n=n) if n else ""
    return Language(
        severity=raw["severity"],
        kind={k: env.from_string(v) for k, v in raw["kind"].items()},
        where=env.from_string(raw["where"]),
        test=raw["test"],
        heartbeat=env.from_string(raw["heartbeat"]),
        labels=raw["labels"],
        rules={k: env.from_string(v) for k, v in raw["rules"].items()},
        resolved={k: env.from_string(v) for k, v in raw.get("resolved", {}).items()},
        digest=raw["digest"],
        digest_critical=raw["digest_critical"],
        group=raw["group"],
    )


MAX_GROUP = 20


def _group_lines(n: Notification, lang: Language, context: dict[str, Any]) -> list[str]:
    """For a grouped (storm) notification: "node-3 CPU usage 97% (threshold 90%)" per member, worst first."""
    group = n.params.get("group")
    if not isinstance(group, list):
        return []
    out = []
    for m in limits.split_more(group)[0]:
        if not isinstance(m, Mapping):
            continue
        member = dataclasses.replace(
            n, node=str(m.get("node", "")), params={**n.params, "value": m.get("value")}
        )
        mctx = {**context, "node": member.node, "value": m.get("value"), "params": member.params}
        out.append(f"{member.node} {_phrase(member, lang, mctx)}")
    return out


def _phrase(n: Notification, lang: Language, context: dict[str, Any]) -> str:
    if n.kind is NotificationKind.TEST:
        return lang.test
    if n.kind is NotificationKind.HEARTBEAT:
        return lang.heartbeat.render(context)
    template = (lang.resolved.get(n.rule) if n.kind is NotificationKind.RESOLVED else None) or lang.rules.get(
        n.rule
    )
    if template is not None:
        try:
            return template.render(context)
        except (jinja2.UndefinedError, ValueError, TypeError):
            pass  # a param the phrase needs is missing: the summary still says what happened
    return n.summary or n.rule


def _value(n: Notification, key: str) -> str | None:
    value = n.params.get(key)
    if value is None or value == "":
        return None
    unit = rules.unit(n.rule)
    if unit and isinstance(value, int | float):
        return FILTERS[unit](value)
    return str(value)


def when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _pod_line(pod: object) -> str:
    if not isinstance(pod, Mapping):
        return str(pod)
    name = f"{pod.get('namespace', '')}/{pod.get('name', '')}".strip("/")
    extra = []
    if pod.get("cpu_m"):
        extra.append(f"cpu {float(pod['cpu_m']):.0f}m")
    if pod.get("memory"):
        extra.append(f"mem {int(pod['memory']) / 2**20:.0f}Mi")
    if pod.get("reason"):
        extra.append(str(pod["reason"]))
    return f"{name} ({', '.join(extra)})" if extra else name


def escape_slack(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


HEADING: dict[str, Callable[[str], str]] = {
    "markdown": lambda t: f"#### {t}",
    "slack": lambda t: f"*{escape_slack(t)}*",
    "text": lambda t: t,
}

DIGEST_RULE = "nodewatch_digest"


def _render_digest(n: Notification, words: Language, lang: str, fmt: Format) -> Rendered:
    """A digest lists the headline of every message it merges, worst first; it has no fields."""
    stored = n.params.get("items")
    raw, hidden = limits.split_more(stored) if isinstance(stored, list) else ([], 0)
    items = [Notification.from_json(x) for x in raw if isinstance(x, dict)]
    critical = sum(
        1 for i in items if i.severity is Severity.CRITICAL and i.kind is not NotificationKind.RESOLVED
    )
    extra = words.digest_critical.format(n=critical) if critical else ""
    title = words.digest.format(n=len(items) + hidden, critical=extra)
    esc = escape_slack if fmt == "slack" else (lambda s: s)
    lines = [f"- {esc(render(i, lang, fmt).title)}" for i in items]
    if hidden:
        lines.append(f"- {limits.more(hidden)}")
    sep = "\n\n" if fmt == "markdown" else "\n"
    body = sep.join(lines)
    return Rendered(
        title=title, text=HEADING[fmt](title) + sep + body, fields=(), body=body, custom_body=True
    )


def render(notification: Notification, lang: str = "zh", fmt: Format = "markdown") -> Rendered:
    """The built-in message for one notification in ``lang`` (zh/en) and ``fmt`` (markdown for DingTalk/WeCom,
    slack mrkdwn, text)."""
    n = notification
    words = language(lang)
    if n.rule == DIGEST_RULE:
        return _render_digest(n, words, lang, fmt)
    sev = words.severity[n.severity.label]
    context: dict[str, Any] = {
        **n.params,
        "cluster": n.cluster,
        "node": n.node,
        "rule": n.rule,
        "summary": n.summary,
        "sev": sev,
        "emoji": EMOJI[n.severity],
        "params": n.params,
    }
    # a kind added to the model before its phrase must not stop delivery: it reads as firing meanwhile
    prefix = (words.kind.get(n.kind.value) or words.kind["firing"]).render(context)
    members = _group_lines(n, words, context)
    count = n.params.get("count")
    total = count if isinstance(count, int) and count >= len(members) else len(members)
    if members:  # a storm: one message for many nodes, each named with its own figure
        title = f"{prefix} {words.where.render(context)} {words.group.format(n=total)}: {members[0]}"
    else:
        # a heartbeat is about nodewatch itself, not about one cluster
        where = "" if n.kind is NotificationKind.HEARTBEAT else f" {words.where.render(context)}"
        title = f"{prefix}{where} {_phrase(n, words, context)}"

    labels = words.labels
    fields: list[tuple[str, str]] = [(labels["severity"], sev), (labels["cluster"], n.cluster)]
    if n.node:
        fields.append((labels["node"], n.node))
    fields.append((labels["rule"], n.rule))
    for key in ("value", "threshold", "reason"):
        if (shown := _value(n, key)) is not None:
            fields.append((labels[key], shown))
    if n.started_at:
        fields.append((labels["started"], when(n.started_at)))
        if n.created_at > n.started_at:
            fields.append((labels["duration"], duration(n.created_at - n.started_at)))

    esc = escape_slack if fmt == "slack" else (lambda s: s)
    bold = {"markdown": "**{}**", "slack": "*{}*", "text": "{}"}[fmt]
    lines = [f"{bold.format(esc(k))}: {esc(v)}" for k, v in fields]
    for key in NOTES:
        if note := n.params.get(key):
            lines.append(f"{bold.format(esc(labels[key]))}: {esc(str(note))}")
    for key in POD_LISTS:
        raw = n.params.get(key)
        if isinstance(raw, list | tuple) and raw:
            pods, hidden = limits.split_more(raw)
            lines.append(f"{bold.format(esc(labels[key]))}:")
            lines.extend(f"- {esc(_pod_line(p))}" for p in pods[:MAX_PODS])
            if len(pods) + hidden > MAX_PODS:
                lines.append(f"- {limits.more(len(pods) + hidden - min(len(pods), MAX_PODS))}")
    if members:
        lines.extend(f"- {esc(m)}" for m in members[:MAX_GROUP])
        if total > MAX_GROUP:
            lines.append(f"- {limits.more(total - min(len(members), MAX_GROUP))}")
    # DingTalk markdown needs a blank line for a line break; others take a plain newline
    sep = "\n\n" if fmt == "markdown" else "\n"
    body = sep.join(lines)
    return Rendered(title=title, text=HEADING[fmt](title) + sep + body, fields=tuple(fields), body=body)
