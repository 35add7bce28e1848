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
from worker.notify.templates import facts
from worker.notify.templates.filters import FILTERS, duration, environment

Format = Literal["markdown", "slack", "text"]
LANGUAGES = ("zh", "en")
EMOJI = {Severity.CRITICAL: "🔥", Severity.WARNING: "⚠️", Severity.INFO: "ℹ️"}
# pod lists a rule may attach, in the order the body shows them
POD_LISTS = ("top_pods", "pending_pods", "evicted", "pods")
# free-text params shown as their own line
NOTES = ("message", "expected")
MAX_PODS = 10
# messages about nodewatch itself: no condition, nothing to acknowledge or silence
NOT_ALERTS = frozenset({NotificationKind.TEST, NotificationKind.HEARTBEAT})


@dataclass(frozen=True)
class Rendered:
    """``title``: one plain line; ``body``: details in the format; ``text``: title heading + body."""

    title: str
    text: str
    fields: tuple[tuple[str, str], ...]
    body: str = ""
    custom_body: bool = False  # a user template wrote the body: the fields are not its first lines
    tail: str = (
        ""  # the end of the body that a cut must keep whole: fingerprint and commands (``fit``'s tail)
    )


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
    next: Mapping[str, jinja2.Template]  # the next step per rule ("default" for the others)
    ended: Mapping[str, jinja2.Template]  # why a resolved alert ended, by the lifecycle's reason
    lasted: str = "{duration}, until {end}"
    closed: str = "{what} (closed: {why})"
    trend: str = "{arrow} {before} → {now} in {ago}"
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
        next={k: env.from_string(v) for k, v in raw["next"].items()},
        ended={k: env.from_string(v) for k, v in raw["ended"].items()},
        lasted=raw["lasted"],
        closed=raw["closed"],
        trend=raw["trend"],
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
    resolved = n.kind is NotificationKind.RESOLVED
    reason = str(n.params.get("resolved_reason") or "")
    if resolved and reason != "resolved" and reason in lang.ended:
        # the subject is gone (node or cluster removed): the rule's "back to normal" phrase would be untrue
        what = _phrase(dataclasses.replace(n, kind=NotificationKind.FIRING), lang, context)
        return lang.closed.format(what=what, why=lang.ended[reason].render())
    template = (lang.resolved.get(n.rule) if resolved else None) or lang.rules.get(n.rule)
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


def _ended(n: Notification, lang: Language, tz: str) -> str:
    """Why a resolved alert ended, in words: "the condition cleared at 21:55 and stayed clear for 10m"."""
    reason = str(n.params.get("resolved_reason") or "")
    template = lang.ended.get(reason)
    if template is None:
        return reason
    quiet = n.created_at - n.ended_at if n.ended_at else 0.0
    return template.render(
        ended_at=facts.clock(n.ended_at, tz) if n.ended_at else "",
        quiet=duration(quiet) if quiet >= 60 else "",
    )


def _next_step(n: Notification, lang: Language, context: Mapping[str, Any]) -> str:
    template = lang.next.get(n.rule) or lang.next["default"]
    try:
        return template.render(context)
    except (jinja2.UndefinedError, ValueError, TypeError):
        return lang.next["default"].render(context)


CODE: dict[str, Callable[[str], str]] = {
    # Slack mrkdwn and WeCom markdown show `code`; DingTalk's markdown does not (the backticks would show), and
    # one "markdown" form serves DingTalk, WeCom and Apprise: commands go plain there, on a line of their own
    "markdown": lambda t: t,
    "slack": lambda t: f"`{t}`",
    "text": lambda t: t,
}
LINK: dict[str, Callable[[str], str]] = {
    "markdown": lambda url: f"[{url}]({url})",
    "slack": lambda url: f"<{url}>",
    "text": lambda url: url,
}


