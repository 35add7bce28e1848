"""Scan benchmark (issue 11): one scan of a 100 / 1,000 / 5,000-node kubesim cluster, nodewatch against the sketch.

    .venv/bin/python bench/bench_scan.py                        # --nodes 100,1000,5000 --pods-per-node 30 --repeat 3
    .venv/bin/python bench/bench_scan.py --nodes 100 --repeat 1 # a smoke run

For each size it starts kubesim (one cluster), waits until it is warm and lists nodes and pods once unmeasured, then
alternates, in separate child processes (bench/scan_child.py) and in the same run:

- **nodewatch worker**: settings from a config file naming the cluster, ``clusters.find``, then
  ``worker.pipeline.run_scan`` against a real Redis, twice: the *first* scan of the process (cold caches, no
  inventory in Redis: the cluster's keys are deleted before each run) and the *steady* one (a worker scans the same
  cluster every interval);
- **sketch reference** (bench/sketch_reference.py): the seed sketch's ``check_all_nodes`` with the official client
  and its models, one pod list per node;
- **nodewatch scan --once --output json --kubeconfig K**, the whole command (what issue 11's first table measured).

Figures per run: wall and CPU (``time.process_time``) of the scan alone, inside a warm child (imports excluded);
the child's whole-process CPU (imports included) and peak RSS (``os.wait4``: ru_utime + ru_stime, ru_maxrss);
requests and bytes per scan from kubesim's traffic counters (``/_sim/clusters/{c}/traffic``), or counted in the
child on the client side when this kubesim has none. The table shows the median of ``--repeat`` runs and the ratio
nodewatch ÷ reference. A run past ``--timeout`` seconds (per scan) is killed and shown as a timeout.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import queue
import signal
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
import requests
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import scan_history  # noqa: E402

from kubesim.testing import KubesimError, KubesimProcess  # noqa: E402
from worker import localredis  # noqa: E402
from worker.state import store as state_store  # noqa: E402

CHILD = str(Path(__file__).resolve().parent / "scan_child.py")
NODEWATCH = str(Path(sys.executable).with_name("nodewatch"))
CLUSTER = "sim-1"  # kubesim's name for its one cluster
SIDES = ("nodewatch", "reference", "command")


# ---------------------------------------------------------------- traffic counters


class Traffic:
    """Requests and bytes of one kubesim cluster: kubesim's own counters when it has them ("server"), else the
    child counts on the client side ("client"; the whole command then has no figures)."""

    def __init__(self, sim: KubesimProcess, cluster: str, want: str) -> None:
        self.control = sim.control
        self.cluster = cluster
        self.port = int(sim.base_url.rsplit(":", 1)[1].split("/")[0])
        self.mode = "client"
        if want in ("auto", "server"):
            try:
                doc = self.read()
                if "requests" in doc and "bytes" in doc:
                    self.mode = "server"
            except KubesimError:
                pass  # no counters in this kubesim: 404
            if want == "server" and self.mode != "server":
                raise SystemExit("--traffic server: this kubesim has no /_sim/clusters/{c}/traffic")

    def read(self) -> dict[str, Any]:
        fn = getattr(self.control, "traffic", None)
        if fn is not None:
            return dict(fn(self.cluster))
        return dict(self.control.call("GET", f"/clusters/{self.cluster}/traffic"))

    def reset(self) -> dict[str, Any]:
        """Zero the counters; returns what they held (kubesim reads and resets in one step)."""
        if self.mode != "server":
            return {}
        fn = getattr(self.control, "reset_traffic", None)
        if fn is not None:
            return dict(fn(self.cluster) or {})
        return dict(self.control.call("DELETE", f"/clusters/{self.cluster}/traffic") or {})

    def take(self) -> dict[str, Any]:
        """The counters since the last reset (then reset); {} in client mode."""
        doc = self.reset()
        if not doc:
            return {}
        out = {"requests": doc["requests"], "bytes": doc["bytes"]}
        if "raw_bytes" in doc:
            out["raw_bytes"] = doc["raw_bytes"]
        if "by_path" in doc and len(doc["by_path"]) <= 50:
            out["by_path"] = doc["by_path"]
        return out


# ---------------------------------------------------------------- one child run


@dataclass
class Run:
    side: str
    scans: list[dict[str, Any]] = field(default_factory=list)
    proc_wall_s: float | None = None
    proc_cpu_s: float | None = None
    rss_mb: float | None = None
    requests: int | None = None  # the whole command only (children report theirs per scan)
    bytes: int | None = None
    raw_bytes: int | None = None
    timeout: bool = False
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.timeout and not self.error


class Waiter:
    """os.wait4 in a thread, so the parent can time out; keeps the child's rusage."""

    def __init__(self, proc: subprocess.Popen[Any]) -> None:
        self.proc = proc
        self.status: int | None = None
        self.usage: Any = None
        self.ended = 0.0
        self.thread = threading.Thread(target=self._wait, daemon=True)
        self.thread.start()

    def _wait(self) -> None:
        _pid, self.status, self.usage = os.wait4(self.proc.pid, 0)
        self.ended = time.perf_counter()
        self.proc.returncode = os.waitstatus_to_exitcode(self.status)  # Popen must not wait for it again

    def kill(self) -> None:
        # os.kill, not Popen.kill: Popen polls (waitpid) first and could reap the child before wait4 does
        if self.thread.is_alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGKILL)

    def join(self, timeout: float) -> bool:
        self.thread.join(timeout)
        if self.thread.is_alive():
            self.kill()
            self.thread.join(30)
            return False
        return True


