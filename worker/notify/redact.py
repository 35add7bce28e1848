"""Secret redaction for anything that may reach a log, an exception or a dead letter."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable

MASK = "***"

# Query/form parameters whose value is a credential (DingTalk access_token/sign, WeCom key, generic secret).
_PARAM = re.compile(
    r"(?i)(?<![A-Za-z0-9_])(access_token|key|sign|secret|token|api_key|apikey|password)=([^&\s\"'<>]+)"
)
# JSON/YAML style "secret": "value"
_JSON_FIELD = re.compile(
    r"(?i)([\"']?(?:secret|token|password|access_token|api_key)[\"']?\s*:\s*[\"'])([^\"']+)"
)
_SLACK = re.compile(r"(/services/T[A-Za-z0-9]+/B[A-Za-z0-9]+/)[A-Za-z0-9]+")
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9\-._~+/]+=*")
_TELEGRAM = re.compile(r"(/bot)\d+:[A-Za-z0-9_-]+")
_USERINFO = re.compile(r"(://[^/\s:@]+:)[^/\s@]+(@)")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Mask ``secrets`` (also URL-encoded) and well-known credential patterns in ``text``."""
    variants: set[str] = set()
    for secret in secrets:
        # very short strings would mask ordinary words; real secrets are longer
        if secret and len(secret) >= 4:
            variants.update({secret, urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret)})
    for variant in sorted(variants, key=len, reverse=True):
        text = text.replace(variant, MASK)
    text = _PARAM.sub(lambda m: f"{m.group(1)}={MASK}", text)
    text = _JSON_FIELD.sub(lambda m: m.group(1) + MASK, text)
    text = _SLACK.sub(lambda m: m.group(1) + MASK, text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text)
    text = _TELEGRAM.sub(lambda m: m.group(1) + MASK, text)
    text = _USERINFO.sub(lambda m: m.group(1) + MASK + m.group(2), text)
    return text
