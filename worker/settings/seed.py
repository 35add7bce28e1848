"""The seed sketch's top-level ``slack``/``dingtalk``/``wecom`` sections: they still work, each as a receiver
named after its section (only when a URL is configured)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field, SecretStr

from worker.settings.base import Strict
from worker.settings.receivers import BY_KIND, Receiver

if TYPE_CHECKING:
    from worker.settings.root import Settings

SECTIONS = ("slack", "dingtalk", "wecom")


class _Section(Strict):
    webhook_url: SecretStr | None = Field(default=None, alias="webhookURL")
    webhook_url_file: str | None = Field(default=None, alias="webhookURLFile")


class SlackSettings(_Section):
    pass


class DingTalkSettings(_Section):
    secret: SecretStr | None = None
    secret_file: str | None = None
    at_mobiles: list[str] = []
    at_all: bool = False
    keyword: str | None = None


class WeComSettings(_Section):
    mentions: list[str] = []


def implicit_receivers(cfg: Settings) -> list[Receiver]:
    """The seed's sections with a URL configured, as receivers of their kind named after the section."""
    out: list[Receiver] = []
    for name in SECTIONS:
        section: _Section = getattr(cfg, name)
        if section.webhook_url is None and not section.webhook_url_file:
            continue
        options = section.model_dump(exclude={"webhook_url", "webhook_url_file"})
        out.append(
            BY_KIND[name].model_validate(
                {
                    **options,
                    "name": name,
                    "kind": name,
                    "url": section.webhook_url,
                    "url_file": section.webhook_url_file,
                }
            )
        )
    return out