def _usage(run: Run, waiter: Waiter, started: float) -> None:
    if waiter.usage is not None:
        run.proc_cpu_s = waiter.usage.ru_utime + waiter.usage.ru_stime
        run.rss_mb = waiter.usage.ru_maxrss / 1024  # KiB on Linux
        run.proc_wall_s = waiter.ended - started


def run_child(
    side: str, argv: list[str], traffic: Traffic, timeout: float, env: dict[str, str],
    clock: Callable[[], float] | None = None,
) -> Run:  # fmt: skip
    """One child (scan_child.py): answer its JSON lines, take kubesim's counters between its scans. ``clock``
    (a simulated one): called before each scan, its answer is the scan's ``now``."""
    run = Run(side)
    with tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True,
                                env=env, cwd=ROOT)  # fmt: skip
        waiter = Waiter(proc)
        lines: queue.Queue[str] = queue.Queue()
        assert proc.stdout is not None and proc.stdin is not None
        out, to_child = proc.stdout, proc.stdin
        threading.Thread(target=lambda: [lines.put(x) for x in out] + [lines.put("")], daemon=True).start()
        while True:
            try:
                line = lines.get(timeout=timeout)
            except queue.Empty:
                run.timeout = True
                waiter.kill()
                break
            if not line:  # the child ended without "done"
                break
            msg = json.loads(line)
            event = msg.pop("event")
            if event == "done":
                break
            if event == "scan":
                msg.update(traffic.take())
                run.scans.append(msg)
            elif event == "ready":
                traffic.reset()
            try:
                to_child.write(f"go {clock()}\n" if clock else "go\n")
                to_child.flush()
            except BrokenPipeError:
                break
        with contextlib.suppress(BrokenPipeError):
            to_child.close()
        if not waiter.join(60):
            run.error = run.error or "child did not exit"
        _usage(run, waiter, started)
        if not run.timeout and (proc.returncode != 0 or not run.scans):
            err.seek(0)
            run.error = f"exit {proc.returncode}: {err.read()[-1500:]}"
    return run


def run_command(kubeconfig: Path, nodes: int, traffic: Traffic, timeout: float, env: dict[str, str]) -> Run:
    """``nodewatch scan --once --output json --kubeconfig K`` as a whole process."""
    run = Run("command")
    argv = [NODEWATCH, "scan", "--once", "--output", "json", "--kubeconfig", str(kubeconfig)]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        traffic.reset()
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, text=True, env=env, cwd=ROOT)
        waiter = Waiter(proc)
        run.timeout = not waiter.join(timeout)
        _usage(run, waiter, started)
        got = traffic.take()
        run.requests, run.bytes, run.raw_bytes = got.get("requests"), got.get("bytes"), got.get("raw_bytes")
        if run.timeout:
            return run
        out.seek(0)
        try:
            doc = json.load(out)
            clusters = doc["clusters"] if "clusters" in doc else [doc]  # one cluster or the list of all
            seen = sum(len(c["nodes"]) for c in clusters)
        except (ValueError, KeyError, TypeError):
            seen = -1
        # exit 1 = the scan worked and found something critical (documented): still a complete scan
        if proc.returncode not in (0, 1) or seen != nodes:
            err.seek(0)
            run.error = f"exit {proc.returncode}, {seen} nodes in the output: {err.read()[-1500:]}"
    return run


