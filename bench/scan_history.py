"""A week of history for bench_scan.py's ``--history-days``: every node of the kubesim cluster gets a plausible
history in Redis before each nodewatch child, and a chosen share of them is above the prediction floor with a
rising memory, in kubesim and in its history alike, so that the scan's forecast (worker/alerting/forecast.py)
reads history and predicts as it would in a cluster that has been watched for a week.

Filling 5,000 nodes scan by scan takes ~30 minutes of the 2-core box, so a few *template* nodes are filled
instead, through ``History.record`` (the store's own writer and encoding; one call per simulated scan of the
templates, at the bench's interval), and each node's key is a copy of its template's (``DUMP`` / ``RESTORE``,
pipelined). Templates are bench_history's ``SimNode`` (cpu on a daily cycle, nodefs filling and rotated, imagefs
and GC, pods stepping: ~16 KB a node) with memory held at kubesim's calm 45 %, or ``Leaking``: the same with a
memory leak that started days ago and is now between 61 and 68 % (under the memory warning's 70 %). Most leak
0.05-0.5 pt/h (a steady metric, predicted every third bucket); a fifth leak 2-3 pt/h, which predicts the
memory eviction line within 24 h (a warning: predicted every bucket). kubesim then ramps those nodes' memory on
at their template's rate from their template's level, with 0.5 pt of noise like the template's.

The bench's kubesim runs on a manual clock: the history ends at kubesim's time, and the clock is advanced by the
interval before each scan, whose ``now`` is kubesim's (bench/scan_child.py). Between children ``catch_up`` records
the templates' scans of the time that passed, so each child starts with a history that ends where it starts.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Any

import redis
from redis.client import NEVER_DECODE

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_history import SimNode  # noqa: E402

from worker.state import history, keys  # noqa: E402

TEMPLATES = "bench-scan-templates"  # the cluster name the templates are written under
CALM_MEMORY = 45.0  # kubesim's fleet: memory 0.45 of allocatable
NOISE_PT = 0.5
RAMP_S = 6 * 3600  # kubesim's ramp: longer than any bench run


class Leaking(SimNode):
    """A SimNode whose memory leaks: flat at its base, then ``rate`` pt/h up to ``level`` at ``t_ref``."""

    def __init__(self, rnd: random.Random, t_ref: float) -> None:
        super().__init__(rnd)
        self.level = rnd.uniform(61.0, 68.0)
        self.rate = rnd.uniform(2.0, 3.0) if rnd.random() < 0.2 else rnd.uniform(0.05, 0.5)
        self.base = rnd.uniform(35.0, 50.0)
        self.t_ref = t_ref

    def memory_at(self, t: float) -> float:
        return max(self.base, self.level + self.rate * (t - self.t_ref) / 3600)

    def sample(self, t: int) -> dict[str, float | None]:
        out = super().sample(t)
        out["memory"] = self.memory_at(t) + self.rnd.gauss(0, NOISE_PT)
        return out


class Preload:
    """The templates, which node copies which, and the writes that put them in Redis and kubesim."""

    def __init__(
        self, client: redis.Redis, cluster: str, nodes: list[str], above: float, templates: int, seed: int,
        interval: int, days: float, t_now: float,
    ) -> None:  # fmt: skip
        self.client, self.cluster, self.interval, self.days = client, cluster, interval, days
        self.store = history.History(client)
        rnd = random.Random(seed)
        leaking = set(rnd.sample(nodes, round(above * len(nodes))))
        half = max(1, templates // 2)
        self.sims: dict[str, SimNode] = {}
        for i in range(half):
            calm = SimNode(random.Random(rnd.random()))
            calm.memory = CALM_MEMORY
            self.sims[f"calm-{i:03d}"] = calm
            if leaking:
                self.sims[f"leak-{i:03d}"] = Leaking(random.Random(rnd.random()), t_now)
        self.copies: dict[str, str] = {}  # node -> template
        for i, node in enumerate(nodes):
            self.copies[node] = f"{'leak' if node in leaking else 'calm'}-{i % half:03d}"
        self.leaking = sorted(leaking)
        self.last = 0

    def kubesim_usage(self, control: Any) -> None:
        """Ramp each leaking node's memory in kubesim from its template's level at kubesim's time, at its rate."""
        t = control.now()
        by_template: dict[str, list[str]] = {}
        for node in self.leaking:
            by_template.setdefault(self.copies[node], []).append(node)
        for name, group in by_template.items():
            sim = self.sims[name]
            assert isinstance(sim, Leaking)
            level = sim.memory_at(t)
            ramp = {"from": level / 100, "to": (level + sim.rate * RAMP_S / 3600) / 100, "over": RAMP_S}
            control.action(self.cluster, nodes=group, memory={"ramp": ramp}, noise=NOISE_PT / 100)

    def fill(self, t_end: float) -> int:
        """The templates' scans from ``days`` (and 2 h) before ``t_end`` up to it; returns how many scans."""
        scans = int((self.days * 86400 + 2 * 3600) // self.interval)
        self.last = int(t_end) - scans * self.interval
        return self.catch_up(t_end)

    def catch_up(self, t_end: float) -> int:
        """The templates' scans since the last one up to ``t_end``: one ``History.record`` each."""
        done = 0
        while self.last + self.interval <= t_end:
            self.last += self.interval
            self.store.record(
                TEMPLATES, self.last, {name: sim.sample(self.last) for name, sim in self.sims.items()}
            )
            done += 1
        return done

    def copy(self, batch: int = 250) -> int:
        """Every node's history key as a copy of its template's (and the node index); returns the bytes copied."""
        dumps = {
            name: self.client.execute_command("DUMP", keys.history(TEMPLATES, name), **{NEVER_DECODE: []})
            for name in self.sims
        }
        ttl_ms = keys.HISTORY_TTL * 1000
        total = 0
        nodes = list(self.copies)
        for i in range(0, len(nodes), batch):
            pipe = self.client.pipeline(transaction=False)
            for node in nodes[i : i + batch]:
                blob = dumps[self.copies[node]]
                assert isinstance(blob, bytes)
                pipe.restore(keys.history(self.cluster, node), ttl_ms, blob, replace=True)
                total += len(blob)
            pipe.zadd(keys.history_nodes(self.cluster), {node: self.last for node in nodes[i : i + batch]})
            pipe.execute()
        self.client.expire(keys.history_nodes(self.cluster), keys.HISTORY_TTL)
        return total

    def forget(self) -> None:
        self.store.forget(TEMPLATES)
