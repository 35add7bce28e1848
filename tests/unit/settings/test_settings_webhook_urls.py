"""Webhook URLs: http(s) only, to a host of ``notify.allowedHosts`` when it is set; errors name the key, never
the URL (its path or query is the credential)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from worker import settings
from worker.settings import urls

TOKEN = "T0KEN-in-the-path-5b1e"


def parse(raw: dict[str, Any], env: dict[str, str] | None = None) -> settings.Settings:
    return settings.parse(raw, "x.yaml", env=env or {})


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"slack": {"webhookURL": f"file:///etc/{TOKEN}"}}, "slack.webhookURL (receiver slack)"),
        ({"dingtalk": {"webhookURL": f"gopher://oapi.dingtalk.com/{TOKEN}"}}, "dingtalk.webhookURL"),
        ({"wecom": {"webhookURL": f"qyapi.weixin.qq.com/send?key={TOKEN}"}}, "wecom.webhookURL"),
        ({"receivers": [{"name": "hook", "kind": "webhook", "url": f"ftp://h/{TOKEN}"}]}, "receivers.0.url"),
        ({"receivers": [{"name": "s", "kind": "slack", "url": f"https:///{TOKEN}"}]}, "receivers.0.url"),
        (
            {"receivers": [{"name": "s", "kind": "slack", "url": f"https://h/{TOKEN}\r\nX-Evil: 1"}]},
            "receivers.0.url",
        ),
    ],
)
def test_a_webhook_url_must_be_http_and_the_error_names_the_key(raw: dict[str, Any], key: str) -> None:
    with pytest.raises(settings.ConfigError) as err:
        parse(raw)
    msg = str(err.value)
    assert msg.startswith(f"x.yaml: {key}") and "webhook URL" in msg, msg
    assert TOKEN not in msg


def test_env_overrides_are_checked_as_the_key_they_set() -> None:
    with pytest.raises(settings.ConfigError, match=r"slack\.webhookURL .*must start with http"):
        parse({}, env={"SLACK_WEBHOOK_URL": f"javascript:{TOKEN}"})


def test_file_and_env_forms_are_checked_at_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "url").write_text(f"smtp://mail/{TOKEN}\n")
    with pytest.raises(settings.ConfigError) as err:
        parse({"receivers": [{"name": "s", "kind": "slack", "urlFile": str(tmp_path / "url")}]})
    assert "receivers.0.urlFile (receiver s)" in str(err.value) and TOKEN not in str(err.value)
    monkeypatch.setenv("NW_TEST_HOOK", f"ldap://x/{TOKEN}")
    with pytest.raises(settings.ConfigError) as err:
        parse({"receivers": [{"name": "s", "kind": "webhook", "urlEnv": "NW_TEST_HOOK"}]})
    assert "receivers.0.urlEnv ($NW_TEST_HOOK) (receiver s)" in str(err.value) and TOKEN not in str(err.value)


def test_apprise_urls_keep_their_service_schemes() -> None:
    cfg = parse({"receivers": [{"name": "lark", "kind": "apprise", "url": "lark://apptoken/secret"}]})
    assert cfg.endpoints()["lark"].url == "lark://apptoken/secret"


ALLOWED = {"notify": {"allowedHosts": ["hooks.slack.com", "*.dingtalk.com", "127.0.0.1"]}}


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        (f"https://hooks.slack.com/services/{TOKEN}", True),
        (f"https://HOOKS.slack.com/services/{TOKEN}", True),
        (f"https://oapi.dingtalk.com/robot/send?access_token={TOKEN}", True),
        (f"http://127.0.0.1:8080/hook/{TOKEN}", True),
        (f"https://dingtalk.com/robot/send?access_token={TOKEN}", False),  # *.x matches below x only
        (f"https://evil-dingtalk.com/robot/send?access_token={TOKEN}", False),
        (f"https://oapi.dingtalk.com.evil.example/{TOKEN}", False),
        (f"https://hooks.slack.com@evil.example/{TOKEN}", False),  # userinfo: the host is evil.example
        (f"https://attacker.example/{TOKEN}", False),
    ],
)
def test_allowed_hosts(url: str, ok: bool) -> None:
    raw = ALLOWED | {"receivers": [{"name": "hook", "kind": "webhook", "url": url}]}
    if ok:
        assert parse(raw).endpoints()["hook"].url == url
        return
    with pytest.raises(settings.ConfigError) as err:
        parse(raw)
    msg = str(err.value)
    assert (
        "receivers.0.url (receiver hook)" in msg and "not in notify.allowedHosts" in msg and TOKEN not in msg
    )


def test_no_allowed_hosts_means_any_host() -> None:
    raw = {"receivers": [{"name": "hook", "kind": "webhook", "url": "https://anywhere.example/x"}]}
    assert "hook" in parse(raw).endpoints()


@pytest.mark.parametrize("pattern", ["https://hooks.slack.com", "hooks.slack.com/services", "*", "a b", ""])
def test_a_bad_allowed_host_pattern_names_the_key(pattern: str) -> None:
    with pytest.raises(
        settings.ConfigError, match=r"key 'notify\.allowedHosts\.0'|key 'notify\.allowedHosts'"
    ):
        parse({"notify": {"allowedHosts": [pattern]}})


def test_a_url_file_changed_after_load_is_not_used(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    f = tmp_path / "url"
    f.write_text("https://hooks.slack.com/services/ok\n")
    cfg = parse(ALLOWED | {"receivers": [{"name": "s", "kind": "slack", "urlFile": str(f)}]})
    assert "s" in cfg.endpoints()
    f.write_text(f"https://attacker.example/{TOKEN}\n")
    with caplog.at_level(logging.ERROR, logger="nodewatch.config"):
        assert "s" not in cfg.endpoints()
    assert (
        "receiver s: webhook URL points at host attacker.example" in caplog.text and TOKEN not in caplog.text
    )


def test_host_allowed_is_a_plain_function() -> None:
    pats = [urls.host_pattern(p) for p in ("Hooks.Slack.com", "*.DingTalk.com", "[::1]")]
    assert pats == ["hooks.slack.com", "*.dingtalk.com", "::1"]
    assert urls.host_allowed("a.b.dingtalk.com", pats)
    assert urls.host_allowed("::1", pats)
    assert not urls.host_allowed("dingtalk.com", pats)