# ---------------------------------------------------------------- one size


def wait_and_prime(sim: KubesimProcess, kubeconfig: Path, timeout: float) -> dict[str, float]:
    """Wait for kubesim's warm-up, then list nodes and pods once (unmeasured) so every object is rendered.
    The plain pod list's size is kept: issue 11's "bytes per scan <= one pod list" is measured against it."""
    t0 = time.perf_counter()
    while not sim.control.call("GET", "").get("warm", True):
        if time.perf_counter() - t0 > timeout:
            raise SystemExit(f"kubesim not warm after {timeout:.0f}s")
        time.sleep(0.2)
    warm = time.perf_counter() - t0
    doc = yaml.safe_load(kubeconfig.read_text())
    server = doc["clusters"][0]["cluster"]["server"]
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {doc['users'][0]['user']['token']}"
    session.headers["Accept-Encoding"] = "identity"  # the plain JSON size
    t1 = time.perf_counter()
    sizes = {}
    for path in ("/api/v1/nodes", "/api/v1/pods", "/apis/metrics.k8s.io/v1beta1/nodes"):
        with session.get(server + path, stream=True, timeout=timeout) as resp:
            resp.raise_for_status()
            sizes[path] = sum(len(chunk) for chunk in resp.iter_content(1 << 20))
    return {"warm_s": warm, "prime_s": time.perf_counter() - t1, "pod_list_bytes": sizes["/api/v1/pods"]}


def check(run: Run, nodes: int) -> Run:
    for scan in run.scans:
        if scan.get("outcome") != "ok" or scan.get("nodes") != nodes:
            run.error = run.error or (
                f"scan {scan.get('scan')}: outcome {scan.get('outcome')} {scan.get('error', '')}, "
                f"{scan.get('nodes')} of {nodes} nodes"
            )
    return run


def bench_size(
    args: argparse.Namespace, nodes: int, redis_url: str, store: state_store.Stores
) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k not in ("NODEWATCH_CONFIG", "NODEWATCH_CLUSTERS_DIR")}
    t0 = time.perf_counter()
    with (
        KubesimProcess(
            nodes=nodes,
            pods_per_node=args.pods_per_node,
            seed=args.seed,
            start_timeout=600,
            speed=0.0 if args.history_days else 1.0,  # with history: a manual clock, advanced scan by scan
        ) as sim,
        tempfile.TemporaryDirectory(prefix="bench-scan-") as tmp,
    ):
        ready_s = time.perf_counter() - t0
        kubeconfig = sim.kubeconfigs[CLUSTER]
        setup = {"ready_s": ready_s, **wait_and_prime(sim, kubeconfig, args.timeout)}
        traffic = Traffic(sim, CLUSTER, args.traffic)
        config = Path(tmp) / "nodewatch.yaml"
        config.write_text(
            yaml.safe_dump({"clusters": [{"name": CLUSTER, "kubeconfig": str(kubeconfig)}], "collect": {}})
        )
        count = ["--count-port", str(traffic.port)] if traffic.mode == "client" else []
        argv = {
            "nodewatch": [sys.executable, CHILD, "nodewatch", "--config", str(config), "--cluster", CLUSTER,
                          "--redis", redis_url, "--scans", str(args.nodewatch_scans), *count],
            "reference": [sys.executable, CHILD, "reference", "--kubeconfig", str(kubeconfig),
                          "--scans", str(args.reference_scans), *count],
        }  # fmt: skip
        setup["load_before"] = os.getloadavg()[0]
        say(f"[{nodes} nodes] kubesim ready {ready_s:.1f}s, warm +{setup['warm_s']:.1f}s, primed in "
            f"{setup['prime_s']:.1f}s; traffic counted by {'kubesim' if traffic.mode == 'server' else 'the client'}")  # fmt: skip
        runs: dict[str, list[Run]] = {s: [] for s in SIDES}
        if args.history_days:
            runs["nodewatch"], setup["history"] = with_history(args, sim, redis_url, store, argv["nodewatch"],
                                                               traffic, env)  # fmt: skip
        for i in range(0 if args.history_days else args.repeat):
            order = ["nodewatch", "reference"] if i % 2 == 0 else ["reference", "nodewatch"]
            if not args.no_command:
                order.append("command")
            for side in order:
                if side == "command":
                    run = run_command(kubeconfig, nodes, traffic, args.timeout, env)
                else:
                    if side == "nodewatch":
                        store.clear_cluster(CLUSTER)  # a first scan starts from nothing
                    run = check(run_child(side, argv[side], traffic, args.timeout, env), nodes)
                runs[side].append(run)
                say(f"[{nodes} nodes] repeat {i + 1}/{args.repeat} {side}: {describe(run)}")
    setup["load_after"] = os.getloadavg()[0]
    return {"nodes": nodes, "pods_per_node": args.pods_per_node, "traffic": traffic.mode, "setup": setup,
            "runs": {s: [r.__dict__ for r in rs] for s, rs in runs.items()}}  # fmt: skip


