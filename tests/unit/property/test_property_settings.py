"""Property: a config file, whatever it holds, loads or fails with one ``ConfigError`` line that names the file and
the key — never a traceback, never a webhook URL, secret or token from the file."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers_property import PROPERTY, json_values, mutated
from hypothesis import given
from hypothesis import strategies as st

from worker import settings

SOURCE = "<prop>"
secrets = st.text(min_size=6, max_size=30).map(lambda s: f"S3CR3T-{s}")

# every section of the config, valid, to be mutated: one real file of each kind of key
FULL: dict[str, Any] = {
    "checkInterval": 60,
    "logLevel": "info",
    "alertCooldown": 15,
    "language": "en",
    "logFormat": "json",
    "scanFailuresBeforeAlert": 3,
    "dispatchTick": 5,
    "thresholds": {"cpuWarning": 70, "cpuCritical": 90, "notReadyFor": 150, "requiredLabels": ["team"]},
    "thresholdProfiles": {"batch": {"cpuCritical": 98}},
    "slack": {"webhookURL": "https://hooks.slack.com/services/A/B/C"},
    "dingtalk": {"webhookURL": "https://oapi.dingtalk.com/robot/send?access_token=T", "secret": "SEC"},
    "receivers": [
        {
            "kind": "webhook",
            "name": "hook",
            "url": "https://hooks.example.com/x",
            "secret": "S",
            "headers": {"A": "b"},
        },
        {"kind": "wecom", "name": "wc", "url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K"},
        {
            "kind": "apprise",
            "name": "ap",
            "url": "tgram://bot/chat",
            "template": {"title": "{{ node }} {{ rule }}"},
        },
    ],
    "route": {
        "receivers": ["slack"],
        "routes": [{"rules": ["cpu_*"], "receiver": "hook", "repeatInterval": "4h"}],
    },
    "clusters": [
        {
            "name": "prod",
            "kubeconfig": "/etc/kube/prod",
            "interval": 30,
            "scanBudget": 20,
            "labels": {"env": "prod"},
            "thresholdProfile": "batch",
            "maintenance": [{"days": ["sat"], "start": "02:00", "minutes": 120, "timezone": "Asia/Shanghai"}],
        }
    ],
    "nodeGroups": [{"name": "gpu", "matchLabels": {"gpu": "true"}, "thresholds": {"memoryWarning": 85}}],
    "collect": {"pageSize": 500, "requestTimeout": 10, "maxResponseMiB": 64, "diskStats": True},
    "notify": {
        "sendResolved": True,
        "allowedHosts": ["hooks.slack.com", "*.dingtalk.com", "hooks.example.com", "qyapi.weixin.qq.com"],
    },
    "noise": {
        "flapWindow": 1800,
        "inhibit": [{"sourceRules": ["node_not_ready"], "targetRules": ["cpu_usage"]}],
    },
    "hub": {"secrets": False, "namespace": "nodewatch"},
}
TOP_KEYS = sorted(FULL) + [
    "clustersDir",
    "allowExecPlugins",
    "allowLocalCredentialFiles",
    "wecom",
]
configs = (
    mutated(FULL, max_changes=4)
    | st.dictionaries(st.sampled_from(TOP_KEYS) | st.text(max_size=8), json_values, max_size=6)
    # one secret-bearing key given a planted secret of the wrong shape
    | st.builds(
        lambda base, where, value: _planted(base, where, value),
        st.just(FULL),
        st.sampled_from(["slack.webhookURL", "dingtalk.secret", "receivers.0.url", "receivers.0.secret"]),
        secrets
        | secrets.map(lambda s: [s])
        | secrets.map(lambda s: {"x": s})
        | secrets.map(lambda s: "ftp://" + s),
    )
)


def _planted(base: dict[str, Any], where: str, value: object) -> dict[str, Any]:
    out = copy.deepcopy(base)
    *parents, last = where.split(".")
    node: Any = out
    for step in parents:
        node = node[int(step)] if step.isdigit() else node[step]
    node[last] = value
    return out


def _strings(doc: object) -> list[str]:
    if isinstance(doc, dict):
        return [s for v in doc.values() for s in _strings(v)]
    if isinstance(doc, list):
        return [s for v in doc for s in _strings(v)]
    return [doc] if isinstance(doc, str) else []


# pydantic's errors are "key 'a.b': ..." or "unknown key 'a.b'"; the cross-field checks name their key in the
# message itself ("receivers.0.url (receiver hook): ...", "clusters: duplicate name(s) ...")
_TOP = "|".join(TOP_KEYS)
NAMES_A_KEY = re.compile(
    rf"^<prop>: (unknown key '|key '|the top level must be|({_TOP})(\.[A-Za-z0-9_]+)*[ :])"
)


def test_the_full_config_the_properties_mutate_is_valid() -> None:
    settings.parse(FULL, SOURCE, env={})


def test_an_empty_key_is_named_as_one() -> None:
    # was "<prop>: Extra inputs are not permitted": an empty key read as a cross-field message
    with pytest.raises(settings.ConfigError, match=r"^<prop>: unknown key ''$"):
        settings.parse({"": 1}, SOURCE, env={})


@PROPERTY
@given(raw=configs)
def test_a_config_loads_or_fails_with_one_line_naming_the_key_and_no_secret(raw: dict[str, Any]) -> None:
    try:
        settings.parse(raw, SOURCE, env={})
    except settings.ConfigError as err:
        message = str(err)
        assert "Traceback" not in message
        for part in message.split("; "):
            assert NAMES_A_KEY.match(part), part
        for s in _strings(raw):
            if s.startswith("S3CR3T-"):
                assert s not in message, "a secret was repeated"


@PROPERTY
@given(
    text=st.text(max_size=120)
    | st.builds(lambda d: yaml.safe_dump(d), st.dictionaries(st.text(max_size=5), json_values, max_size=4))
    # what PyYAML itself raises bare on (ValueError, RecursionError), and a tag it must refuse
    | st.sampled_from(
        ["checkInterval: 2001-13-01\n", "[" * 5000, "a: 2024-02-30 25:00:00", "- !!python/name:os.system"]
    )
)
def test_a_config_file_of_any_text_loads_or_fails_with_config_error(
    text: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = Path(tmp_path_factory.getbasetemp()) / "config.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        settings.load(path, env={})
    except settings.ConfigError as err:
        assert str(err).startswith(str(path))


@pytest.mark.parametrize(
    ("template", "said"),
    [
        ("{{ 1/0 }}", "division by zero"),
        ("{{ cluster + 1 }}", "can only concatenate"),
        ("{{ range(10**9)|list }}", "Range too big"),
        ("{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}", "recursion"),
        ("{{ '%d'|format('x') }}", "format"),
    ],
)
def test_a_receiver_template_that_fails_to_render_is_a_config_error_naming_it(
    template: str, said: str
) -> None:
    # was: ZeroDivisionError, TypeError, OverflowError, RecursionError out of settings.parse (a traceback at start)
    raw = {
        "receivers": [
            {"kind": "webhook", "name": "w", "url": "https://x.example/h", "template": {"title": template}}
        ]
    }
    with pytest.raises(
        settings.ConfigError, match=r"^<prop>: receivers\.0\.template \(w\): rendering a sample"
    ) as info:
        settings.parse(raw, SOURCE, env={})
    assert said in str(info.value)


def test_a_file_key_with_a_nul_byte_names_the_key() -> None:
    raw = {"receivers": [{"kind": "webhook", "name": "w", "urlFile": "/run/secrets/\x00hook"}]}
    with pytest.raises(settings.ConfigError, match=r"^<prop>: receivers\.0\.urlFile \(receiver w\): "):
        settings.parse(raw, SOURCE, env={})
