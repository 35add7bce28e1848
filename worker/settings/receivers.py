"""Receivers: one typed settings model per channel kind (the config half of the channel registry), and the
``Endpoint`` a channel is built from.

A new channel kind is a model here listed in ``KINDS``, its module in worker/notify/channels/ and one line in
worker/notify/registry.py (a test checks that both name the same kinds). What differs by kind — the default rate
limit and digest size, whether the URL is an HTTP endpoint, the credentials besides the URL — is said by the
kind's own model, not by tables kept apart. Every secret is a ``SecretStr`` with a ``*File`` and an ``*Env`` form,
unwrapped only when an ``Endpoint`` is made or a channel asks for it.
"""

from __future__ import annotations

import re
import typing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, ClassVar, Generic, Literal, TypeVar

from pydantic import Field, SecretStr, field_validator, model_validator

from worker.settings.base import Strict, TimeZone, secret


class RateLimit(Strict):
    """The service accepts at most ``messages`` per ``per`` seconds; ``messages: 0`` turns limiting off."""

    messages: int = Field(ge=0)
    per: float = Field(default=60.0, gt=0)


class TemplateSettings(Strict):
    """Jinja2 overrides of the headline and the body (context: docs/channels/templates.md)."""

    title: str | None = None
    body: str | None = None


@dataclass(frozen=True)
class ReceiverPolicy:
    """What the delivery side needs besides the channel: the rate limit and the digest size."""

    kind: str
    messages: int  # 0: not limited
    per: float
    digest_max: int


_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
UNLIMITED = RateLimit(messages=0)


class Receiver(Strict):
    """What every receiver has; each kind below adds its own options and defaults."""

    # --- per kind, set on the kind's model ---
    RATE_LIMIT: ClassVar[RateLimit] = UNLIMITED  # the service's own limit, unless the receiver sets one
    DIGEST_MAX: ClassVar[int] = 15  # alerts one digest lists, to stay inside the service's size limit
    HTTP_URL: ClassVar[bool] = True  # the URL is an HTTP endpoint (checked against notify.allowedHosts)

    kind: str
    name: str
    url: SecretStr | None = None
    url_file: str | None = None
    url_env: str | None = None
    language: Literal["zh", "en"] | None = None  # None: the global ``language``
    timezone: TimeZone | None = None  # None: the global ``timezone``
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
    def _has_url(self) -> Receiver:
        if self.url is None and not self.url_file and not self.url_env:
            raise ValueError("one of url, urlFile or urlEnv is required")
        return self

    @classmethod
    def kind_name(cls) -> str:
        """The ``kind:`` value that selects this model."""
        (name,) = typing.get_args(cls.model_fields["kind"].annotation)
        return str(name)

    def url_value(self) -> str:
        """The URL from its value, file or variable ("" when none is set or the file is empty)."""
        return (secret(self.url, self.url_file, self.url_env) or "").strip()

    def credentials(self) -> list[str]:
        """The credentials besides the URL, unwrapped: what redaction must mask."""
        return []

    def policy(self) -> ReceiverPolicy:
        limit = self.rate_limit or self.RATE_LIMIT
        return ReceiverPolicy(self.kind, limit.messages, limit.per, self.digest_max or self.DIGEST_MAX)


class _Signed(Receiver):
    """A receiver with a signing secret (DingTalk's HMAC of the timestamp, the webhook's HMAC of the body)."""

    secret: SecretStr | None = None
    secret_file: str | None = None
    secret_env: str | None = None

    def signing_secret(self) -> str | None:
        return secret(self.secret, self.secret_file, self.secret_env)

    def credentials(self) -> list[str]:
        return [s for s in (self.signing_secret(),) if s]


# DingTalk and WeCom robots take 20 messages a minute, Slack about one a second.
class SlackReceiver(Receiver):
    RATE_LIMIT = RateLimit(messages=1, per=1)

    kind: Literal["slack"]


class DingTalkReceiver(_Signed):
    RATE_LIMIT = RateLimit(messages=20, per=60)
    DIGEST_MAX = 40

    kind: Literal["dingtalk"]
    at_mobiles: list[str] = []
    at_all: bool = False
    keyword: str | None = None


class WeComReceiver(Receiver):
    RATE_LIMIT = RateLimit(messages=20, per=60)

    kind: Literal["wecom"]
    mentions: list[str] = []


class WebhookReceiver(_Signed):
    DIGEST_MAX = 50

    kind: Literal["webhook"]
    body: Literal["nodewatch", "alertmanager"] = "nodewatch"
    headers: dict[str, SecretStr] = {}  # e.g. Authorization: the values are credentials
    external_url: str = ""

    def header_values(self) -> dict[str, str]:
        return {k: v.get_secret_value() for k, v in self.headers.items()}

    def credentials(self) -> list[str]:
        return super().credentials() + [v for v in self.header_values().values() if v]


class AppriseReceiver(Receiver):
    """Any service Apprise knows (Feishu/Lark, Telegram, Teams, e-mail, PagerDuty, ...), by its URL."""

    HTTP_URL = False  # the URL's scheme names the service (tgram://, mailto://)

    kind: Literal["apprise"]


# the receiver kinds the config accepts, selected by ``kind:``
KINDS: tuple[type[Receiver], ...] = (
    SlackReceiver,
    DingTalkReceiver,
    WeComReceiver,
    WebhookReceiver,
    AppriseReceiver,
)
BY_KIND: dict[str, type[Receiver]] = {k.kind_name(): k for k in KINDS}

if TYPE_CHECKING:
    ReceiverSettings = Receiver
else:
    ReceiverSettings = Annotated[typing.Union[KINDS], Field(discriminator="kind")]  # noqa: UP007

R = TypeVar("R", bound=Receiver)


@dataclass(frozen=True)
class Endpoint(Generic[R]):
    """A receiver ready to become a channel: its typed settings, its URL read and its language chosen.

    It holds the plain URL (often the credential itself): never log it; ``secrets()`` lists what to mask.
    """

    receiver: R
    url: str = field(repr=False)
    lang: str = "zh"
    tz: str = "UTC"  # the IANA zone its messages give times in

    @property
    def name(self) -> str:
        return self.receiver.name

    @property
    def kind(self) -> str:
        return self.receiver.kind

    def template(self) -> dict[str, str | None] | None:
        """The receiver's own headline and body templates, if it has any."""
        t = self.receiver.template
        if t is None or not (t.title or t.body):
            return None
        return {"title": t.title, "body": t.body}

    def secrets(self) -> list[str]:
        """Every credential of this receiver, unwrapped, for redaction."""
        return [self.url, *self.receiver.credentials()]