def with_history(
    args: argparse.Namespace, sim: KubesimProcess, redis_url: str, store: state_store.Stores, argv: list[str],
    traffic: Traffic, env: dict[str, str],
) -> tuple[list[Run], dict[str, Any]]:  # fmt: skip
    """``--history-days``: the nodewatch worker alone, ``--repeat`` children, each starting from nothing but a
    week of history (bench/scan_history.py) and scanning every ``--interval`` of kubesim's manual clock."""
    names = sim.control.cluster(CLUSTER)["nodes"]
    client = redis.Redis.from_url(redis_url)
    t0 = time.perf_counter()
    preload = scan_history.Preload(client, CLUSTER, names, args.above_floor, args.templates, args.seed,
                                   args.interval, args.history_days, sim.control.now())  # fmt: skip
    preload.kubesim_usage(sim.control)
    scans = preload.fill(sim.control.now())
    info = {"above_floor": len(preload.leaking), "templates": len(preload.sims), "fill_scans": scans,
            "fill_s": time.perf_counter() - t0, "interval": args.interval, "days": args.history_days}  # fmt: skip
    say(f"[{len(names)} nodes] history: {len(preload.sims)} templates x {scans:,} scans in {info['fill_s']:.0f}s; "
        f"{len(preload.leaking):,} nodes leaking memory above the floor")  # fmt: skip
    runs = []
    try:
        for i in range(args.repeat):
            store.clear_cluster(CLUSTER)  # no inventory, alerts or prediction memory: only the history
            preload.catch_up(sim.control.now())
            t1 = time.perf_counter()
            info.setdefault("copied_bytes", []).append(preload.copy())
            info.setdefault("copy_s", []).append(time.perf_counter() - t1)
            info.setdefault("load", []).append(os.getloadavg())
            run = check(run_child("nodewatch", argv, traffic, args.timeout, env,
                                  clock=lambda: sim.control.advance(args.interval)), len(names))  # fmt: skip
            runs.append(run)
            say(f"[{len(names)} nodes] repeat {i + 1}/{args.repeat} nodewatch with history: {describe(run)}")
    finally:
        preload.forget()
        client.close()
    return runs, info


# ---------------------------------------------------------------- figures


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def describe(run: Run) -> str:
    if run.timeout:
        return f"timeout after {len(run.scans)} scan(s)"
    if run.error:
        return f"FAILED: {run.error.strip().splitlines()[-1] if run.error.strip() else run.error}"
    parts = [f"scan {s['scan']}: {s['wall_s']:.2f}s wall {s['cpu_s']:.2f}s cpu" for s in run.scans]
    if run.proc_cpu_s is not None:
        parts.append(f"process {run.proc_cpu_s:.2f}s cpu {run.rss_mb:.0f} MB")
    return "; ".join(parts)


def median(values: list[float | int | None]) -> float | None:
    got = [v for v in values if v is not None]
    return statistics.median(got) if got else None


