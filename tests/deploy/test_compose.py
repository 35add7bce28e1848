"""docker-compose.yml: valid against the Compose specification's schema (check-jsonschema's copy), and the
properties the deploy issue asks for; the example config and .env.example are usable as they ship."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.deploy.conftest import ROOT
from worker import settings

CHECK = Path(sys.executable).parent / "check-jsonschema"
COMPOSE = ROOT / "docker-compose.yml"


def compose() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return doc


def check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CHECK), "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_compose_file_validates_against_the_compose_schema() -> None:
    proc = check(COMPOSE)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_schema_check_bites(tmp_path: Path) -> None:
    doc = compose()
    doc["services"]["worker"]["restart_policy"] = "always"  # not a service key (deploy.restart_policy is)
    bad = tmp_path / "compose.yml"
    bad.write_text(yaml.safe_dump(doc))
    proc = check(bad)
    assert proc.returncode != 0 and "restart_policy" in proc.stdout + proc.stderr


def test_redis_keeps_its_state_and_never_evicts() -> None:
    redis = compose()["services"]["redis"]
    args = " ".join(redis["command"])
    assert "--appendonly yes" in args and "--maxmemory-policy noeviction" in args
    assert [v for v in redis["volumes"] if v.split(":")[1] == "/data" and "/" not in v.split(":")[0]], (
        "Redis /data is not a named volume"
    )
    assert "redis-data" in compose()["volumes"]


def test_nodewatch_services_are_locked_down_and_flower_has_no_default_password() -> None:
    services = compose()["services"]
    for name in ("beat", "worker", "flower", "dashboard"):
        s = services[name]
        assert s["read_only"] is True and s["cap_drop"] == ["ALL"], name
        assert not s["image"].endswith(":latest") and ":" in s["image"], name
        assert s["user"] != "root" and not s["user"].startswith("0"), name
        assert s["command"][0] == "nodewatch", name
    auth = services["flower"]["environment"]["FLOWER_BASIC_AUTH"]
    assert re.fullmatch(r"\$\{FLOWER_BASIC_AUTH:\?[^}]+\}", auth), f"Flower's password has a default: {auth}"
    assert services["dashboard"]["command"][:2] == ["nodewatch", "dashboard"]
    assert services["worker"]["healthcheck"]["test"][1:4] == ["nodewatch", "health", "--worker"]
    assert services["worker"]["deploy"]["replicas"] >= 2
    assert services["beat"].get("deploy", {}).get("replicas", 1) == 1


def test_the_demo_profile_brings_the_simulators() -> None:
    services = compose()["services"]
    assert services["kubesim"]["profiles"] == ["demo"] and services["chatsim"]["profiles"] == ["demo"]
    assert not [
        n
        for n, s in services.items()
        if "sim" in str(s.get("image", "")) and "demo" not in s.get("profiles", [])
    ]
    demo_env = dict(
        line.split("=", 1) for line in (ROOT / "deploy/compose/demo.env").read_text().splitlines()
        if line and not line.startswith("#")
    )  # fmt: skip
    demo = settings.load(ROOT / demo_env["NODEWATCH_CONFIG_DIR"] / "config.yaml", env={})
    assert demo.clusters_dir == "/etc/nodewatch/clusters" and len(demo.receivers_) == 2


def test_example_config_and_env_ship_and_load() -> None:
    cfg = settings.load(ROOT / "config" / "config.example.yaml", env={})
    assert cfg.clusters_dir == "/etc/nodewatch/clusters"
    example = (ROOT / ".env.example").read_text()
    names = {line.split("=", 1)[0] for line in example.splitlines() if re.match(r"^[A-Z_]+=", line)}
    assert {"FLOWER_BASIC_AUTH", "SLACK_WEBHOOK_URL", "NODEWATCH_UID", "NODEWATCH_GID"} <= names
    assert re.search(r"^FLOWER_BASIC_AUTH=$", example, re.M), ".env.example ships a Flower password"
    used = set(re.findall(r"\$\{([A-Z_]+)", COMPOSE.read_text()))
    documented = names | set(re.findall(r"^# ([A-Z_]+)=", example, re.M))
    assert used <= documented, f"compose variables missing from .env.example: {used - documented}"
