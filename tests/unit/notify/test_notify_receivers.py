"""Named receivers: one model per kind, secrets from value/file/env, the seed's sections as implicit receivers,
and the load-time checks (unknown route receiver, duplicate names, user templates that do not render)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.contract.helpers import assert_leaks_no_secret
from worker import settings
from worker.notify import registry
from worker.settings import notify, receivers

DING_URL = "https://oapi.dingtalk.com/robot/send?access_token=dingtok123456"


def parse(raw: dict[str, Any], env: dict[str, str] | None = None) -> settings.Settings:
    return settings.parse(raw, "x.yaml", env=env or {})


def test_every_kind_becomes_a_typed_endpoint_and_its_channel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "sec").write_text("SECfromfile99\n")
    monkeypatch.setenv("LARK_URL", "lark://apptoken1234/secretsecret")
    cfg = parse(
        {
            "language": "en",
            "dingtalk": {"webhookURL": DING_URL, "secret": "SECseed123"},
            "receivers": [
                {"name": "ops-ding", "kind": "dingtalk", "url": DING_URL, "secretFile": str(tmp_path / "sec"),
                 "atMobiles": ["138"], "language": "zh"},
                {"name": "hook", "kind": "webhook", "url": "http://h/x", "body": "alertmanager",
                 "headers": {"Authorization": "Bearer tok-123456"}},
                {"name": "lark", "kind": "apprise", "urlEnv": "LARK_URL"},
                {"name": "team-slack", "kind": "slack", "url": "https://hooks.slack.com/services/T1/B1/xyz123",
                 "template": {"title": "{{ cluster }}: {{ title }}"}},
                {"name": "wc", "kind": "wecom", "url": "https://q/cgi-bin/webhook/send?key=k123456",
                 "mentions": ["zhangsan"], "rateLimit": {"messages": 10, "per": 60}},
            ],
        }
    )  # fmt: skip
    e = cfg.endpoints()
    assert set(e) == {"dingtalk", "ops-ding", "hook", "lark", "team-slack", "wc"}
    assert isinstance(e["dingtalk"].receiver, receivers.DingTalkReceiver)
    assert e["dingtalk"].receiver.signing_secret() == "SECseed123" and e["dingtalk"].lang == "en"
    ops = e["ops-ding"].receiver
    assert isinstance(ops, receivers.DingTalkReceiver)
    assert (
        ops.signing_secret() == "SECfromfile99" and ops.at_mobiles == ["138"] and e["ops-ding"].lang == "zh"
    )
    hook = e["hook"].receiver
    assert isinstance(hook, receivers.WebhookReceiver) and hook.body == "alertmanager"
    assert hook.header_values() == {"Authorization": "Bearer tok-123456"}
    assert sorted(e["hook"].secrets()) == ["Bearer tok-123456", "http://h/x"]
    assert (e["lark"].kind, e["lark"].url, e["lark"].template()) == (
        "apprise",
        "lark://apptoken1234/secretsecret",
        None,
    )
    assert (e["team-slack"].template() or {})["title"].startswith("{{ cluster }}")
    assert isinstance(e["wc"].receiver, receivers.WeComReceiver) and e["wc"].receiver.mentions == ["zhangsan"]
    for endpoint in e.values():  # each becomes its kind's channel
        assert registry.channel(endpoint).target.startswith(endpoint.kind)
    assert e["lark"].lang == "en"
    policies = cfg.receiver_policies()
    assert (policies["dingtalk"].messages, policies["dingtalk"].per) == (20, 60)
    assert (policies["team-slack"].messages, policies["team-slack"].per) == (1, 1)
    assert policies["wc"].messages == 10
    assert policies["hook"].messages == 0  # webhooks are not limited unless configured
    notify.validate(cfg)
    # secrets appear in no printed form of the settings
    text = repr(cfg) + str(cfg) + cfg.model_dump_json()
    assert_leaks_no_secret(text, ["dingtok123456", "SECseed123", "tok-123456", "xyz123", "k123456"])


@pytest.mark.parametrize(
    ("receiver", "expected"),
    [
        ({"name": "a", "kind": "telex", "url": "x"}, "receivers.0"),
        ({"name": "a", "kind": "slack"}, "one of url, urlFile or urlEnv"),
        ({"name": "a b", "kind": "slack", "url": "x"}, "receivers.0.slack.name"),
        ({"name": "a", "kind": "slack", "url": "x", "atAll": True}, "unknown key 'receivers.0.slack.atAll'"),
        ({"name": "a", "kind": "slack", "url": "x", "language": "fr"}, "receivers.0.slack.language"),
    ],
)
def test_bad_receivers_name_the_key(receiver: dict[str, Any], expected: str) -> None:
    with pytest.raises(settings.ConfigError) as err:
        parse({"receivers": [receiver]})
    assert expected in str(err.value)


def test_unknown_route_receiver_is_named() -> None:
    with pytest.raises(
        settings.ConfigError, match=r"route\.routes\.0: unknown receiver 'pagr' \(configured: dingtalk\)"
    ):
        parse(
            {
                "dingtalk": {"webhookURL": DING_URL},
                "route": {
                    "receiver": "dingtalk",
                    "routes": [{"severities": ["critical"], "receiver": "pagr"}],
                },
            }
        )


def test_unknown_route_receiver_fails_the_load() -> None:
    with pytest.raises(settings.ConfigError, match="unknown receiver 'nobody'"):
        parse({"route": {"receiver": "nobody"}})


def test_a_receiver_may_not_take_a_seed_section_name() -> None:
    with pytest.raises(settings.ConfigError, match="duplicate name"):
        parse(
            {
                "dingtalk": {"webhookURL": DING_URL},
                "receivers": [{"name": "dingtalk", "kind": "dingtalk", "url": "u"}],
            }
        )


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ({"title": "{{ cluster"}, "line 1"),  # does not compile
        ({"body": "{{ runbook_link }}"}, "'runbook_link' is undefined"),  # compiles, does not render
        ({"title": "{{ value | nosuchfilter }}"}, "nosuchfilter"),
    ],
)
def test_user_templates_are_compiled_and_test_rendered_at_load(
    template: dict[str, str], expected: str
) -> None:
    with pytest.raises(settings.ConfigError) as err:
        parse(
            {
                "receivers": [
                    {"name": "s", "kind": "slack", "url": "https://hooks.example/u", "template": template}
                ]
            }
        )
    assert "receivers.0.template (s)" in str(err.value) and expected in str(err.value)


def test_empty_secret_file_leaves_the_receiver_out(tmp_path: Path) -> None:
    (tmp_path / "url").write_text("\n")
    cfg = parse({"receivers": [{"name": "s", "kind": "slack", "urlFile": str(tmp_path / "url")}]})
    assert cfg.endpoints() == {}


def test_a_bad_receiver_error_does_not_echo_its_url() -> None:
    with pytest.raises(settings.ConfigError) as err:
        parse({"receivers": [{"name": "a", "kind": "telex", "url": DING_URL}]})
    assert_leaks_no_secret(str(err.value), ["dingtok123456"])
