"""Fleet benchmark: many kubesim clusters scanned by real workers; throughput, lag, CPU split, Redis round trips.

    .venv/bin/python bench/bench_fleet.py                  # 200 clusters x 50 nodes, 60 s interval, 2 workers, 5 min
    .venv/bin/python bench/bench_fleet.py --clusters 500 --nodes 100 --pods-per-node 30 --duration 300   # issue 11
    .venv/bin/python bench/bench_fleet.py --clusters 20 --nodes 10 --interval 10 --duration 60   # a quick look

Starts kubesim (one process serving every cluster, waited for until its warm-up is done), a private redis-server
(so its CPU is its own; localredis when there is no redis-server binary), one ``nodewatch beat`` and N
``nodewatch worker`` processes reading the clusters from the kubeconfig directory kubesim writes. The first
interval after the first scan is the ramp (first due times are spread by jitter); the whole intervals after it are
measured. At the window's edges it reads the CPU time of each process tree from /proc (children included) and the
machine's busy time, and Redis's command count; afterwards every cluster's scan history (``nw:{c}:scans``).

Reports: nodes evaluated per minute, scans per cluster, missed intervals, doubled and overlapping scans, outcomes,
scan lag behind the due time and scan duration (p50/p99/max), the CPU split (workers, beat, kubesim, Redis, this
process, everything else on the machine) and worker CPU per 1,000 nodes, Redis round trips per scan, and the
requests and bytes per scan. bench/bench_latency.py runs the same fleet and times alerts on top of it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kubesim.testing import KubesimProcess  # noqa: E402
from worker import localredis  # noqa: E402
from worker.state.store import Stores  # noqa: E402

NODEWATCH = str(Path(sys.executable).with_name("nodewatch"))
CLK_TCK = os.sysconf("SC_CLK_TCK")
# Redis round trips of the scan task around run_scan, not in the record's redis_rt: SET NX of the scan lock, the
# unlock script, the record_scan pipeline. Routing a notification adds one read per message (not counted).
TASK_ROUND_TRIPS = 3


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


# ---------------------------------------------------------------- CPU from /proc


def _stat(pid: int) -> tuple[int, float] | None:
    """(ppid, CPU seconds of the process itself plus its reaped children) of a live process, else None."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None
    # fields[0] is the state (field 3 of proc(5)): ppid 4, utime 14, stime 15, cutime 16, cstime 17
    return int(fields[1]), sum(int(x) for x in fields[11:15]) / CLK_TCK


