"""Names the config refers to are checked at load: rules (against the rule registry) in inhibit rules and route
matchers, receivers and node groups in routes. An unknown one fails the load naming the file and the key,
instead of an inhibit rule or a route that silently never applies."""

from __future__ import annotations

from typing import Any

import pytest

from worker import settings
from worker.model import policies

HOOK = {"kind": "webhook", "name": "hook", "url": "https://hooks.example.com/x"}


def parse(raw: dict[str, Any]) -> settings.Settings:
    return settings.parse(raw, "x.yaml", env={})


@pytest.mark.parametrize(
    ("raw", "said"),
    [
        (
            {"noise": {"inhibit": [{"sourceRules": ["node_not_redy"], "targetRules": ["cpu_usage"]}]}},
            "x.yaml: key 'noise.inhibit.0.sourceRules.0': unknown rule 'node_not_redy' "
            "(did you mean node_not_ready",
        ),
        (
            {"noise": {"inhibit": [{"sourceRules": ["node_not_ready"], "targetRules": ["cpu", "disk_usage"]}]}},
            "x.yaml: key 'noise.inhibit.0.targetRules.0': unknown rule 'cpu' (",
        ),
        (
            {"noise": {"inhibit": [{"sourceRules": [], "targetRules": ["cpu_usage"]}]}},
            "x.yaml: key 'noise.inhibit.0.sourceRules': List should have at least 1 item",
        ),
        (
            {"receivers": [HOOK], "route": {"receiver": "hook", "routes": [{"rules": ["gpu_*"], "receiver": "hook"}]}},
            "x.yaml: key 'route.routes.0.rules.0': rule pattern 'gpu_*' matches no rule (known: cpu_usage, ",
        ),
        (
            {"receivers": [HOOK], "route": {"routes": [{"routes": [{"rules": ["disk_nodfs"], "receiver": "hook"}]}]}},
            "x.yaml: key 'route.routes.0.routes.0.rules.0': unknown rule 'disk_nodfs' (did you mean disk_nodefs",
        ),
        (
            {"receivers": [HOOK], "route": {"receiver": "hook", "routes": [{"nodeGroups": ["gpu"], "receiver": "hook"}]}},
            "x.yaml: route.routes.0.nodeGroups.0: unknown node group 'gpu' (nodeGroups: none)",
        ),
        (
            {"receivers": [HOOK], "route": {"routes": [{"severities": ["critical"], "receiver": "pager"}]}},
            "x.yaml: route.routes.0: unknown receiver 'pager' (configured: hook)",
        ),
    ],
)  # fmt: skip
def test_an_unknown_name_fails_the_load_naming_file_and_key(raw: dict[str, Any], said: str) -> None:
    with pytest.raises(settings.ConfigError) as err:
        parse(raw)
    assert str(err.value).startswith(said), str(err.value)


def test_known_names_load() -> None:
    cfg = parse(
        {
            "receivers": [HOOK],
            "nodeGroups": [{"name": "gpu", "matchLabels": {"pool": "gpu"}}],
            "route": {
                "receiver": "hook",
                "routes": [
                    {"rules": ["disk_*", "cluster_?nreachable", "node_not_ready"], "receiver": "hook"},
                    {"nodeGroups": ["gpu"], "receiver": "hook"},
                ],
            },
            "noise": {"inhibit": [{"sourceRules": ["node_unknown"], "targetRules": ["taint"], "equal": "cluster"}]},
        }
    )  # fmt: skip
    assert cfg.noise.inhibit_rules() == (policies.InhibitRule(("node_unknown",), ("taint",), "cluster"),)
    assert parse({}).noise.inhibit_rules() == policies.DEFAULT_INHIBIT
