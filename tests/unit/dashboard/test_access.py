"""Who may look and act: credentials from the environment or a file, never a default; bearer, basic and the
sign-in cookie; CSRF tokens bound to the principal; same-origin requests only."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from worker.dashboard import access
from worker.dashboard.access import Access, AccessError

TOKEN = "a-token-of-twenty-chars"


def basic(user: str, password: str) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_no_credential_and_no_insecure_local_refuses_to_start() -> None:
    with pytest.raises(AccessError, match="NODEWATCH_DASHBOARD_TOKEN"):
        Access.load({})
    assert Access.load({}, insecure_local=True).token is None


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({access.ENV_TOKEN: "short"}, "shorter than 16"),
        ({access.ENV_BASIC: "nopassword"}, "user:password"),
        ({access.ENV_TOKEN_FILE: "/nonexistent/token"}, "NODEWATCH_DASHBOARD_TOKEN_FILE: cannot read"),
    ],
)
def test_bad_credentials_are_named(env: dict[str, str], message: str) -> None:
    with pytest.raises(AccessError, match=message):
        Access.load(env)


def test_token_from_file_bearer_and_cookie(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text(TOKEN + "\n")
    a = Access.load({}, token_file=str(path))
    assert a.principal({"authorization": f"Bearer {TOKEN}"}, {}) == "token"
    assert a.principal({"authorization": "Bearer wrong-token-of-some-length"}, {}) is None
    assert a.principal({}, {access.COOKIE: a.session()}) == "token"
    assert a.principal({}, {access.COOKIE: "0" * 64}) is None
    assert TOKEN not in a.session() and TOKEN not in a.csrf("token")


def test_basic_auth_and_csrf_bound_to_the_principal() -> None:
    a = Access.load({access.ENV_BASIC: "ops:s3cret-pass"})
    assert a.principal(basic("ops", "s3cret-pass"), {}) == "basic:ops"
    assert a.principal(basic("ops", "wrong"), {}) is None
    assert a.principal({"authorization": "Basic !!!"}, {}) is None
    assert a.csrf_ok("basic:ops", a.csrf("basic:ops")) and not a.csrf_ok("basic:ops", a.csrf("token"))
    assert not a.csrf_ok("basic:ops", "")
    # another password, another key: a token made for the old one is refused
    assert not Access.load({access.ENV_BASIC: "ops:other"}).csrf_ok("basic:ops", a.csrf("basic:ops"))


@pytest.mark.parametrize(
    ("headers", "ok"),
    [
        ({"host": "dash:8080", "origin": "http://dash:8080"}, True),
        ({"host": "dash:8080", "referer": "http://dash:8080/alerts"}, True),
        ({"host": "dash:8080", "origin": "http://evil.example"}, False),
        ({"host": "dash:8080", "origin": "http://dash:8080.evil.example"}, False),
        ({"host": "dash:8080"}, False),
    ],
)
def test_same_origin(headers: dict[str, str], ok: bool) -> None:
    assert access.same_origin(headers) is ok