def figures(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Median per row: nodewatch first / steady scan, reference scan, whole command."""
    out: dict[str, dict[str, Any]] = {}
    runs = result["runs"]
    for row, side, pick in (("nodewatch_first", "nodewatch", 0), ("nodewatch_steady", "nodewatch", -1),
                            ("reference", "reference", -1), ("command", "command", None)):  # fmt: skip
        done = [r for r in runs[side] if not r["timeout"] and not r["error"]]
        scans = [r["scans"][pick] for r in done] if pick is not None else []
        fig: dict[str, Any] = {"ok": len(done), "of": len(runs[side])}
        fig["timeouts"] = sum(1 for r in runs[side] if r["timeout"])
        for key in ("wall_s", "cpu_s", "requests", "bytes", "raw_bytes", "collect_wall_s", "collect_cpu_s"):
            fig[key] = median([s.get(key) for s in scans])
        for key in ("proc_cpu_s", "rss_mb", "proc_wall_s"):
            fig[key] = median([r[key] for r in done])
        if side == "command":
            fig["wall_s"] = fig["proc_wall_s"]
            fig["requests"] = median([r["requests"] for r in done])
            fig["bytes"] = median([r["bytes"] for r in done])
            fig["raw_bytes"] = median([r["raw_bytes"] for r in done])
        out[row] = fig
    return out


def ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0:
        return "-"
    return f"{a / b:.2f}" if a / b < 10 else f"{a / b:.0f}"


def num(v: float | None, fmt: str) -> str:
    return "-" if v is None else format(v, fmt)


def mb(v: float | None) -> float | None:
    return None if v is None else v / 1e6


ROWS = (
    ("nodewatch worker, first scan", "nodewatch_first"),
    ("nodewatch worker, steady scan", "nodewatch_steady"),
    ("sketch reference, one scan", "reference"),
    ("nodewatch scan --once (command)", "command"),
)


def table(result: dict[str, Any], repeat: int) -> str:
    f = figures(result)
    nodes, ppn = result["nodes"], result["pods_per_node"]
    raw = any(g["raw_bytes"] is not None for g in f.values())
    heads = [
        "wall s",
        "scan CPU s",
        "requests",
        "MB",
        *(["raw MB"] if raw else []),
        "proc CPU s",
        "RSS MB",
        "ok",
    ]
    out = [["", *heads]]
    for label, key in ROWS:
        g = f[key]
        if not g["of"]:
            continue
        ok = f"{g['ok']}/{g['of']}" + (f", {g['timeouts']} timeout" if g["timeouts"] else "")
        if not g["ok"]:
            out.append([label, "timeout" if g["timeouts"] else "failed", *[""] * (len(heads) - 2), ok])
            continue
        proc = key != "nodewatch_first"  # process figures once per child process
        out.append([label, num(g["wall_s"], ".2f"), num(None if key == "command" else g["cpu_s"], ".2f"),
                    num(g["requests"], ".0f"), num(mb(g["bytes"]), ".1f"),
                    *([num(mb(g["raw_bytes"]), ".1f")] if raw else []),
                    num(g["proc_cpu_s"] if proc else None, ".2f"), num(g["rss_mb"] if proc else None, ".0f"),
                    ok])  # fmt: skip
    ref, cmd, nw = f["reference"], f["command"], f["nodewatch_steady"]
    for label, key in (("nodewatch ÷ reference, steady scan", "nodewatch_steady"),
                       ("nodewatch ÷ reference, first scan", "nodewatch_first")):  # fmt: skip
        a = f[key]
        steady = key == "nodewatch_steady"
        out.append([label, ratio(a["wall_s"], ref["wall_s"]), ratio(a["cpu_s"], ref["cpu_s"]),
                    ratio(a["requests"], ref["requests"]), ratio(a["bytes"], ref["bytes"]),
                    *([ratio(a["raw_bytes"], ref["raw_bytes"])] if raw else []),
                    ratio(cmd["proc_cpu_s"], ref["proc_cpu_s"]) if steady else "",
                    ratio(nw["rss_mb"], ref["rss_mb"]) if steady else "", ""])  # fmt: skip
    widths = [max(len(row[i]) for row in out) for i in range(len(heads) + 1)]
    counted = "kubesim's counters" if result["traffic"] == "server" else "the client (child process)"
    setup = result["setup"]
    lines = [f"== {nodes:,} nodes x {ppn} pods ({nodes * ppn:,} pods), median of {repeat}; "
             f"requests/bytes per scan counted by {counted}; load average {setup.get('load_before', 0):.1f} "
             f"before, {setup.get('load_after', 0):.1f} after"]  # fmt: skip
    for row in out:
        lines.append(
            "  ".join(
                [row[0].ljust(widths[0]), *(v.rjust(w) for v, w in zip(row[1:], widths[1:], strict=True))]
            )
        )
    if nw["collect_cpu_s"] is not None and nw["wall_s"] is not None:
        lines.append(
            f"  nodewatch steady scan = collect (pipeline.read) {nw['collect_wall_s']:.2f}s wall / "
            f"{nw['collect_cpu_s']:.2f}s CPU + rules and Redis {nw['wall_s'] - nw['collect_wall_s']:.2f}s wall / "
            f"{nw['cpu_s'] - nw['collect_cpu_s']:.2f}s CPU"
        )
    for label, side in (("nodewatch steady scan", "nodewatch"), ("reference scan", "reference")):
        runs = [r for r in result["runs"][side] if r["scans"] and "by_path" in r["scans"][-1]]
        if runs:
            by = runs[-1]["scans"][-1]["by_path"]
            parts = [
                f"{k} {v['requests']} req {v['bytes'] / 1e6:.1f} MB" for k, v in by.items() if v["requests"]
            ]
            lines.append(f"  {label}, by kind (last run): " + ", ".join(parts))
    lines.extend(targets(result, f))
    lines.append(
        "  proc CPU / RSS MB: the whole child process, imports included (nodewatch worker: both scans); in the "
        "ratio row proc CPU = command ÷ reference, RSS = worker ÷ reference"
    )
    return "\n".join(lines)


def verdict(value: float | None, ok: bool, text: str) -> str:
    return f"{text}: {'-' if value is None else ('met' if ok else 'MISSED')}"


def targets(result: dict[str, Any], f: dict[str, dict[str, Any]]) -> list[str]:
    """Issue 11's targets that apply at this size, on the steady scan of the worker."""
    nw, ref = f["nodewatch_steady"], f["reference"]
    pod_list = result["setup"].get("pod_list_bytes")
    checks = []
    if nw["bytes"] is not None and pod_list:
        share = nw["bytes"] / pod_list
        raw = "" if nw["raw_bytes"] is None else f", {nw['raw_bytes'] / pod_list:.2f} x before gzip"
        text = f"bytes as sent {share:.2f} x one plain pod list ({pod_list / 1e6:.1f} MB){raw}, <= 1"
        checks.append(verdict(share, share <= 1, text))
    if result["nodes"] >= 1000 and nw["cpu_s"] and ref["cpu_s"]:
        less = ref["cpu_s"] / nw["cpu_s"]
        checks.append(verdict(less, less >= 10, f"{less:.1f}x less scan CPU than the sketch >= 10x"))
    if result["nodes"] >= 5000:
        for key, limit, unit, fmt, text in (("wall_s", 5, "s", ".2f", "wall"), ("cpu_s", 3, "s", ".2f", "CPU"),
                                            ("rss_mb", 400, " MB", ".0f", "peak RSS")):  # fmt: skip
            v = nw[key]
            checks.append(
                verdict(v, v is not None and v <= limit, f"{text} {num(v, fmt)}{unit} <= {limit}{unit}")
            )
    return ["  targets (issue 11): " + "; ".join(checks)] if checks else []


HISTORY_KEYS = (
    ("cpu_s", "scan CPU s", ".2f"), ("collect_cpu_s", "collect CPU s", ".2f"),
    ("predict_cpu_s", "trend.predict CPU s", ".2f"), ("wall_s", "wall s", ".2f"), ("predicted", "predictions", ".0f"),
    ("history_nodes", "history read, nodes", ".0f"), ("history_bytes", "history read, KB", ".0f"),
    ("redis_rt", "Redis round trips", ".0f"),
)  # fmt: skip


def history_table(result: dict[str, Any]) -> str:
    """``--history-days``: per run the first scan (no prediction memory yet), its steady scans' median, mean,
    the one with the most CPU and the one with the most predictions; medians over the runs, and the worst."""
    info, nodes = result["setup"]["history"], result["nodes"]
    done = [
        r for r in result["runs"]["nodewatch"] if not r["timeout"] and not r["error"] and len(r["scans"]) > 1
    ]
    rows: dict[str, list[dict[str, Any]]] = {"first scan (no prediction memory)": [], "steady scan, median": [],
                                             "steady scan, mean": [], "steady scan with the most CPU": [],
                                             "steady scan with the most predictions": []}  # fmt: skip
    for run in done:
        first, steady = run["scans"][0], run["scans"][1:]
        average = {k: statistics.mean(s.get(k) or 0 for s in steady) for k, _, _ in HISTORY_KEYS}
        middle = {k: median([s.get(k) for s in steady]) for k, _, _ in HISTORY_KEYS}
        most_cpu = max(steady, key=lambda s: s["cpu_s"])
        most_predicted = max(steady, key=lambda s: (s.get("predicted") or 0, s["cpu_s"]))
        for row, got in zip(rows.values(), (first, middle, average, most_cpu, most_predicted), strict=True):
            row.append(got)
    heads = [label for _, label, _ in HISTORY_KEYS]
    out = [["", *heads]]
    for label, got in rows.items():
        divide = {"history_bytes": 1024}
        out.append(
            [
                label,
                *(
                    num(median([(g.get(k) or 0) / divide.get(k, 1) for g in got]), f)
                    for k, _, f in HISTORY_KEYS
                ),
            ]
        )
    if done:
        worst = max((s for r in done for s in r["scans"][1:]), key=lambda s: s["cpu_s"])
        out.append(["worst steady scan of all runs",
                    *(num((worst.get(k) or 0) / (1024 if k == "history_bytes" else 1), f) for k, _, f in HISTORY_KEYS)])  # fmt: skip
    widths = [max(len(row[i]) for row in out) for i in range(len(out[0]))]
    loads = ", ".join(f"{load[0]:.1f}" for load in info.get("load", []))
    lines = [f"== {nodes:,} nodes x {result['pods_per_node']} pods with {info['days']:g} d of history, "
             f"{info['above_floor']:,} nodes ({info['above_floor'] / nodes:.0%}) above the floor with memory rising; "
             f"a scan every {info['interval']} s of kubesim's clock, {len(done[0]['scans']) if done else 0} scans a run; "
             f"median of {len(done)} runs; load average {loads} at each run's start"]  # fmt: skip
    for row in out:
        lines.append(
            "  ".join(
                [row[0].ljust(widths[0]), *(v.rjust(w) for v, w in zip(row[1:], widths[1:], strict=True))]
            )
        )
    for run in done[-1:]:
        lines.append("  last run, scan by scan (predictions / CPU s): " + ", ".join(
            f"{s.get('predicted')}/{s['cpu_s']:.2f}" for s in run["scans"]))  # fmt: skip
    scans = [s for r in done for s in r["scans"]]
    outcomes: dict[str, int] = {}
    for scan in scans:
        for code, n in (scan.get("outcomes") or {}).items():
            outcomes[code] = outcomes.get(code, 0) + n
    made = sum(s.get("predicted") or 0 for s in scans)
    if made:
        per = 1000 * sum(s.get("predict_cpu_s") or 0 for s in scans) / made
        lines.append(f"  {made:,} predictions in all runs: {per:.2f} ms of trend.predict CPU each; what they answered: "
                     + ", ".join(f"{k} {v:,}" for k, v in sorted(outcomes.items(), key=lambda kv: -kv[1])))  # fmt: skip
    steady = [s for r in done for s in r["scans"][1:]]
    if len({s.get("predicted") or 0 for s in steady}) > 2:
        fit = statistics.linear_regression(
            [s.get("predicted") or 0 for s in steady],
            [s["cpu_s"] - (s.get("collect_cpu_s") or 0) for s in steady],
        )
        lines.append(f"  steady scans' CPU after the collect = {fit.intercept:.2f} s + {1000 * fit.slope:.2f} ms a "
                     f"prediction (least squares over {len(steady)} scans: history read and decode, predict, finding)")  # fmt: skip
    lines.append(f"  history: {info['templates']} templates x {info['fill_scans']:,} scans filled in "
                 f"{info['fill_s']:.0f} s, copied to every node ({statistics.mean(info.get('copied_bytes') or [0]) / nodes:,.0f}"
                 f" B a node as DUMP, {statistics.mean(info.get('copy_s') or [0]):.1f} s)")  # fmt: skip
    return "\n".join(lines)


def summary(results: list[dict[str, Any]]) -> list[str]:
    """Across sizes: nodewatch's requests per steady scan (by kind when kubesim counts) and the CPU ratio."""
    lines = ["== across sizes (nodewatch worker, steady scan)"]
    for result in results:
        nw, ref = result["figures"]["nodewatch_steady"], result["figures"]["reference"]
        runs = [r for r in result["runs"]["nodewatch"] if r["scans"] and "by_path" in r["scans"][-1]]
        kinds = ""
        if runs:
            by = runs[-1]["scans"][-1]["by_path"]
            kinds = " (" + ", ".join(f"{k} {v['requests']}" for k, v in by.items() if v["requests"]) + ")"
        lines.append(
            f"  {result['nodes']:>6,} nodes: {num(nw['requests'], '.0f')} requests{kinds}; scan CPU "
            f"{num(nw['cpu_s'], '.2f')}s vs sketch {num(ref['cpu_s'], '.2f')}s = "
            f"{ratio(ref['cpu_s'], nw['cpu_s'])}x less"
        )
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nodes", default="100,1000,5000", help="comma-separated cluster sizes")
    ap.add_argument("--pods-per-node", type=int, default=30)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each side per size (median shown)")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per scan before a run is killed")
    ap.add_argument("--nodewatch-scans", type=int, help="scans per nodewatch worker child (>= 2; default 2, "
                    "with --history-days one and 15 minutes' worth: every 5-minute bucket thrice)")  # fmt: skip
    ap.add_argument(
        "--reference-scans", type=int, default=1, help="scans per reference child (the last counts)"
    )
    ap.add_argument(
        "--no-command", action="store_true", help="skip timing the `nodewatch scan --once` command"
    )
    ap.add_argument("--traffic", choices=["auto", "server", "client"], default="auto",
                    help="who counts requests/bytes: kubesim's counters (server) or the child (client)")  # fmt: skip
    ap.add_argument(
        "--history-days",
        type=float,
        default=0.0,
        help="preload this many days of history for every node and run the nodewatch worker alone "
        "on a manual clock (bench/scan_history.py); 0: none",
    )
    ap.add_argument(
        "--above-floor",
        type=float,
        default=0.1,
        help="with --history-days: the share of nodes whose memory leaks above the 60%% floor",
    )
    ap.add_argument(
        "--interval", type=int, default=60, help="with --history-days: simulated seconds between scans"
    )
    ap.add_argument(
        "--templates",
        type=int,
        default=64,
        help="with --history-days: template histories filled scan by scan and copied to the nodes",
    )
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", metavar="FILE", help="also write every run's raw figures to FILE")
    args = ap.parse_args()
    sizes = [int(n.replace("_", "")) for n in args.nodes.split(",") if n.strip()]
    # kubesim, the children and the command all run the code of this tree (not whatever is installed)
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    if args.nodewatch_scans is None:
        args.nodewatch_scans = 1 + 3 * 300 // args.interval if args.history_days else 2
    if args.nodewatch_scans < 2:
        ap.error("--nodewatch-scans must be >= 2 (first and steady scan)")
    say(f"scan benchmark: {sizes} nodes x {args.pods_per_node} pods, repeat {args.repeat}, "
        f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}")  # fmt: skip
    results = []
    with localredis.find_or_start(env_url="") as rds:
        store = state_store.Stores(state_store.connect(rds.url))
        say(f"Redis: {rds.origin}")
        for nodes in sizes:
            result = bench_size(args, nodes, rds.url, store)
            result["figures"] = figures(result)
            results.append(result)
            print(history_table(result) if args.history_days else table(result, args.repeat), flush=True)
            print(flush=True)
        store.clear_cluster(CLUSTER)
    if len(results) > 1 and not args.history_days:
        print("\n".join(summary(results)), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
