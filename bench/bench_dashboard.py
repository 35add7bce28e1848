"""Dashboard benchmark: time to render the cluster page of a 5,000-node cluster and the fleet page of 500 clusters.

    .venv/bin/python bench/bench_dashboard.py                       # 5,000 nodes x 30 pods; 500 clusters x 10 nodes
    .venv/bin/python bench/bench_dashboard.py --nodes 500 --clusters 50 --repeat 5   # a quick look

The stores are filled by real scans: kubesim serves the clusters over HTTP, ``worker.pipeline.scan_cluster`` (what
the scan task runs) scans each into a private Redis (localredis) twice, so that every store a page reads (the
node view, alerts, inventory, history, scan records) holds what a running fleet would. A few nodes of the big
cluster are NotReady and some fleet clusters run hot, so pages carry alerts. Then ``nodewatch dashboard`` runs as
its own process and each page is fetched over HTTP ``--repeat`` times (after one unmeasured fetch): the figures are
the server's whole answer (read Redis, decide, render, send), median and max wall time, the dashboard process's
CPU time per page (from /proc: what a page costs whatever else the machine runs), and the page's size; the live
fragment the page's script polls is measured too. Printed as a table; bench/README.md quotes it.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kubesim.testing import KubesimProcess  # noqa: E402
from worker import localredis, settings  # noqa: E402
from worker.pipeline import scan_cluster  # noqa: E402
from worker.state import keys  # noqa: E402
from worker.state.store import Stores, connect  # noqa: E402

NODEWATCH = str(Path(sys.executable).with_name("nodewatch"))
TOKEN = "bench-dashboard-token-0123456789"


def scan_all(stores: Stores, cfg: settings.Settings, names: list[str], sims: list[Any]) -> float:
    started = time.monotonic()
    for _ in range(2):  # a second scan: what a steady fleet holds (inventory diffs, history, alerts)
        for sim in sims:
            sim.control.advance(20)
        for name in names:
            scan_cluster(stores, cfg, name, None)
    return time.monotonic() - started


CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    """The dashboard process's CPU time (user + system): what a page costs the server, whatever else runs."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def fetch(base: str, path: str, repeat: int, pid: int) -> tuple[float, float, float, int]:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    got = requests.get(base + path, headers=headers, timeout=120)  # unmeasured: caches warm, config listed
    got.raise_for_status()
    times = []
    size = 0
    cpu0 = cpu_s(pid)
    for _ in range(repeat):
        t0 = time.perf_counter()
        got = requests.get(base + path, headers=headers, timeout=120)
        times.append(time.perf_counter() - t0)
        got.raise_for_status()
        size = len(got.content)
    return statistics.median(times), max(times), (cpu_s(pid) - cpu0) / repeat, size


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nodes", type=int, default=5000, help="nodes of the big cluster (cluster page)")
    ap.add_argument("--pods-per-node", type=int, default=30)
    ap.add_argument("--clusters", type=int, default=500, help="clusters of the fleet (fleet page)")
    ap.add_argument("--fleet-nodes", type=int, default=10, help="nodes of each fleet cluster")
    ap.add_argument("--repeat", type=int, default=10)
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="nodewatch-bench-dashboard-"))
    with (
        localredis.find_or_start(str(work), env_url="") as r,
        KubesimProcess(clusters=1, nodes=args.nodes, pods_per_node=args.pods_per_node, speed=1,
                       start_timeout=600) as big,
        KubesimProcess(clusters=args.clusters, nodes=args.fleet_nodes, pods_per_node=5, speed=1,
                       start_timeout=600) as fleet,
    ):  # fmt: skip
        (big_name,) = big.kubeconfigs
        big_nodes = big.control.cluster(big_name)["nodes"]
        down = big_nodes[:: max(1, len(big_nodes) // max(1, args.nodes // 500))][: max(1, args.nodes // 500)]
        for node in down:  # ~0.2 % NotReady
            big.control.set_node(big_name, node, ready="False")
        sim_names = sorted(fleet.kubeconfigs)
        for name in sim_names[::10]:  # one cluster in ten runs a node hot
            fleet.control.set_node(name, fleet.control.cluster(name)["nodes"][0], cpu=0.97)
        fleet_names = [f"fleet-{i:03d}" for i in range(1, args.clusters + 1)]
        clusters = [{"name": "big", "kubeconfig": str(big.kubeconfigs[big_name]), "interval": 60}]
        clusters += [{"name": n, "kubeconfig": str(fleet.kubeconfigs[sim]), "interval": 60}
                     for n, sim in zip(fleet_names, sim_names, strict=True)]  # fmt: skip
        config = work / "config.yaml"
        config.write_text(yaml.safe_dump({
            "language": "en", "clusters": clusters, "collect": {"diskStats": False},
            "thresholds": {"usageFor": 0, "usageWarningFor": 0, "notReadyFor": 0},
        }))  # fmt: skip
        cfg = settings.load(str(config))
        stores = Stores(connect(r.url))
        print(f"scanning: big ({args.nodes} nodes x {args.pods_per_node} pods) and {args.clusters} clusters "
              f"x {args.fleet_nodes} nodes, twice each ...", flush=True)  # fmt: skip
        took = scan_all(stores, cfg, ["big", *fleet_names], [big, fleet])
        view = stores.views.load("big")
        firing = sum(1 for a in stores.alerts.load("big").values() if a.status == "firing")
        print(f"scanned in {took:.0f} s; big: {len(view.rows) if view else 0} node rows, {firing} firing alerts; "
              f"view {stores.client.strlen(keys.view('big')) / 1e6:.2f} MB", flush=True)  # fmt: skip

        env = dict(os.environ, REDIS_URL=r.url, NODEWATCH_CONFIG=str(config), NODEWATCH_DASHBOARD_TOKEN=TOKEN)
        proc = subprocess.Popen([NODEWATCH, "dashboard", "--address", "127.0.0.1", "--port", "0"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)  # fmt: skip
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if "url=" not in line:
                print(line + proc.stdout.read(), file=sys.stderr)
                return 1
            base = line.split("url=", 1)[1].strip().removesuffix("/fleet")
            pages = [
                (f"cluster page, {args.nodes} nodes (100 a page, heatmap of all)", "/cluster/big"),
                ("  sorted by cpu, page 20", "/cluster/big?sort=cpu&page=20"),
                ("  filtered: not ready", "/cluster/big?only=notready"),
                ("  live fragment (polled every 5 s)", "/cluster/big?fragment=1"),
                ("node page (8 history charts, predictions)", f"/cluster/big/node/{down[0]}"),
                (f"fleet page, {args.clusters + 1} clusters", "/fleet"),
                ("  sorted by cpu, filtered 'fleet-1'", "/fleet?sort=cpu&q=fleet-1"),
                ("  live fragment", "/fleet?fragment=1"),
                (f"alerts page, {args.clusters + 1} clusters", "/alerts"),
            ]
            print(f"\n{'page':58} {'median':>9} {'max':>9} {'cpu/page':>9} {'size':>9}")
            for label, path in pages:
                med, top, cpu, size = fetch(base, path, args.repeat, proc.pid)
                print(f"{label:58} {med * 1000:7.0f}ms {top * 1000:7.0f}ms {cpu * 1000:7.0f}ms {size / 1024:7.0f}KB",
                      flush=True)  # fmt: skip
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(20)
    return 0


if __name__ == "__main__":
    sys.exit(main())
