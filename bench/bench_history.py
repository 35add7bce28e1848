"""History benchmark: a week of 60 s scans of 1,000 nodes written into a private Redis, then
``MEMORY USAGE`` per node, the write cost per scan, and the cost of reading and predicting from it.

    .venv/bin/python bench/bench_history.py                          # --nodes 1000 --interval 60 --days 7
    .venv/bin/python bench/bench_history.py --nodes 100 --days 2     # a quick look

It starts its own redis-server (``worker.localredis.RedisServer``, no persistence) unless ``--url`` names one (an
empty database: it is flushed), and writes every scan through ``History.record`` exactly as a worker would: one
call, one pipelined round trip, per scan of the cluster. The nodes are simulated with plausible series (seeded):
cpu with a daily cycle and noise, memory steady with noise and a slow drift, nodefs filling slowly with a daily
log rotation, imagefs stepping up at image pulls and cleaned by image GC at 85 % (a third of the nodes have none),
inodes creeping, pods and requests stepping as pods come and go. Values are percentages, as the scan computes them.

Figures: ``MEMORY USAGE <key> SAMPLES 0`` of every node's hash (min / median / p99 / max; the budget is 24 KiB),
the mean bytes of each kind of field, Redis' ``used_memory`` per node, how much of each tier a node keeps; the write cost per scan over the last
``--measure`` scans (wall time of ``record``, Redis CPU from ``INFO commandstats``, bytes sent); a whole-cluster
read of one metric for 7 days; ``worker.predict.trend.predict`` on each node's nodefs series.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from worker import localredis  # noqa: E402
from worker.model.history import METRICS  # noqa: E402
from worker.predict import kubelet, trend  # noqa: E402
from worker.state import history, history_codec, keys, store  # noqa: E402

CLUSTER = "bench"
BUDGET = 24 * 1024


class SimNode:
    """One node's metrics, advanced one scan at a time."""

    def __init__(self, rnd: random.Random) -> None:
        self.rnd = rnd
        self.cpu_base, self.cpu_amp = rnd.uniform(10, 45), rnd.uniform(5, 25)
        self.cpu_peak_h, self.cpu_noise = rnd.uniform(10, 20), rnd.uniform(2, 6)
        self.memory, self.memory_noise = rnd.uniform(35, 75), rnd.uniform(0.2, 1.0)
        self.nodefs, self.nodefs_rate = rnd.uniform(20, 60), rnd.uniform(0.0, 0.05) / 60  # pt a minute
        self.rotate_at = rnd.randrange(0, 1440)
        self.imagefs = rnd.uniform(30, 78) if rnd.random() < 2 / 3 else None
        self.inodes = rnd.uniform(3, 20)
        self.max_pods = 110
        self.pods = rnd.randint(10, 80)
        self.cpu_per_pod, self.mem_per_pod = rnd.uniform(0.3, 1.2), rnd.uniform(0.4, 1.5)

    def sample(self, t: int) -> dict[str, float | None]:
        rnd = self.rnd
        minute = (t // 60) % 1440
        if rnd.random() < 0.02:  # pods come and go
            self.pods = max(0, min(self.max_pods, self.pods + rnd.choice((-3, -2, -1, 1, 2, 3))))
        self.nodefs += self.nodefs_rate + rnd.gauss(0, 0.002)
        if minute == self.rotate_at:
            self.nodefs -= rnd.uniform(0.5, 2.0)  # daily log rotation
        self.nodefs = min(max(self.nodefs, 5.0), 89.0)
        if self.imagefs is not None:
            if rnd.random() < 0.003:
                self.imagefs += rnd.uniform(0.3, 3.0)  # an image pulled
            if self.imagefs >= 85.0:
                self.imagefs = 80.0  # image GC
        self.memory += rnd.gauss(0, 0.01)
        phase = 2 * math.pi * ((t % 86400) / 3600 - self.cpu_peak_h) / 24
        return {
            "cpu": max(0.0, self.cpu_base + self.cpu_amp * math.cos(phase) + rnd.gauss(0, self.cpu_noise)),
            "memory": self.memory + rnd.gauss(0, self.memory_noise),
            "nodefs": self.nodefs,
            "imagefs": self.imagefs,
            "inodes": self.inodes + 0.05 * self.nodefs,
            "pods": 100.0 * self.pods / self.max_pods,
            "cpu_requests": min(100.0, self.pods * self.cpu_per_pod),
            "memory_requests": min(100.0, self.pods * self.mem_per_pod),
        }


def evalsha_usec(client: redis.Redis) -> float:
    stats = client.info("commandstats")
    return float(stats.get("cmdstat_evalsha", {}).get("usec", 0.0))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(url: str, nodes: int, interval: int, days: float, measure: int, batch: int, seed: int) -> None:
    client = store.connect(url)
    client.flushdb()
    h = history.History(client, batch=batch)
    rnd = random.Random(seed)
    sims = {f"node-{i:05d}": SimNode(random.Random(rnd.random())) for i in range(nodes)}
    t_end = 1_767_225_600  # 2026-01-01T00:00Z: any fixed time will do; nothing reads the clock
    scans = int((days * 86400 + 2 * 3600) // interval)
    t_start = t_end - scans * interval
    print(
        f"history bench: {nodes} nodes, {interval} s scans, {days:g} d + 2 h ({scans:,} scans), batch {batch}"
    )
    print(f"redis: {url} ({client.info('server')['redis_version']})", flush=True)

    fill_started = time.perf_counter()
    walls: list[float] = []
    sent: list[int] = []
    usec_before = rt_before = 0.0
    for k in range(scans):
        t = t_start + k * interval
        samples = {name: sim.sample(t) for name, sim in sims.items()}
        if k == scans - measure:
            usec_before, rt_before = evalsha_usec(client), store.round_trips.count
        began = time.perf_counter()
        h.record(CLUSTER, t, samples)
        if k >= scans - measure:
            walls.append(time.perf_counter() - began)
            sent.append(nodes * 2 * len(METRICS))
        if k and (k * interval) % 86400 < interval:
            print(f"  day {k * interval // 86400}: {time.perf_counter() - fill_started:.0f} s", flush=True)
    fill_s = time.perf_counter() - fill_started
    redis_us = (evalsha_usec(client) - usec_before) / measure
    round_trips = (store.round_trips.count - rt_before) / measure

    kept_scans, kept_buckets = [], []
    for name in list(sims)[:: max(1, nodes // 100)]:
        cpu = h.series(CLUSTER, name, "cpu")
        kept_scans.append((cpu.fine[-1][0] - cpu.fine[0][0]) / 3600)
        kept_buckets.append((cpu.coarse[-1][0] - cpu.coarse[0][0] + history_codec.BUCKET_S) / 86400)
    sizes: list[float] = []
    fields: dict[str, list[int]] = {"s": [], "t": [], "f": [], "a": [], "x": []}
    for name in sims:
        key = keys.history(CLUSTER, name)
        sizes.append(float(client.memory_usage(key, samples=0) or 0))
        raw = client.execute_command("HGETALL", key, NEVER_DECODE=[])
        pairs = raw.items() if isinstance(raw, dict) else zip(raw[::2], raw[1::2], strict=True)
        lengths = {field: len(value) for field, value in pairs}
        for kind in fields:
            fields[kind].append(sum(n for f, n in lengths.items() if f.decode().startswith(kind)))
    used = float(client.info("memory")["used_memory"])
    client.flushdb()
    empty = float(client.info("memory")["used_memory"])
    print(
        f"\nfill: {fill_s:.0f} s wall for {scans:,} scans ({1000 * fill_s / scans:.1f} ms a scan, simulation included)"
    )
    print(
        f"MEMORY USAGE per node: min {min(sizes):,.0f} B, median {statistics.median(sizes):,.0f} B, "
        f"p99 {pct(sizes, 0.99):,.0f} B, max {max(sizes):,.0f} B (budget {BUDGET:,} B: "
        f"{'met' if max(sizes) <= BUDGET else 'MISSED'})"
    )
    print(
        "  field bytes per node (mean): "
        + ", ".join(
            f"{kind}{'' if kind in 'st' else '*'} {statistics.mean(v):,.0f}" for kind, v in fields.items()
        )
        + f"; hash and allocator overhead ~{statistics.mean(sizes) - sum(statistics.mean(v) for v in fields.values()):,.0f}"
    )
    print(
        f"  used_memory: {(used - empty) / 1e6:.1f} MB for {nodes:,} nodes ({(used - empty) / nodes:,.0f} B a node)"
    )
    print(
        f"  kept (cpu, {len(kept_scans)} nodes): scans {min(kept_scans):.2f}-{max(kept_scans):.2f} h, "
        f"5-minute buckets {min(kept_buckets):.2f}-{max(kept_buckets):.2f} d"
    )
    print(
        f"write, last {measure} scans: {1000 * statistics.median(walls):.1f} ms a scan of {nodes:,} nodes "
        f"(p90 {1000 * pct(walls, 0.9):.1f} ms; {1e6 * statistics.median(walls) / nodes:.1f} µs a node), "
        f"{round_trips:.0f} round trip, {math.ceil(nodes / batch)} script calls, "
        f"{statistics.mean(sent) / 1024:.0f} KiB of values; Redis CPU {redis_us / 1000:.1f} ms a scan "
        f"({redis_us / nodes:.1f} µs a node)"
    )


def read_and_predict(url: str, nodes: int, interval: int, days: float, seed: int) -> None:
    """Fill again (quietly, fewer figures), then time a whole-cluster read and a prediction per node."""
    client = store.connect(url)
    client.flushdb()
    h = history.History(client)
    rnd = random.Random(seed)
    sims = {f"node-{i:05d}": SimNode(random.Random(rnd.random())) for i in range(nodes)}
    t_end = 1_767_225_600
    scans = int((days * 86400 + 2 * 3600) // interval)
    for k in range(scans):
        t = t_end - (scans - k) * interval
        h.record(CLUSTER, t, {name: sim.sample(t) for name, sim in sims.items()})
    now = float(t_end - interval)
    began = time.perf_counter()
    every = h.cluster_series(CLUSTER, "nodefs", since=now - 7 * 86400)
    read_s = time.perf_counter() - began
    limit = kubelet.limit("nodefs")
    began = time.perf_counter()
    outcomes = [trend.predict(s, limit, now) for s in every.values()]
    predict_s = time.perf_counter() - began
    codes: dict[str, int] = {}
    for out in outcomes:
        code = out.model if isinstance(out, trend.Prediction) else out.code
        codes[code] = codes.get(code, 0) + 1
    print(
        f"read: cluster_series(nodefs, 7 d) of {len(every):,} nodes in {read_s:.2f} s "
        f"({1000 * read_s / max(1, len(every)):.2f} ms a node, decode included; 2 round trips)"
    )
    print(
        f"predict: {1000 * predict_s / max(1, len(outcomes)):.1f} ms a node (nodefs, 7 d); outcomes: "
        + ", ".join(f"{k} {v}" for k, v in sorted(codes.items()))
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=1000)
    ap.add_argument("--interval", type=int, default=60, help="scan interval, seconds")
    ap.add_argument("--days", type=float, default=7.0)
    ap.add_argument("--measure", type=int, default=100, help="scans at the end whose write cost is measured")
    ap.add_argument("--batch", type=int, default=history.BATCH, help="nodes per script call")
    ap.add_argument(
        "--read-nodes", type=int, default=200, help="nodes for the read / predict figures (0: none)"
    )
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--url", help="an empty Redis database to use (flushed!) instead of a private redis-server"
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-history-") as workdir:
        server = None
        url = args.url
        if not url:
            server = localredis.RedisServer(localredis.free_port(), Path(workdir)).start()
            url = server.url
        try:
            run(url, args.nodes, args.interval, args.days, args.measure, args.batch, args.seed)
            if args.read_nodes:
                read_and_predict(url, args.read_nodes, args.interval, args.days, args.seed)
        finally:
            if server is not None:
                server.stop()


if __name__ == "__main__":
    main()
