"""Who may look and who may act: a token (``Authorization: Bearer``, or the sign-in form that sets a cookie) or
basic auth, from the environment or a file, never a default; ``--insecure-local`` opens the read-only pages on
127.0.0.1 only. Actions always need a credential, a CSRF token in the form and a same-origin request.

The cookie and the CSRF token are HMACs keyed by the credentials themselves: replicas behind one address agree,
a restart keeps people signed in, and neither value says anything about the token.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

ENV_TOKEN = "NODEWATCH_DASHBOARD_TOKEN"
ENV_TOKEN_FILE = "NODEWATCH_DASHBOARD_TOKEN_FILE"
ENV_BASIC = "NODEWATCH_DASHBOARD_BASIC_AUTH"  # user:password
ENV_BASIC_FILE = "NODEWATCH_DASHBOARD_BASIC_AUTH_FILE"
COOKIE = "nw_session"
MIN_TOKEN = 16


class AccessError(ValueError):
    """The dashboard cannot start with these credentials; the message names the variable or file."""


def _read(path: str, what: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError as err:
        raise AccessError(f"{what}: cannot read {path}: {err.strerror}") from None


@dataclass(frozen=True)
class Access:
    token: str | None
    basic: tuple[str, str] | None
    insecure_local: bool = False

    @classmethod
    def load(
        cls, env: Mapping[str, str], token_file: str | None = None, insecure_local: bool = False
    ) -> Access:
        token = env.get(ENV_TOKEN) or None
        if token_file or env.get(ENV_TOKEN_FILE):
            where = token_file or env[ENV_TOKEN_FILE]
            token = _read(where, "--token-file" if token_file else ENV_TOKEN_FILE)
        if token is not None and len(token) < MIN_TOKEN:
            raise AccessError(f"the dashboard token is shorter than {MIN_TOKEN} characters")
        raw = env.get(ENV_BASIC) or None
        if env.get(ENV_BASIC_FILE):
            raw = _read(env[ENV_BASIC_FILE], ENV_BASIC_FILE)
        basic = None
        if raw is not None:
            user, sep, password = raw.partition(":")
            if not sep or not user or not password:
                raise AccessError(f"{ENV_BASIC}: give user:password")
            basic = (user, password)
        if token is None and basic is None and not insecure_local:
            raise AccessError(
                f"the dashboard needs a credential: {ENV_TOKEN}, {ENV_TOKEN_FILE} or --token-file, or "
                f"{ENV_BASIC} (user:password); or --insecure-local for read-only pages on 127.0.0.1"
            )
        return cls(token, basic, insecure_local)

    @property
    def _key(self) -> bytes:
        seed = f"{self.token or ''}\x00{':'.join(self.basic or ())}"
        return hashlib.sha256(b"nodewatch-dashboard\x00" + seed.encode()).digest()

    def _mac(self, what: str) -> str:
        return hmac.new(self._key, what.encode(), hashlib.sha256).hexdigest()

    def session(self) -> str:
        """The cookie a right token earns at the sign-in form."""
        return self._mac("session")

    def sign_in(self, token: str) -> bool:
        return self.token is not None and hmac.compare_digest(token.encode(), self.token.encode())

    def principal(self, headers: Mapping[str, str], cookies: Mapping[str, str]) -> str | None:
        """Who the request is ("token", "basic:USER"), or None when it carries no valid credential."""
        auth = headers.get("authorization", "")
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "bearer" and self.sign_in(value.strip()):
            return "token"
        if scheme.lower() == "basic" and self.basic is not None:
            try:
                user, _, password = base64.b64decode(value.strip()).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return None
            ok_user = hmac.compare_digest(user.encode(), self.basic[0].encode())
            ok_pass = hmac.compare_digest(password.encode(), self.basic[1].encode())
            return f"basic:{user}" if ok_user and ok_pass else None
        cookie = cookies.get(COOKIE, "")
        if self.token is not None and cookie and hmac.compare_digest(cookie, self.session()):
            return "token"
        return None

    def csrf(self, principal: str) -> str:
        """The token every action's form carries for ``principal``."""
        return self._mac(f"csrf:{principal}")

    def csrf_ok(self, principal: str, sent: str) -> bool:
        return bool(sent) and hmac.compare_digest(sent, self.csrf(principal))


def same_origin(headers: Mapping[str, str]) -> bool:
    """The request comes from a page of this host: its Origin (or, without one, its Referer) names the Host."""
    host = headers.get("host", "")
    source = headers.get("origin") or headers.get("referer") or ""
    return bool(host) and urlsplit(source).netloc == host


def from_environment(token_file: str | None, insecure_local: bool) -> Access:
    return Access.load(os.environ, token_file, insecure_local)
