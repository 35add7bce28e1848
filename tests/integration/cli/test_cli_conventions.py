"""What every ``nodewatch`` command shares, through the real command: ``--version``, ``-o table|wide|json|yaml``, one
duration grammar, and failures said in one line (``--debug`` for the traceback)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import NODEWATCH, ROOT
from worker import cli, localredis
from worker.cli import config as config_verbs


def nodewatch(*argv: str, redis_url: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("NODEWATCH_CONFIG", None)
    env["REDIS_URL"] = redis_url or f"redis://127.0.0.1:{localredis.free_port()}/0"  # none: nothing listens
    return subprocess.run([NODEWATCH, *argv], env=env, capture_output=True, text=True, timeout=90, cwd=ROOT)


def test_version_from_the_package_metadata() -> None:
    want = f"nodewatch {metadata.version('nodewatch')}"
    for argv in (["--version"], ["version"]):
        out = nodewatch(*argv)
        assert out.returncode == 0 and out.stdout.strip() == want, out


def test_lists_in_table_json_and_yaml(redis_url: str, write_config: Callable[..., Path]) -> None:
    cfg = str(write_config({"clusters": [{"name": "prod", "kubeconfig": "/nonexistent/prod.yaml"}]}))
    added = nodewatch("silence", "add", "--config", cfg, "--node", "web-*", "--duration", "1h30m",
                      "--author", "me", "--comment", "load test", redis_url=redis_url)  # fmt: skip
    assert added.returncode == 0, added.stderr
    sid = added.stdout.split()[0]

    table = nodewatch("silence", "list", "--config", cfg, redis_url=redis_url)
    assert table.stdout.splitlines()[0].split() == ["ID", "UNTIL", "MATCHERS", "BY", "COMMENT"]
    assert sid in table.stdout and "1 active silence(s)" in table.stdout
    as_json = json.loads(
        nodewatch("silence", "list", "--config", cfg, "-o", "json", redis_url=redis_url).stdout
    )
    as_yaml = yaml.safe_load(
        nodewatch("silence", "list", "--config", cfg, "--output", "yaml", redis_url=redis_url).stdout
    )
    assert as_json == as_yaml
    (silence,) = as_json["silences"]
    assert silence["id"] == sid and silence["node"] == "web-*" and silence["ends"] - silence["starts"] == 5400

    docs: dict[str, Any] = {}
    # (alerts and dead letters of a Redis that holds nothing of nodewatch are exit 3: test_cli_oncall.py)
    for argv in (
        ["silence", "list"],
        ["cluster", "list"],
        ["config", "check"],
    ):
        out = nodewatch(*argv, "--config", cfg, "-o", "yaml", redis_url=redis_url)
        assert out.returncode == 0, (argv, out.stderr)
        docs[" ".join(argv)] = yaml.safe_load(out.stdout)
    assert docs["silence list"] == as_json
    assert [c["name"] for c in docs["cluster list"]["clusters"]] == ["prod"]
    assert docs["config check"]["ok"] is True and docs["config check"]["clusters_in_file"] == 1


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (
            ["silence", "add", "--node", "x", "--author", "me", "--comment", "c", "--duration", "2"],
            "argument --duration: give a unit: 2s, 2m, 2h",
        ),
        (
            ["silence", "add", "--node", "x", "--author", "me", "--comment", "c", "--duration", "2 hours"],
            "not a duration: '2 hours'",
        ),
        (["cluster", "add", "x", "--kubeconfig", "k.yaml", "--interval", "60"], "give a unit: 60s, 60m, 60h"),
        (["notify", "test", "--timeout", "soon"], "argument --timeout: not a duration"),
        (["alerts", "list", "-o", "xml"], "invalid choice: 'xml'"),
        (["nosuch"], "invalid choice: 'nosuch'"),
        (["silence", "add", "--author", "me", "--comment", "c"], "a silence needs at least one matcher"),
    ],
    ids=["bare-number", "words", "bare-interval", "timeout", "output", "verb", "no-matcher"],
)
def test_usage_errors_exit_2_in_one_line(argv: list[str], said: str) -> None:
    out = nodewatch(*argv)
    assert out.returncode == 2, out
    (line,) = out.stderr.splitlines()
    assert line.startswith("nodewatch") and said in line and out.stdout == ""


def test_debug_adds_the_traceback_to_the_one_line(tmp_path: Path) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_text("clusters: []\n")
    down = f"redis://127.0.0.1:{localredis.free_port()}/0"
    plain = nodewatch("alerts", "list", "--config", str(cfg), redis_url=down)
    debug = nodewatch("alerts", "list", "--config", str(cfg), "--debug", redis_url=down)
    before = nodewatch("--debug", "alerts", "list", "--config", str(cfg), redis_url=down)
    assert plain.returncode == debug.returncode == before.returncode == 3
    (line,) = plain.stderr.splitlines()
    assert line.startswith("nodewatch: cannot use Redis at") and "Traceback" not in plain.stderr
    for out in (debug, before):
        assert out.stderr.startswith("Traceback") and out.stderr.splitlines()[-1] == line


def test_an_unexpected_failure_is_one_line_too(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(args: object) -> int:
        raise RuntimeError("disk on fire\nsecond line")

    monkeypatch.setattr(config_verbs, "cmd_version", broken)
    assert cli.main(["version"]) == 1
    err = capsys.readouterr().err
    assert err == "nodewatch: version: RuntimeError: disk on fire second line (--debug shows the traceback)\n"
    assert cli.main(["version", "--debug"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and 'raise RuntimeError("disk on fire' in err
