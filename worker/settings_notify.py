"""Config of the notification side: the seed's slack/dingtalk sections, WeCom, named receivers and routes.

Kept apart from worker/settings.py so the notification room's config can grow without touching the core config.
Every secret is a ``SecretStr`` with a ``*File`` form; ``receiver_params`` is the only place secrets are unwrapped.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic.alias_generators import to_camel

if TYPE_CHECKING:
    from worker.settings import Settings


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, alias_generator=to_camel, frozen=True)


def read_secret_file(path: str | None) -> str | None:
    if not path:
        return None
    return Path(path).read_text().strip()


def secret(value: SecretStr | None, file: str | None) -> str | None:
    if value is not None and value.get_secret_value():
        return value.get_secret_value()
    return read_secret_file(file)


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


class ReceiverSettings(Strict):
    """A named receiver (issue 6 grows this into a discriminated union per channel kind)."""

    name: str
    kind: str
    url: SecretStr | None = None
    url_file: str | None = None


class RouteSettings(Strict):
    """The routing tree (issue 6). Without it every receiver gets every notification."""

    receivers: list[str] = []


def receiver_params(cfg: Settings) -> dict[str, dict[str, Any]]:
    """Receivers by name with plain params (secrets unwrapped) for worker.notify.registry.build()."""
    out: dict[str, dict[str, Any]] = {}
    lang = cfg.language
    slack = secret(cfg.slack.webhook_url, cfg.slack.webhook_url_file)
    if slack:
        out["slack"] = {"kind": "slack", "url": slack, "lang": lang}
    ding = secret(cfg.dingtalk.webhook_url, cfg.dingtalk.webhook_url_file)
    if ding:
        out["dingtalk"] = {
            "kind": "dingtalk",
            "url": ding,
            "secret": secret(cfg.dingtalk.secret, cfg.dingtalk.secret_file),
            "at_mobiles": list(cfg.dingtalk.at_mobiles),
            "at_all": cfg.dingtalk.at_all,
            "keyword": cfg.dingtalk.keyword,
            "lang": lang,
        }
    wecom = secret(cfg.wecom.webhook_url, cfg.wecom.webhook_url_file)
    if wecom:
        out["wecom"] = {"kind": "wecom", "url": wecom, "mentions": list(cfg.wecom.mentions), "lang": lang}
    for r in cfg.receivers_:
        url = secret(r.url, r.url_file)
        if url:
            out[r.name] = {"kind": r.kind, "url": url, "lang": lang}
    return out
