"""Size bounds for what nodewatch stores: long lists and strings are cut, saying how much was left out. Pure.

A node with 10,000 taints must not become a 3 MB notification in Redis. ``bound_json`` cuts a JSON-like value
(a notification's params) to a byte budget: lists keep their first items and end with one marker string
"… +N more", strings end with "… +N more chars", mappings keep their first keys. Templates read a cut list back
with ``split_more``, so a message still says how many there were in all.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

LIST_MAX = 100  # items of one stored list (taints, pods, storm members, digest items)
TEXT_MAX = 2000  # characters of one stored string (a condition message, an error, a summary)
DEPTH_MAX = 8  # nesting kept; deeper containers become "…"
PARAMS_MAX = 64 * 1024  # bytes of one notification's params as JSON (nw:{c}:n:{id}, keys.py)
MORE_KEY = "…"  # the key that stands for the keys left out of a cut mapping
_MORE = re.compile(r"^… \+(\d+) more$")


def more(n: int) -> str:
    """The marker that ends a cut list: "… +N more"."""
    return f"… +{n} more"


def split_more(items: Sequence[Any]) -> tuple[list[Any], int]:
    """A possibly cut list -> (its items, how many were left out). A list that was never cut gives 0."""
    out = list(items)
    if out and isinstance(out[-1], str) and (m := _MORE.match(out[-1])):
        return out[:-1], int(m.group(1))
    return out, 0


def cut_text(text: str, max_chars: int) -> str:
    """``text`` if short enough, else its start and "… +N more chars" within ``max_chars`` characters."""
    if len(text) <= max_chars:
        return text
    keep = max_chars
    while keep > 0:
        marker = f"… +{len(text) - keep} more chars"
        if keep + len(marker) <= max_chars:
            return text[:keep] + marker
        keep -= len(marker)
    return "…"[:max_chars]


def bound(
    value: Any,
    max_items: int = LIST_MAX,
    max_chars: int = TEXT_MAX,
    depth: int = DEPTH_MAX,
    budget: float = float("inf"),
) -> Any:
    """``value`` with every list, mapping and string cut to the given sizes (recursively). Once about ``budget``
    bytes were kept, the remaining items of every list and mapping are left out too (and counted)."""
    return _bound(value, max_items, max_chars, depth, [budget])


def _bound(value: Any, max_items: int, max_chars: int, depth: int, left: list[float]) -> Any:
    if isinstance(value, str):
        out = cut_text(value, max_chars)
        left[0] -= len(out) + 3
        return out
    if isinstance(value, Mapping):
        if depth <= 0:
            return MORE_KEY
        names = list(value)
        cut: dict[str, Any] = {}
        for i, name in enumerate(names[:max_items]):
            if left[0] <= 0:
                cut[MORE_KEY] = more(len(names) - i)
                return cut
            key = cut_text(str(name), max_chars)
            left[0] -= len(key) + 4
            cut[key] = _bound(value[name], max_items, max_chars, depth - 1, left)
        if len(names) > max_items:
            cut[MORE_KEY] = more(len(names) - max_items)
        return cut
    if isinstance(value, list | tuple):
        if depth <= 0:
            return MORE_KEY
        n, hidden = len(value), 0
        if n and isinstance(value[-1], str) and (m := _MORE.match(value[-1])):  # cut before: count on
            n, hidden = n - 1, int(m.group(1))
        items: list[Any] = []
        for i in range(min(n, max_items)):
            if left[0] <= 0:
                return [*items, more(hidden + n - i)]
            items.append(_bound(value[i], max_items, max_chars, depth - 1, left))
        rest = hidden + max(n - max_items, 0)
        return [*items, more(rest)] if rest else items
    left[0] -= 8  # a number, true/false or null
    return value


def size(value: Any) -> int:
    """Bytes of ``value`` as the stores write it (JSON, UTF-8, non-ASCII unescaped)."""
    return len(json.dumps(value, ensure_ascii=False, default=str).encode())


def _surely_over(value: Any, max_bytes: int) -> bool:
    """True when ``value``'s JSON is certainly longer than ``max_bytes``, found without writing it all out: a
    value of millions of items is not encoded just to learn that it is too big."""
    total, stack = 0, [value]
    while stack:
        x = stack.pop()
        if isinstance(x, str):
            total += len(x) + 2
        elif isinstance(x, Mapping):
            total += 2
            for k, v in x.items():
                total += len(str(k)) + 4
                stack.append(v)
                if total > max_bytes:
                    return True
        elif isinstance(x, list | tuple):
            total += 2 + len(x)
            stack.extend(x)
        else:
            total += 1
        if total > max_bytes:
            return True
    return False


def bound_json(value: Any, max_bytes: int = PARAMS_MAX) -> Any:
    """``value`` itself when its JSON fits ``max_bytes``, else ``bound(value)`` cut harder (fewer items, shorter
    strings) until it fits. The last resort keeps one item per list and 16 characters per string."""
    if not _surely_over(value, max_bytes) and size(value) <= max_bytes:
        return value
    max_items, max_chars = LIST_MAX, TEXT_MAX
    while True:
        out = bound(value, max_items, max_chars, budget=max_bytes * 0.9)
        if size(out) <= max_bytes or (max_items == 1 and max_chars == 16):
            return out
        max_items, max_chars = max(1, max_items // 2), max(16, max_chars // 2)
