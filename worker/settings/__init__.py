"""Configuration: one YAML file plus environment overrides, validated at load by pydantic.

The seed sketch's ``config.yaml`` (checkInterval, logLevel, alertCooldown in minutes, thresholds.*, slack.webhookURL,
dingtalk.webhookURL/secret) loads unchanged. Every secret is a ``SecretStr`` and may also come from an environment
variable or a ``*File`` key naming a file (a mounted Kubernetes Secret). A wrong key or type raises ``ConfigError``
whose message names the key and the file.

This module loads; the model is in the modules beside it: ``root`` (the whole file), ``clusters``, ``thresholds``,
``noise``, ``notify`` (delivery and the cross-checks), ``receivers`` (one model per channel kind), ``seed`` (the
sketch's channel sections), ``routes``, ``urls``, ``base`` (what they share).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from worker.settings.root import Settings as Settings

ENV_CONFIG = "NODEWATCH_CONFIG"


class ConfigError(Exception):
    """A configuration problem, said in one line that names the file and the key."""


# Environment variables the seed's Deployment used, and a few of our own.
_ENV_OVERRIDES: dict[str, tuple[str, ...]] = {
    "SLACK_WEBHOOK_URL": ("slack", "webhookURL"),
    "DINGTALK_WEBHOOK_URL": ("dingtalk", "webhookURL"),
    "DINGTALK_SECRET": ("dingtalk", "secret"),
    "WECOM_WEBHOOK_URL": ("wecom", "webhookURL"),
    "NODEWATCH_LOG_LEVEL": ("logLevel",),
    "NODEWATCH_LOG_FORMAT": ("logFormat",),
    "NODEWATCH_LANGUAGE": ("language",),
}


def _set_path(data: dict[str, Any], path: tuple[str, ...], value: str) -> None:
    for key in path[:-1]:
        node = data.get(key)
        if not isinstance(node, dict):
            node = {}
            data[key] = node
        data = node
    data[path[-1]] = value


def _describe(err: ValidationError, source: str) -> str:
    lines = []
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"])
        if not e["loc"]:  # a cross-field check: its message names the key itself (an empty key "" is a key)
            lines.append(f"{source}: {e['msg'].removeprefix('Value error, ')}")
        elif e["type"] == "extra_forbidden":
            lines.append(f"{source}: unknown key '{key}'")
        else:
            value = e.get("input")
            # only short scalars are echoed: a mapping or list may hold a webhook URL or a token
            scalar = isinstance(value, int | float | bool) or (isinstance(value, str) and len(value) <= 40)
            secretish = any(w in key.lower() for w in ("secret", "url", "token", "key", "password"))
            said = scalar and not secretish and repr(value) not in e["msg"]  # not twice
            shown = f" (got {value!r})" if said else ""
            lines.append(f"{source}: key '{key}': {e['msg']}{shown}")
    return "; ".join(lines)


def parse(
    raw: Mapping[str, Any] | None, source: str = "<config>", env: Mapping[str, str] | None = None
) -> Settings:
    """Validate a config mapping (plus env overrides) into Settings, or raise ConfigError naming the key."""
    if raw is not None and not isinstance(raw, Mapping):
        raise ConfigError(f"{source}: the top level must be a mapping of keys")
    data: dict[str, Any] = dict(raw or {})
    env = os.environ if env is None else env
    for var, path in _ENV_OVERRIDES.items():
        if env.get(var):
            _set_path(data, path, env[var])
    try:
        return Settings.model_validate(data)
    except ValidationError as err:
        raise ConfigError(_describe(err, source)) from None


def load(path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Load the YAML file at ``path`` (or $NODEWATCH_CONFIG; none means all defaults) and validate it."""
    env = os.environ if env is None else env
    path = path or env.get(ENV_CONFIG) or None
    if path is None:
        return parse({}, "<defaults>", env)
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"{source}: cannot read config file: {err.strerror}") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{source}:{where} is not valid YAML") from None
    except (ValueError, RecursionError) as err:
        # a timestamp-shaped value that is no date ("2001-13-01": month must be in 1..12), or nesting past the
        # parser's recursion: PyYAML raises these bare, without a line
        raise ConfigError(f"{source}: is not valid YAML ({str(err)[:80]})") from None
    if raw is not None and not isinstance(raw, dict):
        raise ConfigError(f"{source}: the top level must be a mapping of keys")
    return parse(raw, source, env)


@cache
def current() -> Settings:
    """The process's settings from $NODEWATCH_CONFIG, loaded once (workers and beat)."""
    return load()
