"""The README's message example is what nodewatch renders, and its receivers/routes/templates config loads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from worker import settings
from worker.model import NotificationKind
from worker.notify import examples

README = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    return README.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def block(text: str, lang: str) -> str:
    found = re.search(rf"```{lang}\n(.*?)\n```", text, re.S)
    assert found, f"no {lang} block"
    return found.group(1)


def test_the_example_message_is_the_real_output() -> None:
    fired = examples.payload("webhook", examples.sample("cpu_usage"), "en")["text"]
    resolved = examples.payload("webhook", examples.sample("cpu_usage", NotificationKind.RESOLVED), "en")[
        "text"
    ]
    assert block(section("Messages"), "text") == f"{fired}\n\n{resolved}"


def test_the_receivers_routes_and_templates_example_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = yaml.safe_load(block(section("Receivers, routes, templates"), "yaml"))
    for name, value in {
        "TEAM_SLACK_URL": "https://hooks.slack.com/services/T0/B0/x",
        "FEISHU_APPRISE_URL": "feishu://abc/def",
        "ONCALL_DINGTALK_URL": "https://oapi.dingtalk.com/robot/send?access_token=t",
        "ONCALL_DINGTALK_SECRET": "SECx",
    }.items():
        monkeypatch.setenv(name, value)
    cfg = settings.parse(raw, "README.md", env={})
    assert cfg.timezone == "Asia/Shanghai" and cfg.runbook_url("cpu_usage").startswith("https://")
    endpoints = cfg.endpoints()
    assert {n: e.tz for n, e in endpoints.items() if n in ("team", "feishu", "archive")} == {
        "team": "Europe/Berlin",
        "feishu": "Asia/Shanghai",
        "archive": "Asia/Shanghai",
    }
    assert cfg.route is not None and [r.receiver_names() for r in cfg.route.routes] == [
        ["oncall"],
        ["feishu", "archive"],
    ]
