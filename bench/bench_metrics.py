"""/metrics benchmark: scrape time and size for a 5,000-node cluster (and a fleet), per-node series on and off.

    .venv/bin/python bench/bench_metrics.py                                   # 1 cluster x 5,000 nodes
    .venv/bin/python bench/bench_metrics.py --clusters 100 --nodes 100        # a fleet of small clusters

It starts its own redis-server (``worker.localredis.RedisServer``, no persistence) unless ``--url`` names one (an
empty database: it is flushed), and writes what a scan writes through the stores' own writers: each cluster's
inventory (``commit_scan`` with an inventory diff of a scanned sample: labels, Ready, cordon), its nodes' history
(``History.record``: two scans, so each node has a history state field), open alerts (2 % of nodes firing), a scan
record with its counters (``record_scan``), delivery counters. Then it scrapes the way Prometheus does: the
registry's text exposition (``prometheus_client.generate_latest``), ``--repeat`` times, and prints the wall time
(median and max), the Redis round trips, the series count and the body size, plain and gzipped (Prometheus asks
for gzip). Figures are quoted in bench/README.md.
"""

from __future__ import annotations

import argparse
import gzip
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from prometheus_client import generate_latest  # noqa: E402

from worker import localredis, metrics, settings  # noqa: E402
from worker.model import ClusterSample, Condition, NodeSample, Severity, fingerprint  # noqa: E402
from worker.model.alerts import AlertState  # noqa: E402
from worker.state import inventory, store  # noqa: E402
from worker.state.alerts import Transitions  # noqa: E402

GROUPS = ("general", "memory", "gpu", "spot")


def node(cluster: str, i: int, rnd: random.Random) -> NodeSample:
    ready = "False" if rnd.random() < 0.01 else "True"
    labels = {
        "kubernetes.io/hostname": f"{cluster}-node-{i}",
        "node.kubernetes.io/instance-type": rnd.choice(["m5.2xlarge", "r5.4xlarge", "p3.8xlarge"]),
        "topology.kubernetes.io/zone": rnd.choice(["eu-1a", "eu-1b", "eu-1c"]),
        "pool": GROUPS[i % len(GROUPS)],
    }
    return NodeSample(
        cluster, f"{cluster}-node-{i}", labels, unschedulable=rnd.random() < 0.005,
        conditions={"Ready": Condition("Ready", ready)},
    )  # fmt: skip


def values(rnd: random.Random) -> dict[str, float | None]:
    return {
        "cpu": rnd.uniform(5, 95), "memory": rnd.uniform(20, 90), "nodefs": rnd.uniform(10, 85),
        "imagefs": rnd.uniform(10, 80) if rnd.random() < 0.66 else None, "inodes": rnd.uniform(1, 30),
        "pods": rnd.uniform(10, 90), "cpu_requests": rnd.uniform(20, 95), "memory_requests": rnd.uniform(20, 95),
    }  # fmt: skip


def populate(stores: store.Stores, cluster: str, n: int, now: float, rnd: random.Random) -> None:
    nodes = [node(cluster, i, rnd) for i in range(n)]
    sample = ClusterSample(cluster, datetime.fromtimestamp(now, UTC), nodes)
    alerts = {}
    for nd in rnd.sample(nodes, max(1, n // 50)):
        fp = fingerprint(cluster, nd.name, "cpu_usage")
        alerts[fp] = AlertState(fp, nd.name, "cpu_usage", "firing", Severity.WARNING, now - 600, now - 60)
    diff = inventory.diff({}, sample, {})
    stores.commit_scan(cluster, Transitions(repeat_s=3600, upsert=alerts), inventory=diff)
    for t in (now - 60, now):
        stores.history.record(cluster, t, {nd.name: values(rnd) for nd in nodes})
    stores.schedule.record_scan(
        cluster, {"started": now - 3, "ended": now, "duration_s": 2.4, "lag_s": 0.05, "outcome": "ok",
                  "nodes": n, "ready": sum(1 for x in nodes if x.ready == "True"), "interval_s": 60},
    )  # fmt: skip


def scrape(stores: store.Stores, cfg: settings.Settings, node_series: bool, repeat: int) -> dict[str, float]:
    reg = metrics.registry(stores, cfg, node_series)
    times, body = [], b""
    rt = 0
    for _ in range(repeat):
        before = store.round_trips.count
        t0 = time.perf_counter()
        body = generate_latest(reg)
        times.append(time.perf_counter() - t0)
        rt = store.round_trips.count - before
    series = sum(1 for line in body.splitlines() if line and not line.startswith(b"#"))
    return {
        "median_s": statistics.median(times), "max_s": max(times), "round_trips": rt, "series": series,
        "bytes": len(body), "gzip_bytes": len(gzip.compress(body, 6)),
    }  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clusters", type=int, default=1)
    ap.add_argument("--nodes", type=int, default=5000, help="nodes per cluster")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--url", help="an empty Redis database to use (flushed); default: a private redis-server")
    args = ap.parse_args()
    rnd = random.Random(15)
    cfg = settings.parse(
        {"nodeGroups": [{"name": g, "matchLabels": {"pool": g}} for g in GROUPS]}, "bench", env={}
    )
    with tempfile.TemporaryDirectory() as workdir:
        server = None
        url = args.url
        if url is None:
            server = localredis.RedisServer(localredis.free_port(), Path(workdir)).start()
            url = server.url
        try:
            client = store.connect(url)
            client.flushdb()
            stores = store.Stores(client)
            now = time.time()
            t0 = time.perf_counter()
            for c in range(args.clusters):
                populate(stores, f"c{c:03d}", args.nodes, now, rnd)
            # in the schedule, as the dispatcher puts them (one claim: a claim drops the clusters it is not given)
            stores.schedule.claim_due({f"c{c:03d}": 60.0 for c in range(args.clusters)}, now, jitter=False)
            stores.notifications.count("delivered:ops", 120)
            print(f"populated {args.clusters} cluster(s) x {args.nodes} nodes in {time.perf_counter() - t0:.1f}s; "
                  f"Redis used_memory {client.info('memory')['used_memory'] / 2**20:.1f} MiB")  # fmt: skip
            print("node series | scrape median | max     | Redis round trips | series  | body      | gzip")
            for on in (True, False):
                r = scrape(stores, cfg, on, args.repeat)
                print(f"{'on ' if on else 'off'}         | {r['median_s'] * 1000:9.1f} ms | {r['max_s'] * 1000:5.0f} ms "
                      f"| {r['round_trips']:17d} | {r['series']:7d} | {r['bytes'] / 1024:6.0f} KiB "
                      f"| {r['gzip_bytes'] / 1024:5.0f} KiB")  # fmt: skip
            client.flushdb()
        finally:
            if server is not None:
                server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
