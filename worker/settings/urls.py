"""Webhook URLs: http(s) only, to an allowed host (``notify.allowedHosts``). Never repeats a URL: its path or
query is the credential."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from urllib.parse import urlsplit

_HOST_LABEL = r"[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?"
_HOST = re.compile(rf"(\*\.)?{_HOST_LABEL}(\.{_HOST_LABEL})*")


def host_pattern(pattern: str) -> str:
    """A ``notify.allowedHosts`` entry, normalised: ``hooks.slack.com``, ``*.dingtalk.com`` or an IP address."""
    p = pattern.strip().lower().removeprefix("[").removesuffix("]")
    try:
        return str(ipaddress.ip_address(p))
    except ValueError:
        pass
    if not _HOST.fullmatch(p):
        raise ValueError(
            f"{pattern!r} is not a host name, *.domain or IP address (e.g. hooks.slack.com, *.dingtalk.com)"
        )
    return p


def host_allowed(host: str, patterns: Sequence[str]) -> bool:
    """Is ``host`` one of ``patterns`` (``*.example.com`` matches any name below example.com, not itself)?"""
    host = host.lower().rstrip(".")
    return any(host.endswith(p[1:]) if p.startswith("*.") else host == p for p in patterns)


def url_problem(url: str, allowed_hosts: Sequence[str]) -> str | None:
    """Why a webhook URL is refused (None: it is fine)."""
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        return "contains whitespace or control characters"
    try:
        parts = urlsplit(url)
        host, _ = parts.hostname, parts.port
    except ValueError:
        return "is not a valid URL"
    if parts.scheme.lower() not in ("http", "https"):
        return "must start with http:// or https://"
    if not host:
        return "has no host"
    if allowed_hosts and not host_allowed(host, allowed_hosts):
        return f"points at host {host}, which is not in notify.allowedHosts"
    return None
