"""A 5,000-node, 150,000-pod cluster on real parts: kubesim, real Redis, a real `nodewatch worker` and `beat`.

Not timed (bench/bench_scan.py measures): the scheduled scan of the big cluster runs to completion and writes its
inventory, and a second cluster whose scans run past their budget is alerted as `cluster_scan_slow`, naming what
took too long, instead of going quiet. Waits are polls with deadlines on scan records and received messages.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from chatsim.testing import ChatSim
from kubesim.testing import KubesimProcess
from tests.conftest import Proc, start_worker
from tests.polling import status, wait
from worker.state.store import Stores

pytestmark = pytest.mark.slow

SLACK_TOKEN = "scaleE2eSlackToken00000001"


@pytest.fixture()
def chat() -> Iterator[ChatSim]:
    with ChatSim() as c:
        yield c


def test_a_5000_node_cluster_is_scanned_to_completion_and_a_scan_past_its_budget_alerts(
    kubesim_factory: Callable[..., KubesimProcess],
    chat: ChatSim,
    write_config: Callable[..., Path],
    nodewatch_proc: Callable[..., Proc],
    redis_client: redis.Redis,
) -> None:
    big = kubesim_factory(nodes=5000, pods_per_node=30, start_timeout=120)
    small = kubesim_factory(nodes=3, pods_per_node=2)
    small.control.fault("sim-1", "slow", delay_s=1.0)  # every request of the small cluster takes a second
    cfg = write_config(
        {
            "checkInterval": 60,
            "language": "en",
            "scanFailuresBeforeAlert": 1,
            "clusters": [
                # generous: a loaded CI machine may scan slowly; the figure that matters is in bench/README.md
                {"name": "big", "kubeconfig": str(big.kubeconfigs["sim-1"]), "scanBudget": 240},
                {
                    "name": "slow",
                    "kubeconfig": str(small.kubeconfigs["sim-1"]),
                    "interval": 5,
                    "scanBudget": 2,
                },
            ],
            "slack": {"webhookURL": chat.slack_url(SLACK_TOKEN)},
        }
    )
    start_worker(nodewatch_proc, cfg, concurrency=2)
    nodewatch_proc("beat", config=cfg)

    done = wait(lambda: status(redis_client, "big").get("outcome"), 300, "the 5,000-node scan recorded")
    record = status(redis_client, "big")
    assert done in ("ok", "slow"), record
    assert record["nodes"] == "5000"
    stores = Stores(redis_client)
    assert len(stores.inventory.load("big")[0] or {}) == 5000  # every node in the inventory
    last = stores.schedule.scan_history("big")[0]
    assert last["requests"] < 5000 / 10  # one paged list per kind, never a request per node

    chat.wait_for(1, "slack", timeout=60)
    texts = [json.dumps(m["body"]) for m in chat.messages("slack")]
    slow = [t for t in texts if "scans too slow" in t]
    assert slow and "budget of 2.0s used up" in slow[0] and " while " in slow[0], texts
    assert status(redis_client, "slow")["outcome"] == "timeout"
