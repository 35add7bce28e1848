"""What every message carries besides its phrase: local time with its offset in the configured zone, since when the
condition holds, the next step or runbook, the fingerprint with the ack and silence commands, and a resolved
message that says how long it lasted and why it ended."""

from __future__ import annotations

import dataclasses
import json
import shlex
from typing import Any

import pytest

from tests.contract.helpers import notification
from worker import cli, settings
from worker.alerting import transitions
from worker.model import Finding, NotificationKind, Severity
from worker.model.alerts import AlertState
from worker.notify import templates
from worker.notify.channels import dingtalk, wecom
from worker.notify.templates import facts
from worker.rules import noise

T0 = 1_795_957_980.0  # 2026-11-29 13:13 UTC


def parse(raw: dict[str, Any]) -> settings.Settings:
    return settings.parse(raw, "x.yaml", env={})


@pytest.mark.parametrize(
    ("tz", "shown"),
    [
        ("UTC", "2026-11-29 13:13 UTC (+00:00)"),
        ("Asia/Shanghai", "2026-11-29 21:13 CST (+08:00)"),
        ("America/New_York", "2026-11-29 08:13 EST (-05:00)"),
        ("Asia/Kolkata", "2026-11-29 18:43 IST (+05:30)"),
    ],
)
def test_local_time_names_zone_and_offset(tz: str, shown: str) -> None:
    assert facts.local(T0, tz) == shown


def test_timezone_top_level_and_per_receiver() -> None:
    cfg = parse(
        {
            "timezone": "Asia/Shanghai",
            "receivers": [
                {"kind": "webhook", "name": "a", "url": "https://h.example.com/a"},
                {
                    "kind": "webhook",
                    "name": "b",
                    "url": "https://h.example.com/b",
                    "timezone": "Europe/Berlin",
                },
            ],
        }
    )
    tz = {name: e.tz for name, e in cfg.endpoints().items()}
    assert tz == {"a": "Asia/Shanghai", "b": "Europe/Berlin"}
    assert {e.tz for e in parse({"receivers": [{"kind": "webhook", "name": "a", "url": "https://h/a"}]})
            .endpoints().values()} == {"UTC"}  # fmt: skip


@pytest.mark.parametrize(
    ("raw", "said"),
    [
        ({"timezone": "Mars/Olympus"}, "x.yaml: key 'timezone': unknown time zone: give an IANA name like Asia/Shanghai, Europe/Berlin or UTC (got 'Mars/Olympus')"),
        (
            {"receivers": [{"kind": "webhook", "name": "a", "url": "https://h/a", "timezone": "CST+8"}]},
            "x.yaml: key 'receivers.0.webhook.timezone': unknown time zone: give an IANA name",
        ),
        ({"rules": {"cpu_usge": {"runbookURL": "https://wiki/cpu"}}}, "x.yaml: key 'rules.cpu_usge.[key]': unknown rule"),
        ({"rules": {"cpu_usage": {"runbookURL": "wiki/cpu"}}}, "x.yaml: key 'rules.cpu_usage.runbookURL': Value error, must be an http(s) URL"),
    ],
)  # fmt: skip
def test_bad_timezone_or_runbook_names_the_key(raw: dict[str, Any], said: str) -> None:
    with pytest.raises(settings.ConfigError) as err:
        parse(raw)
    assert str(err.value).startswith(said), str(err.value)


def test_notification_carries_since_when_the_condition_holds() -> None:
    """The alert fired 540 s after its condition began: the message says the condition's start."""
    f = Finding("prod", "n1", "cpu_usage", Severity.CRITICAL, 97.0, 90.0, "s", {}, hold_for=540)
    state = AlertState(
        f.fingerprint, "n1", "cpu_usage", "firing", Severity.CRITICAL, T0, T0 + 540, Severity.CRITICAL
    )
    n = transitions.notification(
        noise.Outgoing(f, NotificationKind.FIRING, state, "started firing"), T0 + 540
    )
    assert (n.since, n.started_at) == (T0, T0 + 540)
    assert n.id == f"{f.fingerprint}-{int(T0 + 540)}-firing"  # the id still counts from the firing
    body = templates.render(n, "en", "text", tz="Asia/Shanghai").body
    assert "Since: 2026-11-29 21:13 CST (+08:00)\nFor: 9m\n" in body
    gone = Finding("prod", "n1", "cpu_usage", None, 41.0, 70.0, "s")
    ended = dataclasses.replace(state, active_at=T0 + 1800)
    r = transitions.notification(
        noise.Outgoing(gone, NotificationKind.RESOLVED, ended, "resolved"), T0 + 2400
    )
    assert (r.since, r.ended_at) == (T0, T0 + 1800)
    assert Finding is not None and json.loads(json.dumps(r.to_json())) == r.to_json()


