"""Message rendering: built-in zh/en phrases (Jinja2, in the YAML files beside this module) -> title, text, fields.

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
import jinja2.sandbox
import yaml

from worker.model import Notification, NotificationKind, Severity, limits, rules

Format = Literal["markdown", "slack", "text"]
LANGUAGES = ("zh", "en")
EMOJI = {Severity.CRITICAL: "🔥", Severity.WARNING: "⚠️", Severity.INFO: "ℹ️"}
# pod lists a rule may attach, in the order the body shows them
POD_LISTS = ("top_pods", "pending_pods", "evicted", "pods")
# free-text params shown as their own line
NOTES = ("message", "expected", "resolved_reason")
MAX_PODS = 10
MAX_INLINE = 5  # taints, label changes or missing labels named in one headline before "… +N more"
# what rendering a user's template can raise: the sandbox's own errors, and whatever the expression does
# ({{ 1/0 }}, {{ cluster + 1 }}, a range past the sandbox's limit, a macro calling itself)
RENDER_ERRORS: tuple[type[Exception], ...] = (
    jinja2.TemplateError,
    ArithmeticError,
    LookupError,
    TypeError,
    ValueError,
    RecursionError,
)


@dataclass(frozen=True)
class Rendered:
    """``title``: one plain line; ``body``: details in the format; ``text``: title heading + body."""

    title: str
    text: str
    fields: tuple[tuple[str, str], ...]
    body: str = ""
    custom_body: bool = False  # a user template wrote the body: the fields are not its first lines


def fit(text: str, max_bytes: int) -> str:
    """Cut ``text`` on line boundaries so that its UTF-8 form is at most ``max_bytes``, ending "… +N more".

    N counts the non-blank lines left out. A first line longer than the limit is cut on a character boundary.
    """
    if len(text.encode()) <= max_bytes:
        return text
    lines = text.split("\n")
    sizes = [len(line.encode()) for line in lines]
    remaining = [0] * (len(lines) + 1)  # non-blank lines from i to the end
    for i in range(len(lines) - 1, -1, -1):
        remaining[i] = remaining[i + 1] + (1 if lines[i].strip() else 0)
    best = 0
    used = -1  # bytes of "\n".join(lines[:k]); -1 so the first line adds no separator
    for k in range(1, len(lines)):
        used += sizes[k - 1] + 1
        if used + 1 + len(f"… +{remaining[k]} more".encode()) > max_bytes:
            break
        best = k
    if best:
        return "\n".join(lines[:best]).rstrip("\n") + f"\n… +{remaining[best]} more"
    marker = f"… +{remaining[1]} more" if remaining[1] else "…"
    room = max_bytes - len(marker.encode()) - 1
    if room <= 0:
        return marker.encode()[:max_bytes].decode(errors="ignore")
    return lines[0].encode()[:room].decode(errors="ignore") + "\n" + marker


def clip(text: str, max_bytes: int) -> str:
    """One line (a headline) cut on a character boundary so that its UTF-8 form is at most ``max_bytes``, ending
    "…". Newlines become spaces: a headline is one line wherever it is shown."""
    text = " ".join(text.split("\n"))
    if len(text.encode()) <= max_bytes:
        return text
    if max_bytes < len("…".encode()):
        return text.encode()[: max(max_bytes, 0)].decode(errors="ignore")
    return text.encode()[: max_bytes - len("…".encode())].decode(errors="ignore") + "…"


def _inline(items: Any, show: Callable[[Any], str], sep: str) -> str:
    """The first MAX_INLINE items of a (possibly stored-and-cut) list, then "… +N more" counting all the rest."""
    kept, hidden = limits.split_more(list(items))
    shown = [show(x) for x in kept[:MAX_INLINE]]
    rest = hidden + max(len(kept) - MAX_INLINE, 0)
    return sep.join(shown) + (f"{sep}{limits.more(rest)}" if rest else "")


def _number(value: Any) -> float:
    if isinstance(value, jinja2.Undefined) or value is None:
        raise ValueError("no value")  # the phrase cannot be said: fall back to the summary
    return float(value)


def _pct(value: Any) -> str:
    return f"{_number(value):.1f}".removesuffix(".0") + "%"


def _cores(value: Any) -> str:
    return f"{_number(value) / 1000:.2f}".rstrip("0").rstrip(".") + " cores"


def _gib(value: Any) -> str:
    return f"{_number(value) / 2**30:.1f}".removesuffix(".0") + " GiB"


def _int(value: Any) -> str:
    return f"{_number(value):.0f}"


def _duration(value: Any) -> str:
    return duration(_number(value))


def _paren(value: Any) -> str:
    return "" if isinstance(value, jinja2.Undefined) or not value else f" ({value})"


def _colon(value: Any) -> str:
    return "" if isinstance(value, jinja2.Undefined) or not value else f": {value}"


def _taints(value: Any) -> str:
    """``[{key, value, effect, owner}]`` (worker/rules) or plain strings -> "key=value:Effect (owner), ..."."""
    if isinstance(value, jinja2.Undefined) or not value:
        raise ValueError("no taints")

    def one(taint: Any) -> str:
        if not isinstance(taint, Mapping):
            return str(taint)
        text = f"{taint.get('key')}{'=' + str(taint['value']) if taint.get('value') else ''}:{taint.get('effect')}"
        return text + (f" ({taint['owner']})" if taint.get("owner") else "")

    return _inline(value, one, ", ")


def _label_changes(value: Any) -> str:
    if isinstance(value, jinja2.Undefined) or not value:
        return ""
    return _inline(
        value,
        lambda c: (
            f"{c.get('key')}: {c.get('before') or '∅'} → {c.get('after') or '∅'}"
            if isinstance(c, Mapping)
            else str(c)
        ),
        "; ",
    )


def _names(value: Any) -> str:
    """A list of names (missing labels), at most MAX_INLINE of them."""
    if isinstance(value, jinja2.Undefined) or not value:
        return ""
    return _inline(value, str, ", ")


FILTERS: dict[str, Callable[[Any], str]] = {
    "pct": _pct,
    "cores": _cores,
    "gib": _gib,
    "int": _int,
    "duration": _duration,
    "paren": _paren,
    "colon": _colon,
    "taints": _taints,
    "labelchanges": _label_changes,
    "names": _names,
}


def environment() -> jinja2.Environment:
    """The Jinja2 environment for built-in and (later) user templates: sandboxed, strict, not HTML."""
    env = jinja2.sandbox.SandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False)
    env.filters.update(FILTERS)
    return env


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


def _when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def duration(seconds: float) -> str:
    """Compact human duration: 45s, 5m, 1h 5m, 2d 3h."""
    s = int(max(seconds, 0))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60}m" if s % 3600 // 60 else f"{s // 3600}h"
    return f"{s // 86400}d {s % 86400 // 3600}h" if s % 86400 // 3600 else f"{s // 86400}d"


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


def _escape_slack(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_HEADING: dict[str, Callable[[str], str]] = {
    "markdown": lambda t: f"#### {t}",
    "slack": lambda t: f"*{_escape_slack(t)}*",
    "text": lambda t: t,
}


@dataclass(frozen=True)
class Custom:
    """A receiver's own Jinja2 headline and/or body, compiled once."""

    title: jinja2.Template | None
    body: jinja2.Template | None