def render(
    notification: Notification, lang: str = "zh", fmt: Format = "markdown", tz: str = "UTC"
) -> Rendered:
    """The built-in message for one notification in ``lang`` (zh/en) and ``fmt`` (markdown for DingTalk/WeCom,
    slack mrkdwn, text), its times in the IANA zone ``tz``.

    Fields (Slack shows them as a grid): severity (not on a resolved message: it no longer is), cluster, node, node
    group, rule, value, threshold, reason, trend, since when the condition holds and for how long (resolved: how
    long it lasted, and why it ended). Then the notes, the pods, the next step (the rule's runbook URL when the
    config gives one), and the fingerprint with the commands that acknowledge and silence the alert."""
    n = notification
    words = language(lang)
    if n.rule == DIGEST_RULE:
        return _render_digest(n, words, lang, fmt)
    sev = words.severity[n.severity.label]
    resolved = n.kind is NotificationKind.RESOLVED
    display = str(n.params.get("cluster_display") or n.cluster)
    context: dict[str, Any] = {
        **n.params,
        "cluster": display,
        "node": n.node,
        "rule": n.rule,
        "summary": n.summary,
        "sev": sev,
        "emoji": EMOJI[n.severity],
        "params": n.params,
        "tz": tz,  # for the clock filter
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
    fields: list[tuple[str, str]] = [] if resolved else [(labels["severity"], sev)]
    fields.append((labels["cluster"], f"{display} ({n.cluster})" if display != n.cluster else n.cluster))
    if n.node:
        fields.append((labels["node"], n.node))
    if group := n.params.get("node_group"):
        fields.append((labels["node_group"], str(group)))
    fields.append((labels["rule"], n.rule))
    for key in ("value", "threshold", "reason"):
        if (shown := _value(n, key)) is not None:
            fields.append((labels[key], shown))
    if n.kind not in NOT_ALERTS:
        if not resolved and (moving := facts.trend(n, words.trend)):
            fields.append((labels["trend"], moving))
        since, held = n.condition_since, duration(facts.held_for(n))
        fields.append((labels["since"], facts.local(since, tz)))
        if resolved:
            end = facts.clock(n.ended_at or n.created_at, tz)
            fields.append((labels["lasted"], words.lasted.format(duration=held, end=end)))
        elif facts.held_for(n) > 0:
            fields.append((labels["duration"], held))

    esc = escape_slack if fmt == "slack" else (lambda s: s)
    bold = {"markdown": "**{}**", "slack": "*{}*", "text": "{}"}[fmt]

    def line(key: str, value: str, raw: bool = False) -> str:
        return f"{bold.format(esc(labels[key]))}: {value if raw else esc(value)}"

    lines = [f"{bold.format(esc(k))}: {esc(v)}" for k, v in fields]
    if resolved and (why := _ended(n, words, tz)):
        lines.append(line("resolved_reason", why))
    for key in NOTES:
        if note := n.params.get(key):
            lines.append(line(key, str(note)))
    for key in () if resolved else POD_LISTS:  # a resolved alert's pods are no longer the news
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
    footer: list[str] = []  # what the on-call acts on: kept whole when a service's size limit cuts the body
    if n.kind not in NOT_ALERTS and n.fingerprint:
        if not resolved:
            url = n.params.get("runbook_url")
            if isinstance(url, str) and url:
                footer.append(line("runbook", LINK[fmt](url), raw=True))
            else:
                footer.append(line("next_step", _next_step(n, words, context)))
        footer.append(line("fingerprint", CODE[fmt](esc(n.fingerprint)), raw=True))
        if not resolved and not members:  # a storm's members are acknowledged one by one
            footer.append(line("ack", CODE[fmt](esc(facts.ack_command(n))), raw=True))
        if not resolved:
            footer.append(line("silence", CODE[fmt](esc(facts.silence_command(n))), raw=True))
    # DingTalk markdown needs a blank line for a line break; others take a plain newline
    sep = "\n\n" if fmt == "markdown" else "\n"
    body = sep.join(lines + footer)
    return Rendered(
        title=title,
        text=HEADING[fmt](title) + sep + body,
        fields=tuple(fields),
        body=body,
        tail=sep.join(footer),
    )
