"""Fleet benchmark: many kubesim clusters scanned by real workers; on time, never doubled, lag measured.

    .venv/bin/python bench/bench_fleet.py                  # 200 clusters x 50 nodes, 60 s interval, 2 workers, 5 min
    .venv/bin/python bench/bench_fleet.py --clusters 20 --nodes 10 --interval 10 --duration 60   # a quick look

Starts kubesim (one process serving every cluster), a Redis (localredis: $REDIS_URL, a claimed local database or
a private redis-server), one ``nodewatch beat`` and N ``nodewatch worker`` processes reading the clusters from the
kubeconfig directory kubesim writes. After the run it reads every cluster's scan history from Redis and reports:
scans per cluster per interval (after the first interval, whose first due times are spread by jitter), missed
intervals, overlapping scans of one cluster, scan lag behind the due time (p50/p99/max) and scan duration.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import redis
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kubesim.testing import KubesimProcess  # noqa: E402
from worker import localredis  # noqa: E402
from worker.state import keys  # noqa: E402

NODEWATCH = str(Path(sys.executable).with_name("nodewatch"))


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def analyse(r: redis.Redis, names: list[str], t_from: float, t_to: float, interval: float) -> dict[str, Any]:
    lags: list[float] = []
    durations: list[float] = []
    outcomes: dict[str, int] = {}
    missed, overlaps, doubled, counts = 0, 0, 0, []
    gaps: list[float] = []
    windows = int((t_to - t_from) // interval)
    for name in names:
        raw = r.lrange(keys.scans(name), 0, -1)
        hist = sorted((json.loads(x) for x in raw), key=lambda h: float(h["started"]))  # type: ignore[union-attr]
        for a, b in zip(hist, hist[1:], strict=False):
            if float(b["started"]) < float(a["ended"]):
                overlaps += 1
        inside = [h for h in hist if t_from <= float(h["started"]) < t_from + windows * interval]
        counts.append(len(inside))
        # the window grid is not aligned with each cluster's phase: count a miss only as a gap between scans
        starts = [float(h["started"]) for h in hist if float(h["started"]) >= t_from - interval]
        for a, b in zip(starts, starts[1:], strict=False):
            gap = b - a
            gaps.append(gap)
            if gap > 1.5 * interval:
                missed += round(gap / interval) - 1
            if gap < 0.5 * interval:
                doubled += 1
        if starts and t_to - starts[-1] > 1.5 * interval:
            missed += int((t_to - starts[-1]) // interval)
        for h in inside:
            lags.append(float(h["lag_s"]))
            durations.append(float(h["duration_s"]))
            outcomes[h["outcome"]] = outcomes.get(h["outcome"], 0) + 1
    return {
        "clusters": len(names),
        "measured_s": round(windows * interval, 1),
        "intervals": windows,
        "scans": sum(counts),
        "scans_expected": windows * len(names),
        "scans_per_cluster_min": min(counts) if counts else 0,
        "scans_per_cluster_max": max(counts) if counts else 0,
        "missed_intervals": missed,
        "doubled_scans": doubled,
        "overlapping_scans": overlaps,
        "outcomes": outcomes,
        "gap_min_s": round(min(gaps), 3) if gaps else None,
        "gap_max_s": round(max(gaps), 3) if gaps else None,
        "lag_p50_s": round(pct(lags, 50), 3),
        "lag_p99_s": round(pct(lags, 99), 3),
        "lag_max_s": round(max(lags), 3) if lags else None,
        "duration_p50_s": round(pct(durations, 50), 3),
        "duration_p99_s": round(pct(durations, 99), 3),
        "duration_mean_s": round(statistics.fmean(durations), 3) if durations else None,
    }


def measure_hub(count: int) -> int:
    """The cost of one registry read without the watch: one list of ``count`` kubeconfig Secrets from the hub."""
    from worker import clusters, settings
    from worker.clusters import secrets

    with KubesimProcess(clusters=2, nodes=1, pods_per_node=0, speed=0) as sim:
        text = sim.kubeconfigs["sim-2"].read_text()
        for i in range(count):
            sim.control.put_secret("sim-1", "nodewatch", f"nodewatch-cluster-c{i:04d}", {"kubeconfig": text},
                                   {"nodewatch.io/cluster": "true"})  # fmt: skip
        hub = {"kubeconfig": str(sim.kubeconfigs["sim-1"]), "namespace": "nodewatch"}
        for watch in (False, True):
            cfg = settings.parse({"hub": {**hub, "watch": watch}}, env={})
            clusters.load(cfg)  # warm: client built, (watch started)
            src = secrets.source(cfg.hub, False)
            lists, runs = src.lists, 20
            t = time.perf_counter()
            for _ in range(runs):
                n = len(clusters.load(cfg).specs)
            ms = (time.perf_counter() - t) / runs * 1000
            mode = "watch (cached)" if watch else "list per read"
            print(
                f"registry read, {mode}: {n} Secret clusters in {ms:.1f} ms; hub lists: {src.lists - lists}"
            )
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clusters", type=int, default=200)
    ap.add_argument("--nodes", type=int, default=50)
    ap.add_argument("--pods-per-node", type=int, default=10)
    ap.add_argument("--interval", type=float, default=60.0, help="scan interval of every cluster (s)")
    ap.add_argument("--duration", type=float, default=300.0, help="run length after the workers are up (s)")
    ap.add_argument("--workers", type=int, default=2, help="worker processes")
    ap.add_argument("--concurrency", type=int, default=4, help="scan slots per worker process")
    ap.add_argument("--tick", type=float, default=5.0, help="dispatcher tick (s)")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON only")
    ap.add_argument(
        "--hub-secrets", type=int, metavar="N", help="only time a registry read of N Secrets, then exit"
    )
    args = ap.parse_args()
    if args.hub_secrets:
        return measure_hub(args.hub_secrets)

    t_setup = time.time()
    with (
        tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp,
        localredis.find_or_start(env_url="") as rds,
    ):
        sim = KubesimProcess(
            clusters=args.clusters, nodes=args.nodes, pods_per_node=args.pods_per_node, start_timeout=600
        ).start()
        procs: list[subprocess.Popen[bytes]] = []
        try:
            cfg = Path(tmp) / "config.yaml"
            cfg.write_text(
                yaml.safe_dump(
                    {
                        "checkInterval": args.interval,
                        "dispatchTick": args.tick,
                        "logLevel": "warning",
                        "clustersDir": str(sim.kubeconfig_dir),
                        "collect": {"requestTimeout": 10},
                    }
                )
            )
            env = dict(os.environ, REDIS_URL=rds.url, NODEWATCH_CONFIG=str(cfg), PYTHONUNBUFFERED="1")
            logs = open(Path(tmp) / "procs.log", "wb")  # noqa: SIM115 (closed with the directory)
            for i in range(args.workers):
                argv = [
                    NODEWATCH,
                    "worker",
                    "--concurrency",
                    str(args.concurrency),
                    "--hostname",
                    f"bench{i}@%h",
                ]
                procs.append(subprocess.Popen(argv, env=env, stdout=logs, stderr=subprocess.STDOUT, cwd=ROOT))
            beat = [NODEWATCH, "beat"]
            procs.append(subprocess.Popen(beat, env=env, stdout=logs, stderr=subprocess.STDOUT, cwd=ROOT))
            r = redis.Redis.from_url(rds.url, decode_responses=True)
            names = sorted(p.stem for p in sim.kubeconfig_dir.glob("*.yaml"))
            # up = the first scan recorded; from then on the run lasts --duration
            deadline = time.time() + 120
            while not any(r.exists(keys.status(n)) for n in names[:50]):
                if time.time() > deadline:
                    raise SystemExit("no scan recorded within 120 s; see the worker logs")
                time.sleep(0.5)
            t0 = time.time()
            if not args.json:
                print(
                    f"fleet up after {t0 - t_setup:.0f}s: {len(names)} clusters x {args.nodes} nodes "
                    f"({args.pods_per_node} pods/node), interval {args.interval:g}s, {args.workers} workers x "
                    f"{args.concurrency}; running {args.duration:g}s",
                    flush=True,
                )
            time.sleep(args.duration)
            t_end = time.time()
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
            sim.stop()
        # the first interval is the ramp (random first due times); measure the whole intervals after it
        figures = analyse(r, names, t0 + args.interval, t_end, args.interval)
        figures.update(
            {"nodes_per_cluster": args.nodes, "pods_per_node": args.pods_per_node, "interval_s": args.interval,
             "workers": args.workers, "concurrency": args.concurrency, "dispatch_tick_s": args.tick}
        )  # fmt: skip
        r.flushdb()
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    f = figures
    print(f"measured {f['intervals']} whole intervals ({f['measured_s']}s) after a one-interval ramp")
    print(f"scans started in the window: {f['scans']} (clusters x intervals = {f['scans_expected']}); per cluster {f['scans_per_cluster_min']}.."
          f"{f['scans_per_cluster_max']}; outcomes {f['outcomes']}")  # fmt: skip
    print(f"missed intervals: {f['missed_intervals']}   doubled scans: {f['doubled_scans']}   "
          f"overlapping scans: {f['overlapping_scans']}")  # fmt: skip
    print(f"time between two scans of one cluster: min {f['gap_min_s']}s  max {f['gap_max_s']}s")
    print(f"scan lag behind due time: p50 {f['lag_p50_s']}s  p99 {f['lag_p99_s']}s  max {f['lag_max_s']}s")
    print(f"scan duration: p50 {f['duration_p50_s']}s  p99 {f['duration_p99_s']}s")
    ok = f["missed_intervals"] == 0 and f["overlapping_scans"] == 0 and f["doubled_scans"] == 0
    print("RESULT:", "every cluster scanned every interval, no overlaps" if ok else "NOT on time (see above)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
