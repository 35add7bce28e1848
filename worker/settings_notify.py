"""Config of the notification side: named receivers (one model per channel kind), the routing tree, rate limits.

Kept apart from worker/settings.py so the notification room's config can grow without touching the core config.
The seed's top-level ``slack``/``dingtalk``/``wecom`` sections still work: they become receivers named
``slack``/``dingtalk``/``wecom``. Every secret is a ``SecretStr`` with a ``*File`` and a ``*Env`` form;
``receiver_params`` is the only place secrets are unwrapped. ``validate`` is the cross-field check (route
receivers exist, webhook URLs are http(s) to an allowed host, user templates compile and render) that must run
when the config is loaded.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic.alias_generators import to_camel

if TYPE_CHECKING:
    from worker.settings import Settings


log = logging.getLogger("nodewatch.config")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, alias_generator=to_camel, frozen=True)


def read_secret_file(path: str | None) -> str | None:
    if not path:
        return None
    return Path(path).read_text().strip()


def secret(value: SecretStr | None, file: str | None, env: str | None = None) -> str | None:
    """The first of: the value itself, the file's content, the environment variable's value."""
    if value is not None and value.get_secret_value():
        return value.get_secret_value()
    from_file = read_secret_file(file)
    if from_file:
        return from_file
    return os.environ.get(env) or None if env else None


# --- webhook URLs: http(s) only, to an allowed host (notify.allowedHosts) ---
_HOST_LABEL = r"[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?"
_HOST = re.compile(rf"(\*\.)?{_HOST_LABEL}(\.{_HOST_LABEL})*")
# receiver kinds whose URL is an HTTP endpoint; an Apprise URL's scheme names the service (tgram://, mailto://)
HTTP_KINDS = ("slack", "dingtalk", "wecom", "webhook")


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
    """Why a webhook URL is refused (None: it is fine). Never repeats the URL: its path or query is the secret."""
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


# --- the seed's sections (implicit receivers named after them) ---
class SlackSettings(Strict):
    webhook_url: SecretStr | None = Field(default=None, alias="webhookURL")
    webhook_url_file: str | None = Field(default=None, alias="webhookURLFile")


class DingTalkSettings(Strict):
    webhook_url: SecretStr | None = Field(default=None, alias="webhookURL")
    webhook_url_file: str | None = Field(default=None, alias="webhookURLFile")
    secret: SecretStr | None = None
    secret_file: str | None = None
    at_mobiles: list[str] = []
    at_all: bool = False
    keyword: str | None = None


class WeComSettings(Strict):
    webhook_url: SecretStr | None = Field(default=None, alias="webhookURL")
    webhook_url_file: str | None = Field(default=None, alias="webhookURLFile")
    mentions: list[str] = []


# --- named receivers ---
class RateLimit(Strict):
    """The service accepts at most ``messages`` per ``per`` seconds; ``messages: 0`` turns limiting off."""

    messages: int = Field(ge=0)
    per: float = Field(default=60.0, gt=0)


class TemplateSettings(Strict):
    """Jinja2 overrides of the headline and the body (context: docs/channels/templates.md)."""

    title: str | None = None
    body: str | None = None


# Defaults per kind: DingTalk and WeCom robots take 20 a minute, Slack about one a second.
DEFAULT_RATE_LIMITS: dict[str, RateLimit] = {
    "dingtalk": RateLimit(messages=20, per=60),
    "wecom": RateLimit(messages=20, per=60),
    "slack": RateLimit(messages=1, per=1),
}
# How many alerts one digest lists, so it stays inside the service's size limit without "+N more"
DEFAULT_DIGEST_MAX: dict[str, int] = {"dingtalk": 40, "wecom": 15, "slack": 15, "webhook": 50, "apprise": 15}

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")


class _Receiver(Strict):
    name: str
    url: SecretStr | None = None
    url_file: str | None = None
    url_env: str | None = None
    language: Literal["zh", "en"] | None = None  # None: the global ``language``
    template: TemplateSettings | None = None
    rate_limit: RateLimit | None = None  # None: the kind's default
    digest_max: int | None = Field(default=None, ge=1, le=200)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _NAME.fullmatch(v):
            raise ValueError("must be letters, digits, '-', '_' or '.', at most 63")
        return v

    @model_validator(mode="after")
    def _has_url(self) -> _Receiver:
        if self.url is None and not self.url_file and not self.url_env:
            raise ValueError("one of url, urlFile or urlEnv is required")
        return self


class SlackReceiver(_Receiver):
    kind: Literal["slack"]


class DingTalkReceiver(_Receiver):
    kind: Literal["dingtalk"]
    secret: SecretStr | None = None
    secret_file: str | None = None
    secret_env: str | None = None
    at_mobiles: list[str] = []
    at_all: bool = False
    keyword: str | None = None


class WeComReceiver(_Receiver):
    kind: Literal["wecom"]
    mentions: list[str] = []


class WebhookReceiver(_Receiver):
    kind: Literal["webhook"]
    secret: SecretStr | None = None
    secret_file: str | None = None
    secret_env: str | None = None
    body: Literal["nodewatch", "alertmanager"] = "nodewatch"
    headers: dict[str, SecretStr] = {}  # e.g. Authorization: the values are credentials
    external_url: str = ""


class AppriseReceiver(_Receiver):
    """Any service Apprise knows (Feishu/Lark, Telegram, Teams, e-mail, PagerDuty, ...), by its URL."""

    kind: Literal["apprise"]


ReceiverSettings = Annotated[
    SlackReceiver | DingTalkReceiver | WeComReceiver | WebhookReceiver | AppriseReceiver,
    Field(discriminator="kind"),
]
AnyReceiver = SlackReceiver | DingTalkReceiver | WeComReceiver | WebhookReceiver | AppriseReceiver

SEVERITIES = ("info", "warning", "critical")


def _duration(v: object) -> object:
    """Seconds from a number (minutes, as the seed's alertCooldown) or a string like 90s, 30m, 4h, 1d."""
    if v is None or isinstance(v, int | float):
        return None if v is None else float(v) * 60
    if isinstance(v, str):
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", v)
        if m:
            return float(m.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400, "": 60}[m.group(2)]
    raise ValueError("expected minutes or a duration like 90s, 30m, 4h, 1d")


class RouteSettings(Strict):
    """One node of the routing tree; the top-level ``route`` is the default route and matches everything.

    A node matches when every matcher it sets matches (cluster and rule names accept shell globs). Children are
    tried in order; the first match wins unless it sets ``continue``. When no child matches, the node's own
    receivers get the notification. ``sendResolved`` and ``repeatInterval`` are inherited by children.
    """

    receiver: str | None = None
    receivers: list[str] = []
    clusters: list[str] = []
    cluster_labels: dict[str, str] = {}
    node_groups: list[str] = []
    rules: list[str] = []
    severities: list[Literal["info", "warning", "critical"]] = []
    continue_: bool = Field(default=False, alias="continue")
    send_resolved: bool | None = None
    repeat_interval: float | None = None  # seconds after parsing
    routes: list[RouteSettings] = []

    @field_validator("repeat_interval", mode="before")
    @classmethod
    def _repeat(cls, v: object) -> object:
        return _duration(v)

    def receiver_names(self) -> list[str]:
        return ([self.receiver] if self.receiver else []) + [r for r in self.receivers if r != self.receiver]


# --- derived views ---
@dataclass(frozen=True)
class ReceiverPolicy:
    """What the delivery side needs besides the channel: the rate limit and the digest size."""

    kind: str
    messages: int  # 0: not limited
    per: float
    digest_max: int


def implicit_receivers(cfg: Settings) -> list[AnyReceiver]:
    """The seed's sections as receivers named slack/dingtalk/wecom (only those with a URL configured)."""
    out: list[AnyReceiver] = []
    if cfg.slack.webhook_url is not None or cfg.slack.webhook_url_file:
        out.append(
            SlackReceiver(
                name="slack", kind="slack", url=cfg.slack.webhook_url, url_file=cfg.slack.webhook_url_file
            )
        )
    d = cfg.dingtalk
    if d.webhook_url is not None or d.webhook_url_file:
        out.append(
            DingTalkReceiver(
                name="dingtalk",
                kind="dingtalk",
                url=d.webhook_url,
                url_file=d.webhook_url_file,
                secret=d.secret,
                secret_file=d.secret_file,
                at_mobiles=d.at_mobiles,
                at_all=d.at_all,
                keyword=d.keyword,
            )
        )
    w = cfg.wecom
    if w.webhook_url is not None or w.webhook_url_file:
        out.append(
            WeComReceiver(
                name="wecom",
                kind="wecom",
                url=w.webhook_url,
                url_file=w.webhook_url_file,
                mentions=w.mentions,
            )
        )
    return out


def all_receivers(cfg: Settings) -> dict[str, AnyReceiver]:
    out = {r.name: r for r in implicit_receivers(cfg)}
    for r in cfg.receivers_:
        out[r.name] = r
    return out


def receiver_params(cfg: Settings) -> dict[str, dict[str, Any]]:
    """Receivers by name with plain params (secrets unwrapped) for worker.notify.registry.build().

    A receiver whose secret file or variable is empty is left out (as the seed did with an empty URL).
    """
    out: dict[str, dict[str, Any]] = {}
    for name, r in all_receivers(cfg).items():
        url = (secret(r.url, r.url_file, r.url_env) or "").strip()
        if not url:
            continue
        if r.kind in HTTP_KINDS and (problem := url_problem(url, cfg.notify.allowed_hosts)):
            # checked at load too; here a URL file or variable changed since: the receiver is not used
            log.error("receiver %s: webhook URL %s; receiver left out", name, problem)
            continue
        params: dict[str, Any] = {"kind": r.kind, "url": url, "lang": r.language or cfg.language}
        if r.template is not None and (r.template.title or r.template.body):
            params["template"] = {"title": r.template.title, "body": r.template.body}
        if isinstance(r, DingTalkReceiver):
            params.update(
                secret=secret(r.secret, r.secret_file, r.secret_env),
                at_mobiles=list(r.at_mobiles),
                at_all=r.at_all,
                keyword=r.keyword,
            )
        elif isinstance(r, WeComReceiver):
            params["mentions"] = list(r.mentions)
        elif isinstance(r, WebhookReceiver):
            params.update(
                secret=secret(r.secret, r.secret_file, r.secret_env),
                body=r.body,
                receiver=name,
                external_url=r.external_url,
                headers={k: v.get_secret_value() for k, v in r.headers.items()},
            )
        out[name] = params
    return out


def receiver_policies(cfg: Settings) -> dict[str, ReceiverPolicy]:
    out = {}
    for name, r in all_receivers(cfg).items():
        limit = r.rate_limit or DEFAULT_RATE_LIMITS.get(r.kind) or RateLimit(messages=0)
        out[name] = ReceiverPolicy(
            kind=r.kind,
            messages=limit.messages,
            per=limit.per,
            digest_max=r.digest_max or DEFAULT_DIGEST_MAX.get(r.kind, 15),
        )
    return out


def _url_keys(cfg: Settings) -> Iterator[tuple[AnyReceiver, str, str, str]]:
    """Each receiver with the config keys of its URL forms: (receiver, value key, file key, env key)."""
    for r in implicit_receivers(cfg):
        yield r, f"{r.name}.webhookURL", f"{r.name}.webhookURLFile", ""
    for i, named in enumerate(cfg.receivers_):
        yield named, f"receivers.{i}.url", f"receivers.{i}.urlFile", f"receivers.{i}.urlEnv"


def _effective_url(r: AnyReceiver, value_key: str, file_key: str, env_key: str) -> tuple[str, str] | None:
    """(key, URL) of the form ``secret()`` will use, or None when it cannot be known now (file not readable)."""
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
        if r.kind not in HTTP_KINDS:
            continue
        found = _effective_url(r, value_key, file_key, env_key)
        if found and (problem := url_problem(found[1], cfg.notify.allowed_hosts)):
            raise ValueError(f"{found[0]} (receiver {r.name}): webhook URL {problem}")


def _walk(route: RouteSettings, path: str) -> list[tuple[str, RouteSettings]]:
    out = [(path, route)]
    for i, child in enumerate(route.routes):
        out += _walk(child, f"{path}.routes.{i}")
    return out


def validate(cfg: Settings) -> None:
    """Cross-field checks at load; raises ValueError naming the key: receiver names unique, webhook URLs http(s)
    to an allowed host, route receivers known, user templates compiling and rendering a sample notification."""
    names = [r.name for r in implicit_receivers(cfg)] + [r.name for r in cfg.receivers_]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(
            f"receivers: duplicate name(s) {dup} (slack/dingtalk/wecom are taken by the top-level sections)"
        )
    check_urls(cfg)
    known = set(names)
    if cfg.route is not None:
        for path, node in _walk(cfg.route, "route"):
            for name in node.receiver_names():
                if name not in known:
                    raise ValueError(
                        f"{path}: unknown receiver {name!r} (configured: {', '.join(sorted(known)) or 'none'})"
                    )
    from worker.notify import templates  # lazy: settings must load without the notify room's imports

    for i, r in enumerate(cfg.receivers_):
        if r.template is not None:
            try:
                templates.check_custom(r.template.title, r.template.body, r.language or cfg.language)
            except ValueError as err:
                raise ValueError(f"receivers.{i}.template ({r.name}): {err}") from None