def custom(spec: Mapping[str, str | None] | None) -> Custom | None:
    """Compile a receiver's ``{title, body}`` overrides; a syntax error is a ValueError naming the line."""
    if not spec or not (spec.get("title") or spec.get("body")):
        return None
    env = environment()
    compiled: dict[str, jinja2.Template | None] = {}
    for part in ("title", "body"):
        source = spec.get(part)
        try:
            compiled[part] = env.from_string(source) if source else None
        except jinja2.TemplateSyntaxError as err:
            raise ValueError(f"{part}: line {err.lineno}: {err.message}") from None
    return Custom(title=compiled["title"], body=compiled["body"])


SAMPLE = Notification(
    id="sample",
    kind=NotificationKind.FIRING,
    cluster="prod-eu",
    node="prod-eu-pool-1",
    rule="cpu_usage",
    severity=Severity.CRITICAL,
    summary="CPU usage 97% (threshold 90%)",
    params={"value": 97.0, "threshold": 90.0},
    started_at=1_780_000_000.0,
    created_at=1_780_000_300.0,
    fingerprint="sample",
)


def check_custom(title: str | None, body: str | None, lang: str) -> None:
    """Compile and test-render user templates at load, so a typo fails at start rather than at 3 a.m."""
    compiled = custom({"title": title, "body": body})
    if compiled is None:
        return
    for fmt in ("markdown", "slack", "text"):
        try:
            _apply_custom(SAMPLE, render(SAMPLE, lang, fmt), compiled, fmt, strict=True)  # type: ignore[arg-type]
        except RENDER_ERRORS as err:
            raise ValueError(f"rendering a sample {fmt} message failed: {str(err)[:200]}") from None


