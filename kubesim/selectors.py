"""Label and field selectors with the syntax and error messages of the API server."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Matcher = Callable[[dict[str, str]], bool]


class SelectorError(ValueError):
    """A selector the API server would refuse with 400 BadRequest."""


def _split_terms(text: str) -> list[str]:
    terms, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            terms.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        terms.append(cur.strip())
    return terms


_SET_TERM = re.compile(r"^([A-Za-z0-9_./-]+)\s+(in|notin)\s+\(([^)]*)\)$")
_EQ_TERM = re.compile(r"^([A-Za-z0-9_./-]+)\s*(==|!=|=)\s*([A-Za-z0-9_.-]*)$")
_EXISTS_TERM = re.compile(r"^(!?)([A-Za-z0-9_./-]+)$")


def label_selector(text: str | None) -> Matcher | None:
    if not text:
        return None
    checks: list[Matcher] = []
    for term in _split_terms(text):
        if m := _SET_TERM.match(term):
            key, op, values = m.group(1), m.group(2), {v.strip() for v in m.group(3).split(",")}
            if op == "in":
                checks.append(lambda labels, k=key, vs=values: labels.get(k) in vs)
            else:
                checks.append(lambda labels, k=key, vs=values: labels.get(k) not in vs)
        elif m := _EQ_TERM.match(term):
            key, op, value = m.groups()
            if op == "!=":
                checks.append(lambda labels, k=key, v=value: labels.get(k) != v)
            else:
                checks.append(lambda labels, k=key, v=value: labels.get(k) == v)
        elif m := _EXISTS_TERM.match(term):
            neg, key = m.groups()
            if neg:
                checks.append(lambda labels, k=key: k not in labels)
            else:
                checks.append(lambda labels, k=key: k in labels)
        else:
            raise SelectorError(f"unable to parse requirement: {term!r}")
    return lambda labels: all(c(labels) for c in checks)


def field_selector(text: str | None, supported: set[str], kind: str) -> Matcher | None:
    """`a=b,c!=d`; unknown fields are refused as the API server does ("field label not supported")."""
    if not text:
        return None
    checks: list[Matcher] = []
    for term in _split_terms(text):
        m = re.match(r"^([A-Za-z0-9_.]+)\s*(==|!=|=)\s*(.*)$", term)
        if not m:
            raise SelectorError(f"invalid selector: '{text}'; can't understand '{term}'")
        key, op, value = m.groups()
        if key not in supported:
            raise SelectorError(f'"{key}" is not a known field selector: only "{", ".join(sorted(supported))}"')
        if op == "!=":
            checks.append(lambda f, k=key, v=value: f.get(k, "") != v)
        else:
            checks.append(lambda f, k=key, v=value: f.get(k, "") == v)
    return lambda fields: all(c(fields) for c in checks)


def matches(obj: Any, labels: Matcher | None, fields: Matcher | None) -> bool:
    if labels is not None and not labels(obj.labels):
        return False
    return fields is None or fields(obj.fields())
