"""Golden files of every rule's message (firing and resolved) and every kind of message, per channel and language,
each checked against its service's real size limit and markdown dialect; and docs/messages.md is what
``nodewatch notify examples`` prints.

After a deliberate change of the messages: ``NODEWATCH_UPDATE_GOLDEN=1 .venv/bin/pytest
tests/unit/notify/test_messages_golden.py`` rewrites the golden files and docs/messages.md; review the diff.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from chatsim import server as chatsim_server
from worker.notify import examples
from worker.notify.channels import apprise, slack, webhook

ROOT = Path(__file__).resolve().parents[3]
GOLDEN = ROOT / "tests" / "golden" / "messages"
DOC = ROOT / "docs" / "messages.md"
UPDATE = os.environ.get("NODEWATCH_UPDATE_GOLDEN") == "1"
LANGS = ("en", "zh")
CASES = dict(examples.cases())
FONT = re.compile(r'<font color="(info|comment|warning)">')


def _encoded(body: Any) -> int:
    return len(json.dumps(body, ensure_ascii=False).encode())


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("channel", examples.CHANNELS)
def test_golden_files(channel: str, lang: str) -> None:
    got = examples.golden(channel, lang)
    path = GOLDEN / f"{channel}-{lang}.json"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(got, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    want = json.loads(path.read_text(encoding="utf-8"))
    assert set(got) == set(want), "examples added or gone: regenerate (see this module's docstring)"
    for name in got:
        assert got[name] == want[name], f"{channel}/{lang} {name} changed: regenerate if meant"


@pytest.mark.parametrize("lang", LANGS)
def test_every_rule_sample_says_its_own_phrase(lang: str) -> None:
    """A sample lacking a param its rule's phrase needs would show the summary instead: the examples would not
    show the rule's real message. A new rule whose phrase needs more than a value and threshold gets a sample in
    worker/notify/examples.py's SAMPLES."""
    from worker.model import rules
    from worker.notify import templates

    for name, n in CASES.items():
        rule = rules.BY_NAME.get(n.rule)
        if rule is not None and rule.phrase:
            title = templates.render(n, lang, "text").title
            assert n.summary not in title, f"{name}: add a sample to worker/notify/examples.py SAMPLES"


def check_slack(body: dict[str, Any], _: str) -> None:
    assert chatsim_server.slack_problem(body) == ""  # Block Kit's limits, as Slack answers them
    assert len(body["text"]) <= slack.TEXT_MAX <= chatsim_server.SLACK_TEXT_MAX
    shown = examples.text("slack", body)
    assert "**" not in shown  # mrkdwn bold is one asterisk; two show literally
    # & < > are escaped except in Slack's own <url> links
    assert not re.search(r"<(?!https?://)", shown.split("\n", 1)[1]) and "&&" not in shown


def check_dingtalk(body: dict[str, Any], fp: str) -> None:
    assert _encoded(body) <= chatsim_server.DINGTALK_MAX_BYTES
    text = body["markdown"]["text"]
    # DingTalk's markdown: no code spans (backticks show as they are), no WeCom colour tags, and a line break
    # only at a blank line (a single newline joins the lines)
    assert "`" not in text and "<font" not in text
    assert all("\n" not in para for para in text.split("\n\n")), text
    assert body["markdown"]["title"] and "\n" not in body["markdown"]["title"]


def check_wecom(body: dict[str, Any], _: str) -> None:
    content = body["markdown"]["content"]
    assert len(content.encode()) <= chatsim_server.WECOM_MAX_BYTES
    # WeCom's markdown: <font color> with its three colours is the only tag (a "<" before a letter or "/" opens
    # one; "<10%" does not); lines break on one newline
    assert not re.search(r"<(?=[A-Za-z/])(?!/?font\b)", content) and len(FONT.findall(content)) == 1
    assert "\n\n" not in content


def check_webhook(body: dict[str, Any], _: str) -> None:
    assert _encoded(body) <= webhook.MAX_BODY < chatsim_server.WEBHOOK_MAX_BYTES
    assert len(body["title"].encode()) <= webhook.TITLE_MAX


def check_alertmanager(body: dict[str, Any], _: str) -> None:
    assert _encoded(body) <= webhook.MAX_BODY and body["version"] == "4"


def check_apprise(body: dict[str, Any], _: str) -> None:
    assert len(body["title"]) <= apprise.TITLE_MAX and len(body["body"]) <= apprise.BODY_MAX
    assert "\n" not in body["title"]


CHECKS = {
    "slack": check_slack,
    "dingtalk": check_dingtalk,
    "wecom": check_wecom,
    "webhook": check_webhook,
    "alertmanager": check_alertmanager,
    "apprise": check_apprise,
}


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("channel", examples.CHANNELS)
def test_limits_dialect_and_what_the_on_call_needs(channel: str, lang: str) -> None:
    for name, n in CASES.items():
        body = examples.payload(channel, n, lang)
        CHECKS[channel](body, n.fingerprint)
        shown = examples.text(channel, body)
        if n.kind.value == "test" or name == "kind/digest":
            continue
        assert n.fingerprint in shown, (channel, lang, name)
        resolved = n.kind.value == "resolved"
        assert ("alerts ack" in shown) is not (resolved or name == "kind/storm"), (channel, name)
        assert ("silence add" in shown) is not resolved, (channel, name)
        # since when, with the zone's offset
        assert ("(+00:00)" if lang == "en" else "(+08:00)") in shown, (channel, name)
        if resolved:
            assert "CRITICAL" not in shown and "严重" not in shown, (channel, name)


@pytest.mark.slow  # a subprocess importing the whole CLI
def test_docs_messages_is_what_the_command_prints() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "worker.cli", "notify", "examples"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=True,
        cwd=ROOT,
    ).stdout
    if UPDATE:
        DOC.write_text(out, encoding="utf-8")
    assert out == examples.document()
    assert DOC.read_text(encoding="utf-8") == out, (
        "docs/messages.md drifted: nodewatch notify examples > docs/messages.md"
    )
