"""Benchmark kubesim: node, pod and pod Table lists of a 5,000-node / 150,000-pod cluster; many clusters.

Run: .venv/bin/python bench/bench_kubesim.py [--nodes 5000] [--pods-per-node 30] [--clusters 200] [--repeat 5]
Each figure is the median of --repeat runs, measured from a separate client process over loopback HTTP.
"time to last byte" covers request + server work + transfer; "+ parse" adds the client's json.loads.
The pod scans (a collector's paged list) are timed first cold (just after a pod changed, so no page is cached)
and then repeated (served from kubesim's page cache), with and without gzip; "server CPU" is kubesim's own CPU
time (user + system, from /proc) during the scan.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import requests
import yaml

from kubesim.testing import KubesimProcess

TABLE = "application/json;as=Table;g=meta.k8s.io;v=v1"
NON_TERMINAL = (
    "status.phase!=Succeeded,status.phase!=Failed"  # what a collector lists (worker/collect/reader.py)
)


def _session(sim: KubesimProcess, cluster: str) -> tuple[requests.Session, str]:
    doc = yaml.safe_load(sim.kubeconfigs[cluster].read_text())
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {doc['users'][0]['user']['token']}"
    # requests asks for gzip by default; the cases below ask for it only where they say so
    session.headers["Accept-Encoding"] = "identity"
    return session, doc["clusters"][0]["cluster"]["server"]


def _wait_warm(sim: KubesimProcess) -> float:
    started = time.monotonic()
    while not sim.control.call("GET", "")["warm"]:
        time.sleep(0.2)
    return time.monotonic() - started


def _rss_mb(sim: KubesimProcess) -> float:
    assert sim.proc is not None
    for line in open(f"/proc/{sim.proc.pid}/status", encoding="ascii"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _server_cpu_s(sim: KubesimProcess) -> float:
    assert sim.proc is not None
    with open(f"/proc/{sim.proc.pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _scan_pods(
    session: requests.Session, url: str, gzip_ok: bool, limit: int, selector: str
) -> dict[str, float]:
    """One list of all pods as a collector reads it (first page at resourceVersion=0, then continue tokens),
    each body read raw off the socket, then gunzipped and parsed: the three client costs apart."""
    out = {"pages": 0.0, "items": 0.0, "wire": 0.0, "raw": 0.0, "ttlb": 0.0, "gunzip": 0.0, "parse": 0.0}
    token = ""
    while True:
        params = {"limit": str(limit)} if limit else {}
        if selector:
            params["fieldSelector"] = selector
        params |= {"continue": token} if token else {"resourceVersion": "0"}
        started = time.perf_counter()
        resp = session.get(url, params=params, headers={"Accept-Encoding": "gzip" if gzip_ok else "identity"},
                           stream=True, timeout=300)  # fmt: skip
        wire = resp.raw.read(decode_content=False)
        got = time.perf_counter()
        resp.raise_for_status()
        body = gzip.decompress(wire) if resp.headers.get("Content-Encoding") == "gzip" else wire
        unzipped = time.perf_counter()
        doc = json.loads(body)
        parsed = time.perf_counter()
        out["pages"] += 1
        out["items"] += len(doc["items"])
        out["wire"] += len(wire)
        out["raw"] += len(body)
        out["ttlb"] += got - started
        out["gunzip"] += unzipped - got
        out["parse"] += parsed - unzipped
        token = doc["metadata"].get("continue", "")
        if not token:
            return out


def pod_scans(sim: KubesimProcess, session: requests.Session, base: str, node: str,
              repeat: int) -> list[tuple[str, dict[str, float]]]:  # fmt: skip
    """Cold and cached pod scans, plain and gzipped; medians of `repeat` runs each."""
    rows = []
    forms = [
        ("paged 500, non-terminal", 500, NON_TERMINAL),
        ("one request, all pods", 0, ""),
    ]
    for form, limit, selector in forms:
        for gzip_ok in (False, True):
            for phase in ("cold", "cached"):
                runs = []
                for _ in range(repeat):
                    if phase == "cold":
                        sim.control.add_pods("sim-1", node, 1)  # a pod changed: every pod page is stale
                    sim.control.reset_traffic("sim-1")
                    cpu = _server_cpu_s(sim)
                    run = _scan_pods(session, f"{base}/api/v1/pods", gzip_ok, limit, selector)
                    run["server_cpu"] = _server_cpu_s(sim) - cpu
                    counted = sim.control.traffic("sim-1")
                    assert counted["bytes"] == run["wire"] and counted["raw_bytes"] == run["raw"], counted
                    runs.append(run)
                median = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
                rows.append((f"{form}, {'gzip' if gzip_ok else 'plain'}, {phase}", median))
    return rows


def _measure(fn: Callable[[], tuple[int, float, float]], repeat: int) -> tuple[int, float, float, float]:
    """fn returns (items, bytes, seconds to last byte) -> (items, MB, median TTLB, median TTLB+parse)."""
    ttlb, total = [], []
    items, size = 0, 0.0
    for _ in range(repeat):
        start = time.perf_counter()
        items, size, got = fn()
        ttlb.append(got - start)
        total.append(time.perf_counter() - start)
    return items, size / 1e6, statistics.median(ttlb), statistics.median(total)


def _get(session: requests.Session, url: str, key: str, accept: str = "application/json",
         params: dict[str, str] | None = None) -> tuple[int, float, float]:  # fmt: skip
    resp = session.get(url, headers={"Accept": accept}, params=params, timeout=120)
    body = resp.content
    got = time.perf_counter()
    resp.raise_for_status()
    return len(json.loads(body)[key]), float(len(body)), got


def _paged(session: requests.Session, url: str, key: str, accept: str = "application/json",
           limit: int = 500) -> tuple[int, float, float]:  # fmt: skip
    items, size, token = 0, 0.0, ""
    got = 0.0
    while True:
        params = {"limit": str(limit)} | ({"continue": token} if token else {})
        resp = session.get(url, headers={"Accept": accept}, params=params, timeout=120)
        body = resp.content
        got = time.perf_counter()
        doc = json.loads(body)
        items += len(doc[key])
        size += len(body)
        token = doc["metadata"].get("continue", "")
        if not token:
            return items, size, got


def big_cluster(
    nodes: int, per_node: int, repeat: int
) -> tuple[list[tuple[str, int, float, float, float]], list[tuple[str, dict[str, float]]], dict[str, Any]]:
    rows = []
    started = time.monotonic()
    with KubesimProcess(nodes=nodes, pods_per_node=per_node, speed=1, start_timeout=600) as sim:
        ready = time.monotonic() - started
        warm = _wait_warm(sim)
        print(
            f"# {nodes} nodes / {nodes * per_node} pods: ready in {ready:.1f} s, objects pre-rendered {warm:.1f} s later, "
            f"server RSS {_rss_mb(sim):.0f} MB",
            flush=True,
        )
        session, base = _session(sim, "sim-1")
        cases: list[tuple[str, Callable[[], tuple[int, float, float]]]] = [
            ("node list, one request", lambda: _get(session, f"{base}/api/v1/nodes", "items")),
            ("node list, limit=500 pages", lambda: _paged(session, f"{base}/api/v1/nodes", "items")),
            ("node list, Table", lambda: _get(session, f"{base}/api/v1/nodes", "rows", TABLE)),
            ("pod Table list, one request", lambda: _get(session, f"{base}/api/v1/pods", "rows", TABLE)),
            (
                "pod Table, includeObject=None",
                lambda: _get(session, f"{base}/api/v1/pods", "rows", TABLE, {"includeObject": "None"}),
            ),  # fmt: skip
            ("pod Table, limit=500 pages", lambda: _paged(session, f"{base}/api/v1/pods", "rows", TABLE)),
            (
                "pod Table, status.phase!=Succeeded",
                lambda: _get(
                    session,
                    f"{base}/api/v1/pods",
                    "rows",
                    TABLE,
                    {"fieldSelector": "status.phase!=Succeeded"},
                ),
            ),  # fmt: skip
            (
                "pods of one node (fieldSelector)",
                lambda: _get(
                    session,
                    f"{base}/api/v1/pods",
                    "items",
                    params={"fieldSelector": "spec.nodeName=sim-1-pool-77"},
                ),
            ),  # fmt: skip
            ("NodeMetrics list", lambda: _get(session, f"{base}/apis/metrics.k8s.io/v1beta1/nodes", "items")),
            ("PodMetrics list", lambda: _get(session, f"{base}/apis/metrics.k8s.io/v1beta1/pods", "items")),
            (
                "stats/summary, one node",
                lambda: (
                    1,
                    *_get(session, f"{base}/api/v1/nodes/sim-1-pool-9/proxy/stats/summary", "pods")[1:],
                ),
            ),  # fmt: skip
        ]
        for name, fn in cases:
            items, mb, ttlb, total = _measure(fn, repeat)
            rows.append((name, items, mb, ttlb, total))
        scans = pod_scans(sim, session, base, "sim-1-pool-1", repeat)
        stats = dict(sim.control.call("GET", "")["page_cache"]) | {"rss_mb": _rss_mb(sim)}
    return rows, scans, stats


def many_clusters(clusters: int, nodes: int, per_node: int) -> tuple[float, float, float]:
    started = time.monotonic()
    with KubesimProcess(
        clusters=clusters, nodes=nodes, pods_per_node=per_node, speed=1, start_timeout=600
    ) as sim:
        ready = time.monotonic() - started
        sessions = [_session(sim, name) for name in sorted(sim.kubeconfigs)]
        t0 = time.perf_counter()
        for session, base in sessions:
            _get(session, f"{base}/api/v1/nodes", "items")
            _get(session, f"{base}/apis/metrics.k8s.io/v1beta1/nodes", "items")
            _get(session, f"{base}/api/v1/pods", "rows", TABLE, {"fieldSelector": "status.phase!=Succeeded"})
        sweep = time.perf_counter() - t0
        return ready, sweep, sweep / len(sessions)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--pods-per-node", type=int, default=30)
    parser.add_argument("--clusters", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rows, scans, stats = big_cluster(args.nodes, args.pods_per_node, args.repeat)
    print(f"{'case':40s} {'items':>8s} {'MB':>7s} {'TTLB s':>7s} {'+parse s':>8s}")
    for name, items, mb, ttlb, total in rows:
        print(f"{name:40s} {items:8d} {mb:7.1f} {ttlb:7.3f} {total:8.3f}")
    print(f"\n{'pod scan':44s} {'pages':>5s} {'items':>7s} {'MB wire':>7s} {'MB raw':>7s} {'TTLB s':>7s} "
          f"{'gunzip s':>8s} {'loads s':>7s} {'total s':>7s} {'server CPU s':>12s}")  # fmt: skip
    for name, r in scans:
        total = r["ttlb"] + r["gunzip"] + r["parse"]
        print(f"{name:44s} {r['pages']:5.0f} {r['items']:7.0f} {r['wire'] / 1e6:7.1f} {r['raw'] / 1e6:7.1f} "
              f"{r['ttlb']:7.3f} {r['gunzip']:8.3f} {r['parse']:7.3f} {total:7.3f} {r['server_cpu']:12.2f}")  # fmt: skip
    print(f"# page cache after the scans: {stats['pages']} pages, {stats['bytes'] / 2**20:.0f} MiB of "
          f"{stats['max_bytes'] / 2**20:.0f} MiB, {stats['hits']} hits, {stats['misses']} misses; "
          f"server RSS {stats['rss_mb']:.0f} MB")  # fmt: skip
    ready, sweep, per = many_clusters(args.clusters, 20, 10)
    print(
        f"# {args.clusters} clusters x 20 nodes x 10 pods in one process: ready in {ready:.1f} s; one scan sweep "
        f"(nodes + NodeMetrics + pod Table per cluster) {sweep:.2f} s = {per * 1000:.1f} ms per cluster"
    )


if __name__ == "__main__":
    main()
