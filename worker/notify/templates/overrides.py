"""A receiver's own headline and body templates (``template:`` in its config): compiled once, test-rendered at
load, and applied over the built-in message; one that fails on a message leaves the built-in one. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jinja2

from worker.model import Notification, NotificationKind, Severity
from worker.notify.templates import facts
from worker.notify.templates.builtin import EMOJI, HEADING, Format, Rendered, render, when
from worker.notify.templates.filters import environment

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
    since=1_779_999_460.0,
)


def check_custom(title: str | None, body: str | None, lang: str) -> None:
    """Compile and test-render user templates at load, so a typo fails at start rather than at 3 a.m."""
    compiled = custom({"title": title, "body": body})
    if compiled is None:
        return
    for fmt in ("markdown", "slack", "text"):
        try:
            apply(SAMPLE, render(SAMPLE, lang, fmt), compiled, fmt, strict=True)  # type: ignore[arg-type]
        except RENDER_ERRORS as err:
            raise ValueError(f"rendering a sample {fmt} message failed: {str(err)[:200]}") from None


def apply(
    n: Notification, r: Rendered, c: Custom, fmt: Format, *, strict: bool = False, tz: str = "UTC"
) -> Rendered:
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
        "started_at": when(n.started_at) if n.started_at else "",
        "created_at": when(n.created_at),
        # in the receiver's zone, with the offset: since when the condition holds, and this message's time
        "since": facts.local(n.condition_since, tz) if n.condition_since else "",
        "local_time": facts.local(n.created_at, tz),
        "held_for": facts.held_for(n),
        "cluster_display": n.params.get("cluster_display") or n.cluster,
        "ack_command": facts.ack_command(n),
        "silence_command": facts.silence_command(n),
        "runbook_url": n.params.get("runbook_url") or "",
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
        text=HEADING[fmt](title) + sep + body,
        fields=r.fields,
        body=body,
        custom_body=r.custom_body or c.body is not None,
        tail=r.tail if c.body is None else "",
    )
