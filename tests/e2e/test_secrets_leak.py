"""No credential leaks anywhere a person can look: logs, Flower, Redis (broker and state), `cluster list`, the
dashboard's pages.

A run with everything that handles secrets: a kubeconfig Secret read from a kubesim hub, a cluster answering 401,
an exec-plugin kubeconfig carrying a token in its arguments (refused), a cluster removed (forget task), and
notifications through Slack, DingTalk (signed) and WeCom. Then every log line of the worker, beat and Flower
processes, every task's arguments as Flower's API shows them, every value in the Redis database (broker queues
included), the output of `nodewatch cluster list` and the dashboard's pages (fleet, cluster, node, alerts, the
live fragments, sign-in) are searched for each secret, raw and as the base64 the
Kubernetes API sent.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
import yaml

from chatsim.testing import ChatSim
from kubesim.testing import KubesimProcess
from tests.configs import immediate
from tests.conftest import NODEWATCH, Proc, start_worker, stop_all

pytestmark = pytest.mark.slow

HUB, NS = "sim-1", "nodewatch"
LABEL = {"nodewatch.io/cluster": "true"}
SLACK_TOKEN = "leakSlackToken7f3a9c"
DING_TOKEN, DING_SECRET = "leakDingToken41be07", "SECleak0123456789abcdef"
WECOM_KEY = "leak-wecom-key-90d2e4"
EXEC_TOKEN = "leak-exec-arg-token-5c8e1b"
FLOWER_AUTH = "ops:leak-flower-pass-77"
DASHBOARD_TOKEN = "leak-dashboard-token-3e9a51"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def token_of(path: Path) -> str:
    return str(yaml.safe_load(path.read_text())["users"][0]["user"]["token"])


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def redis_dump(r: redis.Redis) -> str:
    """Every value in the database, whatever its type (broker queues, unacked messages, state, streams)."""
    out = []
    for key in r.scan_iter(count=1000):
        kind = r.type(key)
        if kind == "string":
            out.append(str(r.get(key)))
        elif kind == "hash":
            out.append(json.dumps(r.hgetall(key)))
        elif kind == "list":
            out.append(json.dumps(r.lrange(key, 0, -1)))
        elif kind == "set":
            out.append(json.dumps(sorted(r.smembers(key))))  # type: ignore[arg-type]
        elif kind == "zset":
            out.append(json.dumps(r.zrange(key, 0, -1)))
        elif kind == "stream":
            out.append(json.dumps(r.xrange(key)))
        out.append(str(key))
    text = "\n".join(out)
    # Celery message bodies are base64 JSON: decode them too, so task arguments are searched in clear
    decoded = []
    for chunk in text.replace('"', " ").replace("\\", " ").split():
        if len(chunk) > 40 and chunk.endswith("="):
            try:
                decoded.append(base64.b64decode(chunk).decode("utf-8", "replace"))
            except ValueError:
                continue
    return text + "\n" + "\n".join(decoded)


@pytest.fixture()
def chat() -> Iterator[ChatSim]:
    with ChatSim() as c:
        c.register_dingtalk(DING_TOKEN, DING_SECRET)
        yield c


def test_no_credential_in_logs_flower_redis_or_cluster_list(
    kubesim_factory: Callable[..., KubesimProcess],
    chat: ChatSim,
    write_config: Callable[..., Path],
    nodewatch_proc: Callable[..., Proc],
    redis_client: redis.Redis,
    redis_url: str,
    tmp_path: Path,
) -> None:
    sim = kubesim_factory(clusters=3, nodes=2, pods_per_node=1)
    for c in ("sim-2", "sim-3"):
        for i in (1, 2):
            sim.control.set_node(c, f"{c}-pool-{i}", cpu=0.2, memory=0.2, ready="True")
    kc = {c: sim.kubeconfigs[c].read_text() for c in ("sim-1", "sim-2", "sim-3")}
    exec_doc = yaml.safe_load(kc["sim-2"])
    exec_doc["users"][0]["user"] = {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1",
                                             "command": "get-token", "args": ["--token", EXEC_TOKEN]}}  # fmt: skip
    kc_exec = yaml.safe_dump(exec_doc)
    for name, text in (("two", kc["sim-2"]), ("three", kc["sim-3"]), ("eks", kc_exec)):
        sim.control.put_secret(HUB, NS, f"nodewatch-cluster-{name}", {"kubeconfig": text}, LABEL)
    sim.control.fault("sim-3", "unauthorized")
    cfg = write_config(
        immediate(
            {
                "checkInterval": 1,
                "dispatchTick": 0.5,
                "alertCooldown": 60,
                "logLevel": "debug",
                "language": "en",
                "scanFailuresBeforeAlert": 2,
                "hub": {"kubeconfig": str(sim.kubeconfigs[HUB]), "namespace": NS},
                "notify": {"minRetryDelay": 0.5, "maxRetryDelay": 2},
                "slack": {"webhookURL": chat.slack_url(SLACK_TOKEN)},
                "dingtalk": {"webhookURL": chat.dingtalk_url(DING_TOKEN), "secret": DING_SECRET},
                "wecom": {"webhookURL": chat.wecom_url(WECOM_KEY)},
            }
        )
    )
    port = free_port()
    flower = nodewatch_proc("flower", "--port", str(port), "--basic-auth", FLOWER_AUTH, config=cfg)
    flower_url = f"http://127.0.0.1:{port}"
    worker = start_worker(nodewatch_proc, cfg)  # while Flower starts
    beat = nodewatch_proc("beat", config=cfg)
    deadline = time.time() + 60
    while True:  # Flower is up when its API answers (with auth)
        try:
            if requests.get(f"{flower_url}/api/workers", auth=tuple(FLOWER_AUTH.split(":")), timeout=2).ok:  # type: ignore[arg-type]
                break
        except requests.ConnectionError:
            pass
        assert time.time() < deadline, flower.output()[-3000:]
        time.sleep(0.2)
    assert requests.get(f"{flower_url}/api/tasks", timeout=5).status_code == 401  # basic auth required

    sim.control.set_node("sim-2", "sim-2-pool-1", cpu=0.97)

    def on_every_channel(*words: str) -> None:
        deadline = time.time() + 60
        while True:
            hits = {m["channel"] for m in chat.messages() if all(w in json.dumps(m["body"]) for w in words)}
            if hits >= {"slack", "dingtalk", "wecom"}:
                return
            bodies = [json.dumps(m["body"])[:300] for m in chat.messages()]
            assert time.time() < deadline, f"{words} reached only {hits}; got: {bodies}"
            time.sleep(0.2)

    on_every_channel("sim-2-pool-1")  # the cpu alert, sent with each webhook's token
    on_every_channel("three", "redentials")  # 401: credentials rejected
    sim.control.delete_secret(HUB, NS, "nodewatch-cluster-two")
    on_every_channel("sim-2-pool-1", "cluster removed")  # closed by tasks.forget_cluster

    auth = tuple(FLOWER_AUTH.split(":"))
    tasks: dict[str, Any] = {}
    deadline = time.time() + 30
    wanted = {"tasks.dispatch", "tasks.scan_cluster", "tasks.notify", "tasks.forget_cluster"}
    while not wanted <= {t.get("name") for t in tasks.values()}:
        assert time.time() < deadline, sorted({str(t.get("name")) for t in tasks.values()})
        tasks = requests.get(f"{flower_url}/api/tasks", auth=auth, timeout=10).json()  # type: ignore[arg-type]
        time.sleep(0.5)
    flower_text = json.dumps(tasks)
    # task arguments read well: cluster names and ids, nothing else
    scan_args = {t["args"] for t in tasks.values() if t.get("name") == "tasks.scan_cluster"}
    assert any("'two'" in a for a in scan_args) and any("'eks'" in a for a in scan_args)
    forget_args = {t["args"] for t in tasks.values() if t.get("name") == "tasks.forget_cluster"}
    assert forget_args == {"['two']"}
    for page in ("/tasks", "/workers", "/broker"):
        flower_text += requests.get(f"{flower_url}{page}", auth=auth, timeout=10).text  # type: ignore[arg-type]

    env = dict(os.environ, REDIS_URL=redis_url, NODEWATCH_CONFIG=str(cfg))
    listing = ""
    for argv in (["cluster", "list"], ["cluster", "list", "--output", "json"], ["cluster", "test", "three"],
                 ["cluster", "test", "eks"]):  # fmt: skip
        done = subprocess.run(
            [NODEWATCH, *argv], env=env, capture_output=True, text=True, timeout=60, check=False
        )
        listing += done.stdout + done.stderr
    assert "credentials_rejected" in listing and "exec plugin" in listing and "three" in listing

    dash = nodewatch_proc("dashboard", "--port", "0", config=cfg, ready="dashboard ready",
                          env={"NODEWATCH_DASHBOARD_TOKEN": DASHBOARD_TOKEN})  # fmt: skip
    dash_url = dash.wait_for_line("dashboard ready").split("url=", 1)[1].removesuffix("/fleet")
    bearer = {"Authorization": f"Bearer {DASHBOARD_TOKEN}"}
    pages = ""
    for path in ("/fleet", "/fleet?lang=zh", "/alerts", "/alerts?fragment=1", "/cluster/sim-1", "/cluster/three",
                 "/cluster/eks", "/cluster/sim-1/node/sim-1-pool-1", "/login"):  # fmt: skip
        got = requests.get(f"{dash_url}{path}", headers=bearer, timeout=30)
        assert got.status_code in (200, 404), (path, got.status_code)
        pages += got.text
    assert "three" in pages and "credentials" in pages  # the pages we search show the failing cluster

    stop_all((worker, beat, flower, dash))
    logs = "\n".join(p.output() for p in (worker, beat, flower))
    assert "scan done" in logs and "cluster removed" in logs  # the logs we search are the real ones
    state = redis_dump(redis_client)

    secrets = {
        "hub token": token_of(sim.kubeconfigs["sim-1"]),
        "kubeconfig token two": token_of(sim.kubeconfigs["sim-2"]),
        "kubeconfig token three": token_of(sim.kubeconfigs["sim-3"]),
        "exec plugin argument": EXEC_TOKEN,
        "kubeconfig as the API sent it": b64(kc["sim-2"]),
        "exec kubeconfig as the API sent it": b64(kc_exec),
        "slack token": SLACK_TOKEN,
        "dingtalk token": DING_TOKEN,
        "dingtalk secret": DING_SECRET,
        "wecom key": WECOM_KEY,
        "flower password": FLOWER_AUTH.split(":")[1],
        "dashboard token": DASHBOARD_TOKEN,
    }
    places = {"logs": logs, "flower": flower_text, "redis": state, "cluster list/test": listing,
              "dashboard pages": pages}  # fmt: skip
    leaks = [(what, where) for what, s in secrets.items() for where, text in places.items() if s in text]
    assert leaks == []
    assert len(logs.splitlines()) > 50 and len(flower_text) > 1000 and len(state) > 1000