def tree_cpu(roots: list[int]) -> float:
    """CPU seconds of these processes and all their descendants, live ones and reaped ones: a prefork pool child
    that exits moves its time into its parent's cutime, so the sum of two snapshots' difference stays right."""
    stats: dict[int, tuple[int, float]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (st := _stat(int(entry))) is not None:
            stats[int(entry)] = st
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    total, todo, seen = 0.0, [p for p in roots if p in stats], set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        total += stats[pid][1]
        todo.extend(children.get(pid, []))
    return total


def machine_busy() -> float:
    """CPU seconds the whole machine spent busy (all cores; /proc/stat minus idle and iowait)."""
    with open("/proc/stat", encoding="ascii") as f:
        cpu = [int(x) for x in f.readline().split()[1:9]]
    return (sum(cpu) - cpu[3] - cpu[4]) / CLK_TCK


# ---------------------------------------------------------------- the fleet


def private_redis(workdir: Path) -> tuple[subprocess.Popen[bytes], str] | None:
    """A redis-server of our own on a free port (no persistence): its CPU is the fleet's alone."""
    binary = shutil.which("redis-server")
    if binary is None:
        return None
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conf = workdir / "redis.conf"
    conf.write_text(f'port {port}\nbind 127.0.0.1\ndir "{workdir}"\nsave ""\nappendonly no\n')
    proc = subprocess.Popen([binary, str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.time() + 15
    while not localredis.answers(url):
        if time.time() > deadline or proc.poll() is not None:
            proc.kill()
            raise SystemExit(f"redis-server on port {port} did not start")
        time.sleep(0.05)
    return proc, url


@dataclass
class FleetSpec:
    clusters: int = 200
    nodes: int = 50
    pods_per_node: int = 10
    interval: float = 60.0
    workers: int = 2
    concurrency: int = 4
    tick: float = 5.0
    page_cache_mb: int | None = None  # kubesim's --page-cache-mb; None: its default
    config: dict[str, Any] = field(default_factory=dict)  # merged into the nodewatch config
    quiet: bool = False


class Fleet:
    """``with Fleet(spec) as fleet:`` kubesim, Redis, N workers and beat running; ``fleet.t0`` = first scan."""

    def __init__(self, spec: FleetSpec) -> None:
        self.spec = spec
        self._tmp = tempfile.TemporaryDirectory(prefix="bench-fleet-")
        self.tmp = Path(self._tmp.name)
        self.procs: list[subprocess.Popen[bytes]] = []
        self.redis_proc: subprocess.Popen[bytes] | None = None
        self.local: localredis.LocalRedis | None = None
        self.sim: KubesimProcess | None = None
        self.names: list[str] = []
        self.t0 = 0.0
        self.setup_s: dict[str, float] = {}

    def say(self, text: str) -> None:
        if not self.spec.quiet:
            print(text, flush=True)

    def __enter__(self) -> Fleet:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _start(self) -> None:
        s = self.spec
        t = time.time()
        started = private_redis(self.tmp)
        if started is not None:
            self.redis_proc, self.redis_url = started
        else:
            self.local = localredis.find_or_start(env_url="")
            self.redis_url = self.local.url
        self.r = redis.Redis.from_url(self.redis_url, decode_responses=True)
        extra = ["--page-cache-mb", str(s.page_cache_mb)] if s.page_cache_mb is not None else []
        self.sim = KubesimProcess(
            clusters=s.clusters,
            nodes=s.nodes,
            pods_per_node=s.pods_per_node,
            start_timeout=900,
            extra_args=extra,
        ).start()
        self.setup_s["kubesim_ready"] = time.time() - t
        deadline = time.time() + 900
        while not self.sim.control.call("GET", "").get("warm", True):  # pod JSON pre-rendered
            if time.time() > deadline:
                raise SystemExit("kubesim not warm within 900 s")
            time.sleep(1)
        self.setup_s["kubesim_warm"] = time.time() - t
        self.say(
            f"kubesim: {s.clusters} clusters x {s.nodes} nodes x {s.pods_per_node} pods ready after "
            f"{self.setup_s['kubesim_ready']:.0f}s, warm after {self.setup_s['kubesim_warm']:.0f}s, "
            f"RSS {rss_mb(self.sim.proc.pid if self.sim.proc else 0):.0f} MB"
        )
        cfg = self.tmp / "config.yaml"
        base = {
            "checkInterval": s.interval,
            "dispatchTick": s.tick,
            "logLevel": "warning",
            "clustersDir": str(self.sim.kubeconfig_dir),
            "collect": {"requestTimeout": 10},
        }
        cfg.write_text(yaml.safe_dump({**base, **s.config}))
        env = dict(os.environ, REDIS_URL=self.redis_url, NODEWATCH_CONFIG=str(cfg), PYTHONUNBUFFERED="1")
        self.log_path = self.tmp / "procs.log"
        logs = open(self.log_path, "wb")  # noqa: SIM115 (closed with the directory)
        for i in range(s.workers):
            argv = [NODEWATCH, "worker", "--concurrency", str(s.concurrency), "--hostname", f"bench{i}@%h"]
            self.procs.append(
                subprocess.Popen(argv, env=env, stdout=logs, stderr=subprocess.STDOUT, cwd=ROOT)
            )
        self.beat = subprocess.Popen(
            [NODEWATCH, "beat"], env=env, stdout=logs, stderr=subprocess.STDOUT, cwd=ROOT
        )
        self.procs.append(self.beat)
        self.names = sorted(p.stem for p in self.sim.kubeconfig_dir.glob("*.yaml"))
        self.setup_s["workers_started"] = time.time() - t
        # up = the first scan recorded
        deadline = time.time() + 180
        while not any(Stores(self.r).schedule.scan_status(n) for n in self.names[:50]):
            if time.time() > deadline:
                raise SystemExit(f"no scan recorded within 180 s; see the worker logs:\n{self.logs_tail()}")
            time.sleep(0.5)
        self.t0 = time.time()
        self.setup_s["first_scan"] = self.t0 - t

    def logs_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def groups(self) -> dict[str, list[int]]:
        """The process trees whose CPU is reported, by role."""
        out = {
            "workers": [p.pid for p in self.procs if p is not self.beat],
            "beat": [self.beat.pid],
            "kubesim": [self.sim.proc.pid] if self.sim and self.sim.proc else [],
            "redis": [self.redis_proc.pid] if self.redis_proc else [],
        }
        return out

    def cpu(self) -> dict[str, float]:
        """CPU seconds so far per role, plus the machine's busy time and Redis's command count."""
        out = {role: tree_cpu(pids) for role, pids in self.groups().items() if pids}
        me = (
            os.times()
        )  # its threads (chatsim in bench_latency) but not its children: they are the roles above
        out["bench (this process)"] = me.user + me.system
        if not self.redis_proc:  # a shared Redis: its CPU is not ours alone, but INFO is the best we have
            info = self.r.info("cpu")
            out["redis (shared server)"] = float(info["used_cpu_sys"]) + float(info["used_cpu_user"])
        out["_machine"] = machine_busy()
        out["_redis_commands"] = float(self.r.info("stats")["total_commands_processed"])
        out["_time"] = time.time()
        return out

    def stop(self) -> None:
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.procs = []
        if self.sim is not None:
            self.sim.stop()
            self.sim = None

    def close_redis(self) -> None:
        if self.redis_proc is not None:
            self.redis_proc.terminate()
            self.redis_proc.wait(10)
            self.redis_proc = None
        if self.local is not None:
            self.local.close()
            self.local = None
        self._tmp.cleanup()


def rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def cpu_split(before: dict[str, float], after: dict[str, float]) -> dict[str, Any]:
    span = after["_time"] - before["_time"]
    roles = {k: round(after[k] - before[k], 2) for k in before if not k.startswith("_")}
    machine = after["_machine"] - before["_machine"]
    ours = sum(v for k, v in roles.items() if k != "redis (shared server)")
    roles["other processes on the machine"] = round(max(0.0, machine - ours), 2)
    return {
        "span_s": round(span, 1),
        "cpu_s": roles,
        "machine_busy_s": round(machine, 2),
        "cores_busy": round(machine / span, 2),
        "redis_commands": int(after["_redis_commands"] - before["_redis_commands"]),
    }


# ---------------------------------------------------------------- scan records


def analyse(r: redis.Redis, names: list[str], t_from: float, t_to: float, interval: float) -> dict[str, Any]:
    """Figures from the scan records: a scan belongs to the interval its due time (start - lag) falls in, so a
    late scan is lag, not a miss; missed and doubled are gaps between two due times of one cluster."""
    lags: list[float] = []
    durations: list[float] = []
    reads: list[float] = []
    rts: list[float] = []
    requests: list[float] = []
    wire: list[float] = []
    nodes = 0
    outcomes: dict[str, int] = {}
    missed, overlaps, doubled, counts = 0, 0, 0, []
    never: list[str] = []
    gaps: list[float] = []
    windows = int(round((t_to - t_from) / interval))
    by_interval: list[list[float]] = [[] for _ in range(windows)]
    records: list[dict[str, Any]] = []
    for name in names:
        hist = sorted(Stores(r).schedule.scan_history(name), key=lambda h: float(h["started"]))
        records.extend({"cluster": name, **h} for h in hist)
        for a, b in zip(hist, hist[1:], strict=False):
            if float(b["started"]) < float(a["ended"]):
                overlaps += 1
        inside = [h for h in hist if t_from <= float(h["started"]) - float(h["lag_s"]) < t_to]
        counts.append(len(inside))
        if not inside:
            never.append(name)
        starts = [float(h["started"]) for h in hist if float(h["started"]) >= t_from - interval]
        gaps.extend(b - a for a, b in zip(starts, starts[1:], strict=False))
        # the window grid is not aligned with each cluster's phase: count a miss only as a gap between due times
        dues = [d for h in hist if t_from - interval <= (d := float(h["started"]) - float(h["lag_s"])) < t_to]
        for a, b in zip(dues, dues[1:], strict=False):
            if b - a > 1.5 * interval:
                missed += round((b - a) / interval) - 1
            if b - a < 0.5 * interval:
                doubled += 1
        if dues and t_to - dues[-1] > 1.5 * interval:
            missed += int((t_to - dues[-1]) // interval)
        for h in inside:
            lag = float(h["lag_s"])
            lags.append(lag)
            by_interval[min(windows - 1, int((float(h["started"]) - lag - t_from) // interval))].append(lag)
            durations.append(float(h["duration_s"]))
            outcomes[h["outcome"]] = outcomes.get(h["outcome"], 0) + 1
            if h["outcome"] in ("ok", "slow") and h.get("nodes") not in (None, ""):
                nodes += int(h["nodes"])
            if "redis_rt" in h:
                rts.append(float(h["redis_rt"]))
            if "requests" in h:
                requests.append(float(h["requests"]))
                wire.append(float(h["bytes"]))
            if "read_total_s" in h:
                reads.append(float(h["read_total_s"]))
    measured = windows * interval
    return {
        "clusters": len(names),
        "measured_s": round(measured, 1),
        "intervals": windows,
        "scans": sum(counts),
        "scans_expected": windows * len(names),
        "scans_per_cluster_min": min(counts) if counts else 0,
        "scans_per_cluster_max": max(counts) if counts else 0,
        "clusters_never_scanned": len(never),
        "missed_intervals": missed,
        "doubled_scans": doubled,
        "overlapping_scans": overlaps,
        "outcomes": outcomes,
        "nodes_evaluated": nodes,
        "nodes_per_minute": round(nodes / (measured / 60)) if measured else 0,
        "gap_min_s": round(min(gaps), 3) if gaps else None,
        "gap_max_s": round(max(gaps), 3) if gaps else None,
        "lag_p50_s": round(pct(lags, 50), 3),
        "lag_p99_s": round(pct(lags, 99), 3),
        "lag_max_s": round(max(lags), 3) if lags else None,
        "lag_by_interval": [
            {
                "scans": len(v),
                "p50_s": round(pct(v, 50), 2),
                "p99_s": round(pct(v, 99), 2),
                "max_s": round(max(v), 2) if v else None,
            }
            for v in by_interval
        ],  # fmt: skip
        "duration_p50_s": round(pct(durations, 50), 3),
        "duration_p99_s": round(pct(durations, 99), 3),
        "duration_mean_s": round(statistics.fmean(durations), 3) if durations else None,
        "read_p50_s": round(pct(reads, 50), 3),
        "redis_rt_p50": pct(rts, 50),
        "redis_rt_max": max(rts) if rts else None,
        "redis_rt_mean": round(statistics.fmean(rts), 2) if rts else None,
        "requests_per_scan_p50": pct(requests, 50),
        "kb_per_scan_p50": round(pct(wire, 50) / 1024, 1),
        "_records": records,
    }


# ---------------------------------------------------------------- one measured run


def measure(
    fleet: Fleet, duration: float, during: Callable[[float, float], None] | None = None
) -> dict[str, Any]:
    """Wait out the ramp, then measure whole intervals (``duration`` less the ramp, rounded down, at least one);
    ``during(t_from, t_to)`` runs in this thread inside the window and must return by ``t_to``. CPU is read at
    every interval's edge (in a thread), so a lag spike can be set beside what the machine was doing then."""
    s = fleet.spec
    windows = max(1, int((duration - s.interval) // s.interval))
    t_from = fleet.t0 + s.interval
    t_to = t_from + windows * s.interval
    load_before = os.getloadavg()
    snaps: list[dict[str, float]] = []

    def snapshots() -> None:
        for k in range(windows + 1):
            time.sleep(max(0.0, t_from + k * s.interval - time.time()))
            snaps.append(fleet.cpu())

    reader = threading.Thread(target=snapshots, name="cpu-snapshots", daemon=True)
    reader.start()
    time.sleep(max(0.0, t_from - time.time()))
    if during is not None:
        during(t_from, t_to)
    reader.join()
    load_after = os.getloadavg()
    # a scan is recorded when it ends: give the scans due just before t_to time to finish (the fleet runs on)
    time.sleep(min(30.0, s.interval / 2))
    figures = analyse(fleet.r, fleet.names, t_from, t_to, s.interval)
    split = cpu_split(snaps[0], snaps[-1])
    for k, lag in enumerate(figures["lag_by_interval"]):
        part = cpu_split(snaps[k], snaps[k + 1])
        lag["cores"] = {role: round(sec / part["span_s"], 2) for role, sec in part["cpu_s"].items()}
    nodes = figures["nodes_evaluated"]
    workers = split["cpu_s"]["workers"]
    scans = figures["scans"]
    figures.update(
        {
            "nodes_per_cluster": s.nodes,
            "pods_per_node": s.pods_per_node,
            "interval_s": s.interval,
            "workers": s.workers,
            "concurrency": s.concurrency,
            "dispatch_tick_s": s.tick,
            "setup_s": {k: round(v, 1) for k, v in fleet.setup_s.items()},
            "load_before": [round(x, 2) for x in load_before],
            "load_after": [round(x, 2) for x in load_after],
            "cpu": split,
            "worker_cpu_per_1000_nodes_s": round(workers / (nodes / 1000), 3) if nodes else None,
            "worker_cpu_per_scan_s": round(workers / scans, 3) if scans else None,
            "redis_rt_per_scan_p50": figures["redis_rt_p50"] + TASK_ROUND_TRIPS,
            "redis_commands_per_scan_all_clients": round(split["redis_commands"] / scans, 1)
            if scans
            else None,
            "kubesim_rss_mb": round(rss_mb(fleet.sim.proc.pid), 0) if fleet.sim and fleet.sim.proc else None,
        }
    )
    return figures


def save_records(figures: dict[str, Any], path: str | None) -> None:
    """Every scan record read (one JSON object a line, with its cluster), for a closer look at a run."""
    records = figures.pop("_records", [])
    if path:
        with open(path, "w", encoding="utf-8") as f:
            f.writelines(json.dumps(rec) + "\n" for rec in records)


def report(f: dict[str, Any]) -> bool:
    """Print the figures for people; True when every cluster was scanned every interval without overlaps."""
    c = f["cpu"]
    print(f"measured {f['intervals']} whole intervals ({f['measured_s']}s) after a one-interval ramp; "
          f"load average before {f['load_before']}, after {f['load_after']}")  # fmt: skip
    print(f"scans due in the window: {f['scans']} (clusters x intervals = {f['scans_expected']}); per cluster "
          f"{f['scans_per_cluster_min']}..{f['scans_per_cluster_max']}; clusters never scanned "
          f"{f['clusters_never_scanned']}; outcomes {f['outcomes']}")  # fmt: skip
    print(f"missed intervals: {f['missed_intervals']}   doubled scans: {f['doubled_scans']}   "
          f"overlapping scans: {f['overlapping_scans']}")  # fmt: skip
    print(f"nodes evaluated: {f['nodes_evaluated']} = {f['nodes_per_minute']} per minute")
    print(f"time between two scans of one cluster: min {f['gap_min_s']}s  max {f['gap_max_s']}s")
    print(f"scan lag behind due time: p50 {f['lag_p50_s']}s  p99 {f['lag_p99_s']}s  max {f['lag_max_s']}s")
    for k, lag in enumerate(f["lag_by_interval"]):
        cores = "  ".join(f"{role.split(' ')[0]} {v}" for role, v in lag["cores"].items() if v >= 0.005)
        print(f"  interval {k + 1}: {lag['scans']} scans, lag p50 {lag['p50_s']}s p99 {lag['p99_s']}s max "
              f"{lag['max_s']}s; cores busy: {cores}")  # fmt: skip
    print(
        f"scan duration: p50 {f['duration_p50_s']}s  p99 {f['duration_p99_s']}s  (reads p50 {f['read_p50_s']}s)"
    )
    print(f"per scan: {f['requests_per_scan_p50']:g} requests, {f['kb_per_scan_p50']} KB received (p50); Redis "
          f"round trips p50 {f['redis_rt_per_scan_p50']:g} (run_scan's redis_rt p50 {f['redis_rt_p50']:g}, mean "
          f"{f['redis_rt_mean']}, max {f['redis_rt_max']}, + {TASK_ROUND_TRIPS} of the task: lock, unlock, "
          f"record); Redis commands from all clients (Celery broker included) "
          f"{f['redis_commands_per_scan_all_clients']} per scan")  # fmt: skip
    if abs(c["span_s"] - f["measured_s"]) > 0.05 * f["measured_s"]:
        print(f"WARNING: the CPU window lasted {c['span_s']}s, not {f['measured_s']}s: this process was held up "
              "(an overloaded machine?); per-minute and per-node CPU figures are off by as much")  # fmt: skip
    print(f"CPU over the {c['span_s']}s window (s; machine busy {c['machine_busy_s']}s = {c['cores_busy']} of "
          f"{os.cpu_count()} cores):")  # fmt: skip
    for role, sec in c["cpu_s"].items():
        print(f"  {role:32} {sec:9.2f}s  {sec / c['span_s']:5.2f} cores")
    print(f"worker CPU per 1,000 nodes evaluated: {f['worker_cpu_per_1000_nodes_s']}s "
          f"({f['worker_cpu_per_scan_s']}s per scan); kubesim RSS {f['kubesim_rss_mb']} MB")  # fmt: skip
    return f["missed_intervals"] == 0 and f["overlapping_scans"] == 0 and f["doubled_scans"] == 0


# ---------------------------------------------------------------- registry reads


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


# ---------------------------------------------------------------- command line


def add_fleet_args(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--clusters", type=int, default=200)
    ap.add_argument("--nodes", type=int, default=50)
    ap.add_argument("--pods-per-node", type=int, default=10)
    ap.add_argument("--interval", type=float, default=60.0, help="scan interval of every cluster (s)")
    ap.add_argument(
        "--duration",
        type=float,
        default=300.0,
        help="run length after the first scan (s); one interval is ramp",
    )
    ap.add_argument("--workers", type=int, default=2, help="worker processes")
    ap.add_argument("--concurrency", type=int, default=4, help="scan slots per worker process")
    ap.add_argument("--tick", type=float, default=5.0, help="dispatcher tick (s)")
    ap.add_argument(
        "--page-cache-mb", type=int, help="kubesim's list page cache (MB; default: kubesim's 512)"
    )
    ap.add_argument("--json", action="store_true", help="print the figures as JSON only")
    ap.add_argument("--records", metavar="PATH", help="write every scan record read to PATH (JSON lines)")


def spec_of(args: argparse.Namespace, config: dict[str, Any] | None = None) -> FleetSpec:
    return FleetSpec(clusters=args.clusters, nodes=args.nodes, pods_per_node=args.pods_per_node,
                     interval=args.interval, workers=args.workers, concurrency=args.concurrency, tick=args.tick,
                     page_cache_mb=args.page_cache_mb, config=config or {}, quiet=args.json)  # fmt: skip


def header(fleet: Fleet, duration: float) -> None:
    s = fleet.spec
    fleet.say(
        f"fleet up (first scan {fleet.setup_s['first_scan'] - fleet.setup_s['workers_started']:.0f}s after the "
        f"workers started): "
        f"{len(fleet.names)} clusters x {s.nodes} nodes ({s.pods_per_node} pods/node), interval {s.interval:g}s, "
        f"{s.workers} workers x {s.concurrency}, tick {s.tick:g}s; running {duration:g}s; commit "
        f"{git_commit()}; {time.strftime('%Y-%m-%d %H:%M:%S %z')}"
    )


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        )
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()  # fmt: skip
        return out.stdout.strip() + (" (work tree has uncommitted changes)" if dirty else "")
    except OSError:
        return "?"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_fleet_args(ap)
    ap.add_argument(
        "--hub-secrets", type=int, metavar="N", help="only time a registry read of N Secrets, then exit"
    )
    args = ap.parse_args()
    if args.hub_secrets:
        return measure_hub(args.hub_secrets)
    fleet = Fleet(spec_of(args))
    try:
        with fleet:
            header(fleet, args.duration)
            figures = measure(fleet, args.duration)
    finally:
        fleet.close_redis()
    save_records(figures, args.records)
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    ok = report(figures)
    print("RESULT:", "every cluster scanned every interval, no overlaps" if ok else "NOT on time (see above)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
