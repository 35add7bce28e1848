"""Fault: a kubeconfig that names the hub's own token file and an attacker's server. The token never leaves.

Real parts only: a kubesim "hub" holding a kubeconfig Secret, a clusters-dir file, a real Redis, a real
`nodewatch worker` and `beat`, and a small local HTTP server playing the attacker's "API server" that records
every Authorization header it gets. The hub's service-account token is simulated by a temporary file (ending in a
newline, as the one that leaked through an "Invalid header value" traceback did).

Both refused clusters are disabled with their reason (scan record, `cluster list`, `cluster test`), and nothing
— the recording server, the processes' output, Redis — ever holds the token. A positive control keeps the test
honest: a config-file cluster allowed to read its own token file does reach the recorder with that token.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml

from kubesim.testing import KubesimProcess
from tests.conftest import NODEWATCH, ROOT, Proc, start_worker, stop_all
from tests.faults.recording_server import RecordingServer
from tests.polling import status, wait

pytestmark = pytest.mark.slow

HUB, NS = "sim-1", "nodewatch"
LABEL = {"nodewatch.io/cluster": "true"}
HUB_TOKEN = "hub-sa-token-eyJhbGciOiJSUzI1NiJ9.c2VjcmV0"  # what /var/run/secrets/.../token would hold
OWN_TOKEN = "own-token-allowed-7c1d"


@pytest.fixture()
def recorder() -> Iterator[RecordingServer]:
    with RecordingServer() as srv:  # answers 404 to everything: it only has to listen
        yield srv


def kubeconfig_text(server: str, token_file: Path) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "c", "cluster": {"server": server}}],
            "users": [{"name": "hub-sa", "user": {"tokenFile": str(token_file)}}],
            "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "hub-sa"}}],
            "current-context": "ctx",
        }
    )


def redis_text(r: redis.Redis) -> str:
    """Every key and value of the database (broker queues included), as text."""
    out = []
    for key in r.scan_iter(count=1000):
        kind = r.type(key)
        value: Any = ""
        if kind == "string":
            value = r.get(key)
        elif kind == "hash":
            value = r.hgetall(key)
        elif kind == "list":
            value = r.lrange(key, 0, -1)
        elif kind in ("set", "zset"):
            value = sorted(r.smembers(key)) if kind == "set" else r.zrange(key, 0, -1)  # type: ignore[arg-type]
        elif kind == "stream":
            value = r.xrange(key)
        out.append(f"{key} {json.dumps(value, default=str)}")
    return "\n".join(out)


def nodewatch(config: Path, redis_url: str, *args: str) -> tuple[int, str]:
    env = dict(os.environ, REDIS_URL=redis_url)
    env.pop("NODEWATCH_CLUSTERS_DIR", None)
    proc = subprocess.run(
        [NODEWATCH, *args, "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=ROOT,
    )
    return proc.returncode, proc.stdout + proc.stderr


def test_a_kubeconfig_naming_the_hub_token_file_is_refused_and_the_token_never_sent(
    kubesim_factory: Callable[..., KubesimProcess],
    recorder: RecordingServer,
    write_config: Callable[..., Path],
    nodewatch_proc: Callable[..., Proc],
    redis_client: redis.Redis,
    redis_url: str,
    tmp_path: Path,
) -> None:
    sim = kubesim_factory(clusters=1, nodes=1, pods_per_node=0)
    hub_token = tmp_path / "serviceaccount-token"
    hub_token.write_text(HUB_TOKEN + "\n")
    own_token = tmp_path / "own-token"
    own_token.write_text(OWN_TOKEN + "\n")
    # the attacker's kubeconfigs: a Secret on the hub, a file in the clusters directory
    sim.control.put_secret(HUB, NS, "nodewatch-cluster-evil-secret",
                           {"kubeconfig": kubeconfig_text(f"{recorder.url}/evil-secret", hub_token)}, LABEL)  # fmt: skip
    clusters_dir = tmp_path / "clusters"
    clusters_dir.mkdir()
    (clusters_dir / "evil-dir.yaml").write_text(kubeconfig_text(f"{recorder.url}/evil-dir", hub_token))
    # the operator's own: listed in the config file, allowed to read its token file
    (tmp_path / "own.yaml").write_text(kubeconfig_text(f"{recorder.url}/own", own_token))
    cfg = write_config(
        {
            "checkInterval": 1,
            "dispatchTick": 0.5,
            "collect": {"requestTimeout": 2},
            "hub": {"kubeconfig": str(sim.kubeconfigs[HUB]), "namespace": NS},
            "clustersDir": str(clusters_dir),
            "clusters": [{"name": "own", "kubeconfig": str(tmp_path / "own.yaml")}],
            "allowLocalCredentialFiles": True,  # applies to `clusters:` only, never to Secrets or the directory
        }
    )
    worker = start_worker(nodewatch_proc, cfg, concurrency=1)
    beat = nodewatch_proc("beat", config=cfg)

    def scanned(name: str) -> Callable[[], dict[str, str] | None]:
        return lambda: st if (st := status(redis_client, name)).get("outcome") else None

    for name in ("evil-secret", "evil-dir"):
        st = wait(scanned(name), 40, f"{name} scanned")
        assert st["outcome"] == "config_error", st
        assert st["error"].startswith(f"cluster {name}: kubeconfig user 'hub-sa' sets tokenFile"), st
    # positive control: the recorder does see a token the config file allowed
    wait(lambda: f"Bearer {OWN_TOKEN}" in recorder.authorization_headers(), 40, "own cluster's request")
    wait(lambda: int(status(redis_client, "evil-secret").get("scans", 0)) >= 2, 20, "a second refused scan")

    code, listed = nodewatch(cfg, redis_url, "cluster", "list")
    assert code == 0, listed
    for name in ("evil-secret", "evil-dir"):
        row = next(line for line in listed.splitlines() if line.startswith(f"{name} "))
        assert "config_error" in row, row
        # the reason is printed under the table, with when it was last seen
        why = next(line for line in listed.splitlines() if line.startswith(f"{name}: last error"))
        assert f": cluster {name}: kubeconfig user 'hub-sa' sets tokenFile" in why and "refused" in why, why
    code, tested = nodewatch(cfg, redis_url, "cluster", "test", "evil-secret")
    assert code == 2 and "FAIL  kubeconfig: kubeconfig user 'hub-sa' sets tokenFile" in tested, tested
    code, tested_dir = nodewatch(cfg, redis_url, "cluster", "test", "evil-dir")
    assert code == 2 and "FAIL  kubeconfig" in tested_dir, tested_dir

    assert not [r.path for r in recorder.requests if r.path.startswith("/evil")], (
        "a refused cluster was contacted"
    )
    assert not [h for h in recorder.authorization_headers() if HUB_TOKEN in h]
    stop_all((worker, beat))
    for text in (worker.output(), beat.output(), listed, tested, tested_dir, redis_text(redis_client)):
        assert HUB_TOKEN not in text
