"""The notification side of the config as a whole: delivery options, the receivers by name (the seed's sections
and ``receivers:``), their endpoints and policies, and the cross-checks run at load.

``validate`` names the key of whatever is wrong: duplicate receiver names, a webhook URL that is not http(s) or
points outside ``notify.allowedHosts``, a route naming a receiver or node group that does not exist, a user
template that does not compile or render. Rule names in routes and inhibit rules are checked where they are
parsed (worker/settings/base.py).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field, field_validator

from worker.settings import routes, urls
from worker.settings.base import Strict
from worker.settings.receivers import Endpoint, Receiver, ReceiverPolicy
from worker.settings.seed import implicit_receivers

if TYPE_CHECKING:
    from worker.settings.root import Settings

log = logging.getLogger("nodewatch.config")


class NotifySettings(Strict):
    send_resolved: bool = True
    retry_window: float = Field(default=3600.0, gt=0)  # seconds before a message goes to dead letters
    http_timeout: float = Field(default=10.0, gt=0)
    min_retry_delay: float = Field(default=5.0, gt=0)  # first backoff step, doubled each retry, with jitter
    max_retry_delay: float = Field(default=900.0, gt=0, le=900)  # also caps Retry-After / rate-limit waits
    # hosts webhook URLs may point at ("hooks.slack.com", "*.dingtalk.com"); empty: any host
    allowed_hosts: list[str] = []

    @field_validator("allowed_hosts")
    @classmethod
    def _host_patterns(cls, v: list[str]) -> list[str]:
        return [urls.host_pattern(p) for p in v]


def all_receivers(cfg: Settings) -> dict[str, Receiver]:
    """Every configured receiver by name, usable or not (its URL may be in a file not mounted yet)."""
    out = {r.name: r for r in implicit_receivers(cfg)}
    for r in cfg.receivers_:
        out[r.name] = r
    return out


def endpoints(cfg: Settings) -> dict[str, Endpoint[Receiver]]:
    """The usable receivers by name, each with its URL read and its language chosen.

    A receiver whose URL file or variable is empty is left out (as the seed did with an empty URL), and so is one
    whose URL became unacceptable since the load (a file or variable changed).
    """
    out: dict[str, Endpoint[Receiver]] = {}
    for name, r in all_receivers(cfg).items():
        url = r.url_value()
        if not url:
            continue
        if r.HTTP_URL and (problem := urls.url_problem(url, cfg.notify.allowed_hosts)):
            log.error("receiver %s: webhook URL %s; receiver left out", name, problem)
            continue
        out[name] = Endpoint(r, url, r.language or cfg.language, r.timezone or cfg.timezone)
    return out


def policies(cfg: Settings) -> dict[str, ReceiverPolicy]:
    """Every receiver's rate limit and digest size (its own, else its kind's)."""
    return {name: r.policy() for name, r in all_receivers(cfg).items()}


def _url_keys(cfg: Settings) -> Iterator[tuple[Receiver, str, str, str]]:
    """Each receiver with the config keys of its URL forms: (receiver, value key, file key, env key)."""
    for r in implicit_receivers(cfg):
        yield r, f"{r.name}.webhookURL", f"{r.name}.webhookURLFile", ""
    for i, named in enumerate(cfg.receivers_):
        yield named, f"receivers.{i}.url", f"receivers.{i}.urlFile", f"receivers.{i}.urlEnv"


def _effective_url(r: Receiver, value_key: str, file_key: str, env_key: str) -> tuple[str, str] | None:
    """(key, URL) of the form ``url_value()`` will use, or None when it cannot be known now (file not readable)."""
    if r.url is not None and r.url.get_secret_value():
        return value_key, r.url.get_secret_value().strip()
    if r.url_file:
        try:
            text = Path(r.url_file).read_text().strip()
        except (OSError, UnicodeDecodeError):
            return None  # not mounted yet, say: checked when it is read
        except ValueError:  # a NUL byte in the path: no file can have that name
            raise ValueError(f"{file_key} (receiver {r.name}): not a usable file path") from None
        if text:
            return file_key, text
    if r.url_env and os.environ.get(r.url_env):
        return f"{env_key} (${r.url_env})", os.environ[r.url_env].strip()
    return None


def check_urls(cfg: Settings) -> None:
    """Webhook URLs are http(s) and, with ``notify.allowedHosts``, point at an allowed host; ValueError names the
    key (never the URL, whose path or query is the credential)."""
    for r, value_key, file_key, env_key in _url_keys(cfg):
        if not r.HTTP_URL:
            continue
        found = _effective_url(r, value_key, file_key, env_key)
        if found and (problem := urls.url_problem(found[1], cfg.notify.allowed_hosts)):
            raise ValueError(f"{found[0]} (receiver {r.name}): webhook URL {problem}")


def _check_route(cfg: Settings, receivers: set[str]) -> None:
    """Every receiver and node group a route names exists (a typo would route nothing, silently)."""
    if cfg.route is None:
        return
    groups = {g.name for g in cfg.node_groups}
    for path, node in routes.walk(cfg.route):
        for name in node.receiver_names():
            if name not in receivers:
                raise ValueError(
                    f"{path}: unknown receiver {name!r} (configured: {', '.join(sorted(receivers)) or 'none'})"
                )
        for i, group in enumerate(node.node_groups):
            if group not in groups:
                raise ValueError(
                    f"{path}.nodeGroups.{i}: unknown node group {group[:60]!r} "
                    f"(nodeGroups: {', '.join(sorted(groups)) or 'none'})"
                )


def validate(cfg: Settings) -> None:
    """Cross-field checks at load; raises ValueError naming the key: receiver names unique, webhook URLs http(s)
    to an allowed host, route receivers and node groups known, user templates compiling and rendering a sample
    notification."""
    names = [r.name for r in implicit_receivers(cfg)] + [r.name for r in cfg.receivers_]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(
            f"receivers: duplicate name(s) {dup} (slack/dingtalk/wecom are taken by the top-level sections)"
        )
    check_urls(cfg)
    _check_route(cfg, set(names))
    for i, name in enumerate(cfg.watchdog.receivers):
        if name not in names:
            known = ", ".join(sorted(names)) or "none"
            raise ValueError(f"watchdog.receivers.{i}: unknown receiver {name[:60]!r} (receivers: {known})")
    from worker.notify import templates  # lazy: settings must load without the notify room's imports

    for i, r in enumerate(cfg.receivers_):
        if r.template is not None:
            try:
                templates.check_custom(r.template.title, r.template.body, r.language or cfg.language)
            except ValueError as err:
                raise ValueError(f"receivers.{i}.template ({r.name}): {err}") from None
