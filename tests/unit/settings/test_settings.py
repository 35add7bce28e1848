"""Config loading: the seed's file unchanged, env overrides, errors that name the key and the file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from worker import settings
from worker.model import policies

SEED = Path(__file__).resolve().parents[2] / "fixtures" / "seed-config.yaml"
NODEWATCH = str(Path(sys.executable).with_name("nodewatch"))


def test_seed_config_loads_unchanged() -> None:
    cfg = settings.load(SEED, env={})
    assert cfg.check_interval == 60
    assert cfg.log_level == "info"
    assert cfg.repeat_interval == 15 * 60
    t = cfg.base_thresholds
    assert (t.cpu_warning, t.cpu_critical, t.memory_warning, t.memory_critical) == (70, 90, 70, 90)
    receivers = cfg.endpoints()
    assert set(receivers) == {"slack", "dingtalk"}
    assert receivers["dingtalk"].receiver.credentials() == ["YOUR_SECRET"]


def test_the_evidence_rule_is_on_by_default_and_the_for_durations_stay_its_upper_bound() -> None:
    seed = settings.load(SEED, env={})
    assert seed.noise.evidence_policy() == policies.EvidencePolicy()
    assert seed.base_thresholds.usage_for == 540  # still read, and still the longest a pending alert waits
    off = settings.parse({"noise": {"evidence": None}}, "x.yaml", env={})
    assert off.noise.evidence_policy() is None
    tuned = settings.parse({"noise": {"evidence": {"scale": 10, "decision": 2}}}, "x.yaml", env={})
    assert tuned.noise.evidence_policy() == policies.EvidencePolicy(10.0, 0.2, 2.0)


def test_defaults_without_a_file() -> None:
    cfg = settings.load(None, env={})
    assert cfg.base_thresholds.cpu_warning == 70
    assert cfg.endpoints() == {}
    assert cfg.language == "zh"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"thresholds": {"cpuWarnin": 80}}, "x.yaml: unknown key 'thresholds.cpuWarnin'"),
        ({"checkInterval": "soon"}, "x.yaml: key 'checkInterval'"),
        ({"slack": {"webhook": "u"}}, "x.yaml: unknown key 'slack.webhook'"),
        ({"metricsPort": "ninety"}, "x.yaml: key 'metricsPort'"),
        ({"metrics": {"nodeSeriez": False}}, "x.yaml: unknown key 'metrics.nodeSeriez'"),
        ({"watchdog": {"heartbeatInterval": "daily"}}, "x.yaml: key 'watchdog.heartbeatInterval'"),
        ({"language": "fr"}, "x.yaml: key 'language'"),
        ({"clusters": [{"name": "Prod EU"}]}, "x.yaml: key 'clusters.0.name'"),
        ({"clusters": [{"name": "a"}, {"name": "a"}]}, "duplicate name"),
        ({"noise": {"evidence": {"decision": 0}}}, "x.yaml: key 'noise.evidence.decision'"),
        ({"noise": {"evidence": {"scael": 5}}}, "x.yaml: unknown key 'noise.evidence.scael'"),
    ],
)
def test_bad_config_names_key_and_file(raw: dict[str, object], expected: str) -> None:
    with pytest.raises(settings.ConfigError) as err:
        settings.parse(raw, "x.yaml", env={})
    assert expected in str(err.value)


def test_env_overrides_secrets_as_in_the_seed_deployment() -> None:
    env = {
        "SLACK_WEBHOOK_URL": "https://hooks.example/services/T1/B1/envtoken",
        "DINGTALK_WEBHOOK_URL": "https://ding.example/robot/send?access_token=envtok",
        "DINGTALK_SECRET": "SECenv",
        "WECOM_WEBHOOK_URL": "https://wecom.example/cgi-bin/webhook/send?key=envkey",
    }
    cfg = settings.load(SEED, env=env)
    r = cfg.endpoints()
    assert r["slack"].url.endswith("envtoken")
    assert r["dingtalk"].receiver.credentials() == ["SECenv"]
    assert r["wecom"].url.endswith("envkey")


def test_secret_files(tmp_path: Path) -> None:
    (tmp_path / "url").write_text("https://ding.example/robot/send?access_token=filetok\n")
    (tmp_path / "sec").write_text("SECfile\n")
    cfg = settings.parse(
        {"dingtalk": {"webhookURLFile": str(tmp_path / "url"), "secretFile": str(tmp_path / "sec")}}, env={}
    )
    assert cfg.endpoints()["dingtalk"].receiver.credentials() == ["SECfile"]


def test_secrets_never_printed() -> None:
    cfg = settings.load(SEED, env={})
    text = repr(cfg) + str(cfg) + cfg.model_dump_json()
    assert "YOUR_SECRET" not in text and "YOUR_TOKEN" not in text


def test_per_cluster_and_node_group_thresholds() -> None:
    cfg = settings.parse(
        {
            "thresholds": {"cpuWarning": 60},
            "clusters": [{"name": "prod", "kubeconfig": "k", "thresholds": {"cpuCritical": 85}}],
            "nodeGroups": [
                {"name": "gpu", "matchLabels": {"pool": "gpu"}, "thresholds": {"memoryWarning": 50}}
            ],
        },
        env={},
    )
    plain = cfg.thresholds_for("prod", {})
    gpu = cfg.thresholds_for("prod", {"pool": "gpu"})
    other = cfg.thresholds_for("dev", {})
    assert (plain.cpu_warning, plain.cpu_critical, plain.memory_warning) == (60, 85, 70)
    assert (gpu.cpu_critical, gpu.memory_warning) == (85, 50)
    assert other.cpu_critical == 90
    assert cfg.node_group_of("prod", {"pool": "gpu"}) == "gpu"


def test_config_check_command_exit_codes(tmp_path: Path) -> None:
    ok = subprocess.run([NODEWATCH, "config", "check", str(SEED)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "config OK" in ok.stdout and "YOUR_SECRET" not in ok.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("checkInterval: 60\nthresholds:\n  cpuWarnig: 70\n")
    res = subprocess.run([NODEWATCH, "config", "check", str(bad)], capture_output=True, text=True)
    assert res.returncode == 2
    assert str(bad) in res.stderr and "thresholds.cpuWarnig" in res.stderr
    # the same check guards every command before anything starts
    res = subprocess.run(
        [NODEWATCH, "worker", "--config", str(bad)], capture_output=True, text=True, timeout=60
    )
    assert res.returncode == 2 and "thresholds.cpuWarnig" in res.stderr


def test_threshold_profiles_by_name_and_unknown_profile_named() -> None:
    cfg = settings.parse(
        {
            "thresholdProfiles": {"batch": {"cpuCritical": 98}, "strict": {"cpuWarning": 50}},
            "clusters": [{"name": "etl", "kubeconfig": "k", "thresholdProfile": "batch"}],
        },
        env={},
    )
    assert cfg.thresholds_for("etl", {}).cpu_critical == 98
    # a Secret cluster names its profile by annotation: the registry hands it in
    assert cfg.thresholds_for("other", {}, "strict").cpu_warning == 50
    assert cfg.thresholds_for("other", {}, "nosuch").cpu_warning == 70
    with pytest.raises(settings.ConfigError, match="clusters.0.thresholdProfile: unknown profile 'bach'"):
        settings.parse({"clusters": [{"name": "etl", "thresholdProfile": "bach"}]}, "x.yaml", env={})


def test_prediction_settings_per_cluster_and_node_group_with_durations(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "thresholds: {predictWarningHorizon: 12h, predictCriticalHorizon: 90m, predictFloor: 70}\n"
        "clusters:\n  - {name: prod, kubeconfig: k, thresholds: {predictMinConfidence: 0.9, predictFor: 900}}\n"
        "nodeGroups:\n  - {name: batch, matchLabels: {pool: batch}, thresholds: {predict: false}}\n"
    )
    cfg = settings.load(path, env={})
    t = cfg.thresholds_for("prod", {})
    assert (t.predict_warning_horizon, t.predict_critical_horizon, t.predict_floor) == (43200, 5400, 70)
    assert (t.predict_min_confidence, t.predict_for, t.predict) == (0.9, 900, True)
    assert cfg.thresholds_for("prod", {"pool": "batch"}).predict is False
    assert cfg.thresholds_for("dev", {}).predict_min_confidence == 0.75
    for bad, key in (
        ("predictWarningHorizon: soon", "predictWarningHorizon"),
        ("predictHorizon: 4h", "predictHorizon"),
    ):
        path.write_text(f"thresholds: {{{bad}}}\n")
        with pytest.raises(settings.ConfigError) as err:
            settings.load(path, env={})
        assert str(path) in str(err.value) and f"thresholds.{key}" in str(err.value)
