"""The replay sends what the worker sends: one scenario through ``nodewatch replay``'s path and through the
worker's, on the same simulated clock, gives the same (receiver, cluster, node, rule, kind) sequence.

The worker's path is what its Celery tasks call: the scan task's ``pipeline.scan_cluster`` (the cluster from the
config with its labels, lock, scan, routing), then for each job the notify task's ``Delivery.one`` with the real
webhook channels to chatsim over HTTP. The config routes critical alerts of clusters labelled ``tier: gold`` to
``pager`` with a 5-minute ``repeatInterval`` and everything to ``ops``; repeats come every scan (a cooldown of
0: its key lives 1 ms, far less than one step of either path), so the cluster labels and the route's repeat
interval both shape what each receiver gets.
"""

from __future__ import annotations

from pathlib import Path

import redis
import requests
import yaml

from chatsim.testing import ChatSim
from kubesim.testing import KubesimProcess
from tests.configs import immediate
from tests.integration.replay.test_replay import SCENARIO
from worker import pipeline, settings
from worker.alerting.deliver import Delivery
from worker.model import Notification
from worker.notify import registry
from worker.notify.channel import Channel
from worker.pipeline import run_scan
from worker.replay import engine, sink
from worker.state.store import Stores


def config(chat: ChatSim, kubeconfig: str) -> settings.Settings:
    return settings.parse(
        immediate(
            {
                "alertCooldown": 0,  # a still-firing alert repeats at every scan (its cooldown key lives 1 ms)
                "language": "en",
                "clusters": [{"name": "rt", "kubeconfig": kubeconfig, "labels": {"tier": "gold"}}],
                "receivers": [
                    {"name": "ops", "kind": "webhook", "url": chat.webhook_url("ops")},
                    {"name": "pager", "kind": "webhook", "url": chat.webhook_url("pager")},
                ],
                "route": {
                    "receiver": "ops",
                    "routes": [
                        {"clusterLabels": {"tier": "gold"}, "severities": ["critical"], "receiver": "pager",
                         "repeatInterval": "5m", "continue": True},
                        {"receiver": "ops"},
                    ],
                },
            }
        ),
        env={},
    )  # fmt: skip


def test_replay_and_worker_send_the_same_messages(tmp_path: Path, redis_client: redis.Redis) -> None:
    path = tmp_path / "replay-test.yaml"
    path.write_text(yaml.safe_dump(SCENARIO))
    scenario = engine.load_scenario(str(path), None)
    stores = Stores(redis_client)
    with ChatSim() as chat:
        # the replay: its own kubesim; the config's cluster "rt" gives the scenario's cluster "rt" its labels
        report = engine.run(config(chat, str(tmp_path / "unused")), scenario, stores, run_scan)
        redis_client.flushdb()

        # the worker: what tasks.scan_cluster and tasks.notify run, the clock simulated as the replay's
        got: list[tuple[str, Notification]] = []

        def channel(receiver: str) -> Channel:
            real = registry.channel(cfg.endpoints()[receiver], session=session, timeout=10.0)

            class Recorded:
                target = real.target

                def send(self, n: Notification) -> None:
                    real.send(n)
                    got.append((receiver, n))

            return Recorded()

        extra = ["--start", scenario.start]
        with (
            KubesimProcess(scenario.path, speed=0, seed=scenario.seed, extra_args=extra) as sim,
            requests.Session() as session,
        ):
            cfg = config(chat, str(sim.kubeconfigs["rt"]))
            clock = sink.Clock()
            delivery = Delivery(stores, cfg, session, clock=clock, channel=channel)
            for _ in range(report.steps):
                clock.now = sim.control.advance(cfg.check_interval)
                for job in pipeline.scan_cluster(stores, cfg, "rt", None, clock=clock):
                    assert delivery.one(job, 0).status == "delivered"
        worker = [(r, n.cluster, n.node, n.rule, n.kind.value) for r, n in got]
        assert len(chat.messages("webhook")) == len(worker)  # each went over HTTP and was accepted

    assert report.messages == worker
    by = {r: [m[1:] for m in worker if m[0] == r] for r in ("ops", "pager")}
    assert ("rt", "rt-1", "cpu_usage", "firing") in by["pager"]  # routed by the cluster's label
    assert ("rt", "rt-1", "cpu_usage", "repeat") in by["pager"]  # after its 5 minutes
    repeats = {r: sum(1 for m in by[r] if m[1:] == ("rt-1", "cpu_usage", "repeat")) for r in by}
    assert 0 < repeats["pager"] < repeats["ops"] // 3, repeats  # held by the route's repeatInterval
