"""Fitting text into a service's size limit: bodies cut on line boundaries ("… +N more"), headlines clipped.

Sizes are UTF-8 bytes, which never undercount what a service measures. Pure.
"""

from __future__ import annotations


def fit(text: str, max_bytes: int, tail: str = "") -> str:
    """Cut ``text`` on line boundaries so that its UTF-8 form is at most ``max_bytes``, ending "… +N more".

    N counts the non-blank lines left out. A first line longer than the limit is cut on a character boundary.
    ``tail``: the end of ``text`` that must stay whole (a message's fingerprint and commands: what the on-call
    types): the cut is made before it, unless the tail alone would not fit.
    """
    if len(text.encode()) <= max_bytes:
        return text
    size = len(tail.encode())
    if tail and text.endswith(tail) and size < max_bytes // 2:
        head = text[: len(text) - len(tail)]
        kept = head.rstrip("\n")
        sep = head[len(kept) :] or "\n"
        return fit(kept, max_bytes - size - len(sep.encode())) + sep + tail
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