def _apply_custom(n: Notification, r: Rendered, c: Custom, fmt: Format, *, strict: bool = False) -> Rendered:
    context: dict[str, Any] = {
        **n.params,
        "params": n.params,
        "cluster": n.cluster,
        "node": n.node,
        "rule": n.rule,
        "severity": n.severity.label,
        "kind": n.kind.value,
        "summary": n.summary,
        "fingerprint": n.fingerprint,
        "emoji": EMOJI[n.severity],
        "started_at": _when(n.started_at) if n.started_at else "",
        "created_at": _when(n.created_at),
        "title": r.title,
        "body": r.body,
        "fields": list(r.fields),
        "format": fmt,
    }
    try:
        title = c.title.render(context).strip() if c.title else r.title
        body = c.body.render(context).strip() if c.body else r.body
    except RENDER_ERRORS:
        if strict:
            raise
        return r  # a param this rule lacks: the built-in message still says what happened
    sep = "\n\n" if fmt == "markdown" else "\n"
    return Rendered(
        title=title,
        text=_HEADING[fmt](title) + sep + body,
        fields=r.fields,
        body=body,
        custom_body=r.custom_body or c.body is not None,
    )


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
    esc = _escape_slack if fmt == "slack" else (lambda s: s)
    lines = [f"- {esc(render(i, lang, fmt).title)}" for i in items]
    if hidden:
        lines.append(f"- {limits.more(hidden)}")
    sep = "\n\n" if fmt == "markdown" else "\n"
    body = sep.join(lines)
    return Rendered(
        title=title, text=_HEADING[fmt](title) + sep + body, fields=(), body=body, custom_body=True
    )


def render(
    notification: Notification, lang: str = "zh", fmt: Format = "markdown", custom: Custom | None = None
) -> Rendered:
    """Render one notification in ``lang`` (zh/en) and ``fmt`` (markdown for DingTalk/WeCom, slack mrkdwn, text).

    ``custom`` (a receiver's own templates) replaces the headline and/or body; a digest keeps its own form.
    """
    n = notification
    words = language(lang)
    if n.rule == DIGEST_RULE:
        return _render_digest(n, words, lang, fmt)
    if custom is not None:
        return _apply_custom(n, render(n, lang, fmt), custom, fmt)
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
        title = f"{prefix} {words.where.render(context)} {_phrase(n, words, context)}"

    labels = words.labels
    fields: list[tuple[str, str]] = [(labels["severity"], sev), (labels["cluster"], n.cluster)]
    if n.node:
        fields.append((labels["node"], n.node))
    fields.append((labels["rule"], n.rule))
    for key in ("value", "threshold", "reason"):
        if (shown := _value(n, key)) is not None:
            fields.append((labels[key], shown))
    if n.started_at:
        fields.append((labels["started"], _when(n.started_at)))
        if n.created_at > n.started_at:
            fields.append((labels["duration"], duration(n.created_at - n.started_at)))

    esc = _escape_slack if fmt == "slack" else (lambda s: s)
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
    return Rendered(title=title, text=_HEADING[fmt](title) + sep + body, fields=tuple(fields), body=body)