def test_resolved_message_says_how_long_and_why_not_severity() -> None:
    n = dataclasses.replace(
        notification(NotificationKind.RESOLVED, value=41.0, threshold=70.0, resolved_reason="resolved"),
        since=T0, ended_at=T0 + 1800, created_at=T0 + 2400,
    )  # fmt: skip
    for lang, words in (
        ("en", ["Lasted: 30m, until 13:43", "Ended because: the condition cleared at 13:43 and stayed clear for 10m"]),
        ("zh", ["共持续: 30m，至 13:43", "恢复原因: 异常已消失（13:43），并已持续正常 10m"]),
    ):  # fmt: skip
        r = templates.render(n, lang, "text")
        assert all(w in r.body for w in words), r.body
        assert "CRITICAL" not in r.text and "严重" not in r.text and "resolved" not in r.body.lower()
        assert "alerts ack" not in r.body  # nothing left to acknowledge


def test_commands_are_exact_and_parse_as_the_cli_does() -> None:
    n = notification(cluster="prod-eu", node="prod-eu-pool-1")
    assert facts.ack_command(n) == "nodewatch alerts ack fp-demo --cluster prod-eu"
    argv = shlex.split(facts.silence_command(n))
    assert argv[:3] == ["nodewatch", "silence", "add"]
    opts = dict(zip(argv[3::2], argv[4::2], strict=True))
    assert opts == {
        "--cluster": "prod-eu",
        "--node": "prod-eu-pool-1",
        "--rule": "cpu_usage",
        "--duration": "2h",
        "--author": "$USER",
        "--comment": "seen, working on it",
    }
    # and the CLI's own parser takes both as they are
    parser = cli.build_parser()
    ack = parser.parse_args(shlex.split(facts.ack_command(n))[1:])
    assert (ack.fingerprint, ack.cluster, ack.func.__name__) == ("fp-demo", "prod-eu", "cmd_alerts_ack")
    add = parser.parse_args(argv[1:])
    assert (add.node, add.rule, add.duration, add.func.__name__) == (
        "prod-eu-pool-1",
        "cpu_usage",
        7200.0,
        "cmd_silence_add",
    )


def test_runbook_url_replaces_the_built_in_next_step() -> None:
    plain = templates.render(notification(), "en", "slack").body
    assert "*Next step*: see the top pods" in plain
    linked = templates.render(
        notification(runbook_url="https://wiki.example.com/cpu", value=97.0), "en", "slack"
    )
    assert "*Runbook*: <https://wiki.example.com/cpu>" in linked.body and "Next step" not in linked.body
    md = templates.render(
        notification(runbook_url="https://wiki.example.com/cpu", value=97.0), "zh", "markdown"
    )
    assert "**处理手册**: [https://wiki.example.com/cpu](https://wiki.example.com/cpu)" in md.body


def test_dingtalk_and_wecom_carry_the_fingerprint_and_commands() -> None:
    n = notification()
    ding = dingtalk.payload(n, "zh")["markdown"]["text"]  # type: ignore[index]
    wc = wecom.payload(n, "en")["markdown"]["content"]  # type: ignore[index]
    assert "**指纹**: fp-demo" in ding and "nodewatch alerts ack fp-demo --cluster demo" in ding
    assert "**Fingerprint**: fp-demo" in wc and "nodewatch silence add --cluster demo" in wc


def test_cluster_display_name_and_node_group_are_shown() -> None:
    n = notification(value=97.0, threshold=90.0, cluster_display="Prod EU", node_group="gpu")
    r = templates.render(n, "en", "text")
    assert r.title.startswith("🔥 [CRITICAL] cluster Prod EU node demo-cpu-1")
    assert ("Cluster", "Prod EU (demo)") in r.fields and ("Node group", "gpu") in r.fields
    assert "--cluster demo" in r.body  # commands take the name, not the display name


@pytest.mark.parametrize(
    ("trend", "shown"),
    [
        ({"from": 84.0, "ago": 1500}, "↑ 84% → 97% in 25m"),
        ({"from": 99.0, "ago": 600}, "↓ 99% → 97% in 10m"),
        ({"from": 96.5, "ago": 600}, "→ 96.5% → 97% in 10m"),
        ("fills in ~3h (trend of 6h)", "fills in ~3h (trend of 6h)"),  # a rule's own words
        ({"from": 84.0}, None),
    ],
)
def test_trend(trend: object, shown: str | None) -> None:
    r = templates.render(notification(value=97.0, threshold=90.0, trend=trend), "en", "text")
    assert dict(r.fields).get("Trend") == shown
