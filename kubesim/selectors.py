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


def _in(key: str, values: set[str], negate: bool) -> Matcher:
    return lambda labels: (labels.get(key) in values) != negate


def _equals(key: str, value: str, negate: bool) -> Matcher:
    return lambda labels: (labels.get(key, "" if negate else None) == value) != negate


def _exists(key: str, negate: bool) -> Matcher:
    return lambda labels: (key in labels) != negate


def label_selector(text: str | None) -> Matcher | None:
    if not text:
        return None
    checks: list[Matcher] = []
    for term in _split_terms(text):
        if m := _SET_TERM.match(term):
            values = {v.strip() for v in m.group(3).split(",")}
            checks.append(_in(m.group(1), values, m.group(2) == "notin"))
        elif m := _EQ_TERM.match(term):
            key, op, value = m.groups()
            checks.append(_equals(key, value, op == "!="))
        elif m := _EXISTS_TERM.match(term):
            checks.append(_exists(m.group(2), bool(m.group(1))))
        else:
            raise SelectorError(f"unable to parse requirement: {term!r}")
    return lambda labels: all(c(labels) for c in checks)


def _field(key: str, value: str, negate: bool) -> Matcher:
    return lambda fields: (fields.get(key, "") == value) != negate


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
            raise SelectorError(
                f'"{key}" is not a known field selector: only "{", ".join(sorted(supported))}"'
            )
        checks.append(_field(key, value, op == "!="))
    return lambda fields: all(c(fields) for c in checks)


def matches(obj: Any, labels: Matcher | None, fields: Matcher | None) -> bool:
    if labels is not None and not labels(obj.labels):
        return False
    return fields is None or fields(obj.fields())
